package can_test

import (
	"testing"

	"github.com/icoc-dev/icoc/harness"
)

// TestQuirks proves that every spec of this suite can fail: each quirk of
// the reference vehicle breaks one clause, and the specs of that clause must
// catch it.
func TestQuirks(t *testing.T) {
	harness.RunQuirkSelfTest(t, "can", quirkCases())
}

// quirkCases pairs each quirk with the specs that must catch it.
func quirkCases() []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "drop-frame", Specs: []string{oracleName}},
		{Quirk: "dup-frame", Specs: []string{oracleName}},
		{Quirk: "no-buffering", Specs: []string{centerAwayName}},
		// Caught only by the dead-link phase: 503s still buffer.
		{Quirk: "no-buffering-on-link-loss", Specs: []string{centerAwayName}},
		{Quirk: "link-retry-at-once", Specs: []string{centerAwayName}},
		{Quirk: "ignore-vin", Specs: []string{vinName}},
	}
}

// TestSpecNames dry-runs the suite: every name cites its clause, once.
func TestSpecNames(t *testing.T) {
	harness.CheckSpecNames(t, quirkCases())
}
