package tls_test

import (
	"strings"
	"testing"

	"github.com/icoc-dev/icoc/harness"
)

// quirkCases pairs every quirk this suite's specs must catch with those
// specs; each spec has at least one.
func quirkCases() []harness.QuirkCase {
	var g harness.Grouped
	add := g.Add
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
		// The cache specs run without session tickets: a DUT that caches
		// nothing, or drops its cache, but skips the check when it resumes
		// must fail them too, not pass for lack of a full handshake (I-321).
		for _, q := range c.alsoCaught {
			add(q, c.name)
		}
	}
	// A center quirk's failures must say what was expected and what came,
	// and cite the row or clause its specs judge (where they share one).
	for _, c := range clientAuthCases {
		q := harness.CenterQuirkPrefix + c.scenario.quirk
		add(q, c.name)
		g.Say(q, "Expected:", "Actual:")
		g.Cite(q, "Requirement: 7.1.1.7 Table 7-5 row "+c.row.Row+" (")
	}
	for _, c := range centerRuleCases {
		for _, q := range append([]string{c.quirk}, c.alsoCaught...) {
			add(q, c.name)
			if strings.HasPrefix(q, harness.CenterQuirkPrefix) {
				g.Say(q, "Expected:", "Actual:")
				g.Cite(q, "Requirement: "+c.clause+": ")
			}
		}
	}
	// The rows that retry 1 s later must also catch a wrong interval: too
	// late, and at once (0.1 s), which the late-side-only jitter allowance
	// tells from 1 s even at scale 0.02.
	for _, c := range serverAuthCases {
		if c.row.RetryCount > 0 && c.row.RetryInterval() > 0 {
			add("tls-retry-interval-factor=3", c.name)
			add("tls-retry-interval-factor=0.1", c.name)
		}
	}
	out := g.Quirks()
	// A vehicle that never talks to the center fails every vehicle-DUT
	// spec, each saying what it expected and what (if anything) arrived.
	var vehicleSpecs []string
	for _, c := range serverAuthCases {
		vehicleSpecs = append(vehicleSpecs, c.name)
	}
	for _, c := range ruleCases {
		vehicleSpecs = append(vehicleSpecs, c.name)
	}
	out = append(out, harness.QuirkCase{Quirk: "mute", Specs: vehicleSpecs, MustSay: []string{"Expected:", "Actual:"}})
	return out
}

// TestQuirks proves that every spec of this suite can fail: each quirk of
// the reference simulators breaks one clause or row, and the specs of that
// clause or row must catch it.
func TestQuirks(t *testing.T) {
	harness.RunQuirkSelfTest(t, "tls", quirkCases())
}

// TestSpecNames dry-runs the suite: every name cites its clause, once.
func TestSpecNames(t *testing.T) {
	harness.CheckSpecNames(t, quirkCases())
}

// variantCases pairs each variant of the reference simulators (another
// choice a clause leaves open) with the specs that must pass it: a vehicle
// that offers only the strongest suite and group of 7.1.1.2, a center that
// answers an unknown server name with unrecognized_name, a vehicle and a
// center that resolve with A and AAAA queries together.
func variantCases() []harness.VariantCase {
	var strongest, sni []string
	for _, c := range ruleCases {
		switch c.clause {
		case "7.1.1.1", "7.1.1.2.1", "7.1.1.2.2", "7.1.1.4":
			strongest = append(strongest, c.name)
		}
	}
	for _, c := range centerRuleCases {
		if c.clause == "7.1.1.1" && strings.Contains(c.name, "unknown server name") {
			sni = append(sni, c.name)
		}
	}
	// A resolver that asks for AAAA beside A each time it resolves the
	// CDP/OCSP host (I-322): row G counts per query type.
	var rowG, rowGCenter []string
	for _, c := range serverAuthCases {
		if c.row.Row == "G" {
			rowG = append(rowG, c.name)
		}
	}
	for _, c := range clientAuthCases {
		if c.row.Row == "G" {
			rowGCenter = append(rowGCenter, c.name)
		}
	}
	return []harness.VariantCase{
		{Variant: "strongest-only", Specs: strongest},
		{Variant: harness.CenterQuirkPrefix + "refuse-unknown-sni", Specs: sni},
		{Variant: "dns-aaaa", Specs: rowG},
		{Variant: harness.CenterQuirkPrefix + "dns-aaaa", Specs: rowGCenter},
	}
}

// TestVariants proves that the specs judge the clause, not the reference
// vehicle's habits: under each variant the specs of its clause pass.
func TestVariants(t *testing.T) {
	harness.RunVariantSelfTest(t, "tls", variantCases())
}
