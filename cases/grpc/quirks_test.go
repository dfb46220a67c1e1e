package grpc_test

import (
	"strings"

	"github.com/icoc-dev/icoc/harness"
)

// quirkCases pairs each quirk of the reference simulators with the specs of
// this suite that must catch it.
func quirkCases() []harness.QuirkCase {
	var cases []harness.QuirkCase
	cases = append(cases, statusQuirks()...)
	cases = append(cases, retryAfterQuirks()...)
	cases = append(cases,
		harness.QuirkCase{Quirk: "grpc-busy-storm", Specs: busyNames()},
		harness.QuirkCase{Quirk: "grpc-split=4194304", Specs: []string{splitName}},
		harness.QuirkCase{Quirk: "grpc-split=65536", Specs: []string{splitName}},
		harness.QuirkCase{Quirk: "gzip-threshold=8192", Specs: []string{gzipName}},
	)
	cases = append(cases, headerQuirks()...)
	cases = append(cases, sessionQuirks()...)
	cases = append(cases, pushQuirks()...)
	cases = append(cases, downloadQuirks()...)
	cases = append(cases, centerQuirks()...)
	return append(cases, muteCase(cases))
}

// muteCase names every vehicle-DUT spec of the suite for the vehicle quirk
// mute (it never talks to the center): each must fail saying what it
// expected and what, if anything, arrived instead of timing out bare.
func muteCase(cases []harness.QuirkCase) harness.QuirkCase {
	var specs []string
	seen := map[string]bool{}
	for _, c := range cases {
		if strings.HasPrefix(c.Quirk, harness.CenterQuirkPrefix) {
			continue
		}
		for _, n := range c.Specs {
			if !seen[n] {
				seen[n] = true
				specs = append(specs, n)
			}
		}
	}
	return harness.QuirkCase{Quirk: "mute", Specs: specs, MustSay: []string{"Expected:", "Actual:"}}
}

// variantCases pairs each variant (another choice a clause allows) with the
// specs of this suite that must pass under it.
func variantCases() []harness.VariantCase {
	okRows := []string{}
	for _, c := range statusCases() {
		if c.row.Code == 0 {
			okRows = append(okRows, c.name)
		}
	}
	cases := []harness.VariantCase{
		{Variant: "grpc-busy-no-retry", Specs: busyNames()},
		{Variant: "grpc-retryafter-keep-channel", Specs: append(retryAfterNames(), oneChannelName, isolationName)},
		{Variant: "grpc-gzip-small", Specs: []string{gzipName, splitName}},
		{Variant: "grpc-proto-vehicle-id", Specs: append([]string{vehicleIDName, splitName}, okRows...)},
		{Variant: "grpc-content-type-plain", Specs: append([]string{contentTypeName}, okRows...)},
	}
	return append(cases, centerVariants()...)
}
