package tls_test

import (
	"testing"

	"github.com/icoc-dev/icoc/harness"
)

// netnsSpecs are the specs that steer where the DUT's names resolve and
// what its CDP does: Table 7-4 rows G (no answer; several answers, the
// first on a spare address) and H (the muted link through a proxy on the
// other spare address), the revocation cache and the check on resumption,
// and Table 7-5 row G's several answers at the center DUT (whose resolver
// is the same DNS server).
func netnsSpecs() []string {
	var out []string
	for _, c := range serverAuthCases {
		switch {
		case c.row.Row == "G" && (c.scenario.variant == "" || c.scenario.variant == "several"),
			c.row.Row == "H" && c.scenario.variant == "network":
			out = append(out, c.name)
		}
	}
	for _, c := range ruleCases {
		if c.quirk == "no-revocation-cache" || c.quirk == "resume-skips-revocation" {
			out = append(out, c.name)
		}
	}
	for _, c := range clientAuthCases {
		if c.row.Row == "G" && c.scenario.variant == "several" {
			out = append(out, c.name)
		}
	}
	return out
}

// TestNetns runs those specs with the reference vehicle in its own network
// namespace (ICOC_DUT_HOST=netns): the run's DNS server, its spare
// addresses and the CDP are then on the veth's harness end, and every
// spec must pass as over loopback. Skipped, saying why, where namespaces
// are unavailable (not root, no ip command).
func TestNetns(t *testing.T) {
	specs := netnsSpecs()
	if len(specs) != 6 {
		t.Fatalf("%d specs picked for the namespace run, want 6: %q", len(specs), specs)
	}
	harness.RunCases(t, []harness.RunCase{{Env: []string{harness.EnvDUTHost + "=netns"}, Transport: "netns", Specs: specs}})
}
