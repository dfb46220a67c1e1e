package tls_test

import (
	"strings"
	"testing"

	"github.com/icoc-dev/icoc/harness"
)

// quirkCases pairs every quirk this suite's specs must catch with those
// specs; each spec has at least one.
func quirkCases() []harness.QuirkCase {
	byQuirk := map[string][]string{}
	var order []string
	add := func(q string, names ...string) {
		if _, ok := byQuirk[q]; !ok {
			order = append(order, q)
		}
		byQuirk[q] = append(byQuirk[q], names...)
	}
	for _, c := range serverAuthCases {
		add(c.scenario.quirk, c.name)
	}
	// A vehicle that checks no name at all fails every server-identity
	// spec (I-081), not only the one for another host's certificate.
	for _, c := range serverAuthCases {
		if c.scenario.variant == "cn-only" || c.scenario.variant == "wildcard" {
			add("ignore-server-name", c.name)
		}
	}
	for _, c := range ruleCases {
		add(c.quirk, c.name)
	}
	for _, c := range clientAuthCases {
		add(harness.CenterQuirkPrefix+c.scenario.quirk, c.name)
	}
	for _, c := range centerRuleCases {
		add(c.quirk, c.name)
	}
	// The rows that retry 1 s later must also catch a wrong interval.
	for _, c := range serverAuthCases {
		if c.row.RetryCount > 0 && c.row.RetryInterval() > 0 {
			add("tls-retry-interval-factor=3", c.name)
		}
	}
	var out []harness.QuirkCase
	for _, q := range order {
		out = append(out, harness.QuirkCase{Quirk: q, Specs: byQuirk[q]})
	}
	return out
}

// TestQuirks proves that every spec of this suite can fail: each quirk of
// the reference simulators breaks one clause or row, and the specs of that
// clause or row must catch it.
func TestQuirks(t *testing.T) {
	harness.RunQuirkSelfTest(t, "tls", quirkCases())
}

// variantCases pairs the reference center's variants (other choices the
// clauses allow) with the specs that must pass under them.
func variantCases() []harness.VariantCase {
	var sni []string
	for _, c := range centerRuleCases {
		if c.clause == "7.1.1.1" && strings.Contains(c.name, "unknown server name") {
			sni = append(sni, c.name)
		}
	}
	return []harness.VariantCase{{Variant: harness.CenterQuirkPrefix + "refuse-unknown-sni", Specs: sni}}
}

// TestVariants proves that the specs pass every conformant choice a clause
// leaves open: each variant of the reference simulators runs the specs of
// its clause, which must pass.
func TestVariants(t *testing.T) {
	harness.RunVariantSelfTest(t, "tls", variantCases())
}

// TestSpecNames dry-runs the suite: every name cites its clause, once.
func TestSpecNames(t *testing.T) {
	harness.CheckSpecNames(t, quirkCases())
}
