package grpc_test

import "github.com/icoc-dev/icoc/harness"

// quirkCases pairs each quirk of the reference simulators with the specs of
// this suite that must catch it.
func quirkCases() []harness.QuirkCase {
	var cases []harness.QuirkCase
	cases = append(cases, statusQuirks()...)
	return cases
}

// variantCases pairs each variant (another choice a clause allows) with the
// specs of this suite that must pass under it.
func variantCases() []harness.VariantCase {
	var cases []harness.VariantCase
	return cases
}
