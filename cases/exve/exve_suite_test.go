// Package exve_test is the ISO 20078-2 (ExVe web services, access)
// conformance suite, in both roles: an offering party as the device under
// test (the harness plays the accessing party) and an accessing party as
// the device under test (the harness plays the offering party). Every spec
// is named [20078-2 REQ_cc_ss_nn] after the requirement it judges (or
// [20078-2 4.1.2] for the CAN-to-ExVe data path); files are named by
// clause. Requirements no observation on the wire can judge are specs
// that report "not testable" with the reason (spec/exve holds it).
package exve_test

import (
	"testing"

	"github.com/icoc-dev/icoc/harness"
	hx "github.com/icoc-dev/icoc/harness/exve"
	exveop "github.com/icoc-dev/icoc/simulator/exve"
	"github.com/icoc-dev/icoc/simulator/exveap"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// run and ex are the conformance run and its ExVe side, shared by every
// spec of this suite.
var (
	run *harness.Run
	ex  *hx.ExVe
)

var _ = harness.SetUpSuite(&run, harness.WithPush(), hx.Setup(&ex))

var _ = register()

// TestConformance runs the suite; it calls Ginkgo itself so that the
// ginkgo CLI (icoc conformance) recognises the package as a Ginkgo suite.
func TestConformance(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	ginkgo.RunSpecs(t, "icoc ISO 20078-2 ExVe conformance")
}

// TestQuirks proves that every spec of this suite can fail: each quirk of
// the reference offering party (exve-op.), accessing party (exve-ap.) or
// vehicle breaks one requirement, and the specs of that requirement must
// catch it.
func TestQuirks(t *testing.T) {
	harness.RunQuirkSelfTest(t, "exve", quirkCases())
}

// TestVariants proves that the specs judge the requirement, not the
// reference simulators' habits: under each variant (another choice the
// standard allows) the specs of its requirement must pass.
func TestVariants(t *testing.T) {
	harness.RunVariantSelfTest(t, "exve", variantCases())
}

// TestSpecNames dry-runs the suite: every name cites its requirement, once,
// and every spec is named by a quirk case or only ever reports "not
// testable".
func TestSpecNames(t *testing.T) {
	harness.CheckSpecNames(t, quirkCases(), notTestableNames()...)
}

// TestEveryQuirkNamesASpec: every quirk and variant of the reference
// offering and accessing parties is named by a quirk or variant case, so
// none breaks a requirement no spec judges.
func TestEveryQuirkNamesASpec(t *testing.T) {
	used := map[string]bool{}
	for _, c := range quirkCases() {
		used[c.Quirk] = true
	}
	for _, v := range variantCases() {
		used[v.Variant] = true
	}
	for n := range exveop.KnownQuirks() {
		if !used[harness.ExVeOPQuirkPrefix+n] {
			t.Errorf("quirk exve-op.%s names no spec", n)
		}
	}
	for n := range exveap.KnownQuirks() {
		if !used[harness.ExVeAPQuirkPrefix+n] {
			t.Errorf("quirk exve-ap.%s names no spec", n)
		}
	}
}
