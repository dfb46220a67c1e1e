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
		// A third retry of a file must fail on the count, not time out.
		{Quirk: "retries=3", Specs: []string{centerAwayName}, MustSay: []string{"more than 1 + 2 retries"}},
		{Quirk: "ignore-vin", Specs: []string{vinName}},
		// Every spec's nothing-arrived path says what was expected and
		// what arrived.
		{Quirk: "mute", Specs: []string{oracleName, centerAwayName, vinName}, MustSay: []string{"Expected:", "Actual:"}},
	}
}

// variantCases pairs each variant of the reference vehicle (another choice
// a clause leaves open) with the specs that must pass it.
func variantCases() []harness.VariantCase {
	var out []harness.VariantCase
	out = append(out, vinVariants()...)
	out = append(out, centerAwayVariants()...)
	return out
}

// TestVariants proves that the specs judge the clause, not the reference
// vehicle's habits: under each variant the specs of its clause pass.
func TestVariants(t *testing.T) {
	harness.RunVariantSelfTest(t, "can", variantCases())
}

// TestSpecNames dry-runs the suite: every name cites its clause, once.
func TestSpecNames(t *testing.T) {
	harness.CheckSpecNames(t, quirkCases())
}
