// Package v3_test runs the VISS conformance specs of package visscases
// for the v3 dialect against the DUT's VISSv3 server.
package v3_test

import (
	"testing"

	visscases "github.com/icoc-dev/icoc/cases/viss"
	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/spec/viss"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// run is the conformance run every spec of this suite shares.
var run *harness.Run

var (
	_ = harness.SetUpSuite(&run, harness.WithVISS())
	_ = visscases.Register(&run, vissspec.V3)
)

// TestConformance runs the suite; it calls Ginkgo itself so that the
// ginkgo CLI (icoc conformance) recognises the package as a Ginkgo suite
// and writes its JSON and JUnit reports.
func TestConformance(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	ginkgo.RunSpecs(t, "icoc VISSv3 conformance")
}

// TestQuirks proves that every spec of this suite can fail: each quirk of
// the reference vehicle's VISS servers breaks one clause, and the specs of
// that clause must catch it.
func TestQuirks(t *testing.T) {
	harness.RunQuirkSelfTest(t, "viss-v3", visscases.QuirkCases(vissspec.V3))
}

// TestVariants proves that the specs judge the clause, not the reference
// server's habits: under each variant (another choice the documents
// allow) the specs of its clause must pass.
func TestVariants(t *testing.T) {
	harness.RunVariantSelfTest(t, "viss-v3", visscases.VariantCases(vissspec.V3))
}

// TestSpecNames dry-runs the suite: every name cites its clause, once, and
// every spec is named by a quirk case or is a table row that cannot be
// provoked.
func TestSpecNames(t *testing.T) {
	harness.CheckSpecNames(t, visscases.QuirkCases(vissspec.V3), visscases.NotApplicable(vissspec.V3)...)
}
