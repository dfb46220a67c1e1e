// Package h1_test runs the HTTP conformance specs of package httpcases
// over HTTP/1.1.
package h1_test

import (
	"testing"

	httpcases "github.com/icoc-dev/icoc/cases/http"
	"github.com/icoc-dev/icoc/harness"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// run is the conformance run every spec of this suite shares.
var run *harness.Run

var (
	_ = harness.SetUpSuite(&run)
	_ = httpcases.Register(&run, httpcases.HTTP11)
)

// TestConformance runs the suite; it calls Ginkgo itself so that the
// ginkgo CLI (icoc conformance) recognises the package as a Ginkgo suite
// and writes its JSON and JUnit reports.
func TestConformance(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	ginkgo.RunSpecs(t, "icoc HTTP/1.1 conformance")
}

// TestQuirks proves that every spec of this suite can fail: each quirk of
// the reference vehicle breaks one clause, and the specs of that clause
// must catch it.
func TestQuirks(t *testing.T) {
	harness.RunQuirkSelfTest(t, "http1", httpcases.QuirkCases(httpcases.HTTP11))
}

// TestSpecNames dry-runs the suite: every name cites its clause, once.
func TestSpecNames(t *testing.T) {
	harness.CheckSpecNames(t, httpcases.QuirkCases(httpcases.HTTP11), httpcases.NotApplicable(httpcases.HTTP11)...)
}

// TestVariants proves that the specs judge the clause, not the reference
// vehicle's habits: under each variant (another choice a clause allows)
// the specs of that clause must pass.
func TestVariants(t *testing.T) {
	harness.RunVariantSelfTest(t, "http1", httpcases.VariantCases(httpcases.HTTP11))
}
