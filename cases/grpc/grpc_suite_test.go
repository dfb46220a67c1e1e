// Package grpc_test is the gRPC conformance suite (7.2.4 and Table 7-20)
// in both roles. With the vehicle as the DUT the harness plays the center
// on its gRPC port (the center's TLS 1.3 with mutual authentication,
// Appendix 2 port 9080 on a bench) and judges, on the one timeline of the
// harness's recorder, every call the DUT makes: Table 7-20 row by row for
// uploads and API calls, RETRYAFTER and BUSY, headers and metadata, the
// ~1 MB split, gzip, one channel for every application, the sticky
// cookie, the session preconditions, push and download. With the center
// as the DUT the harness plays the vehicle with a raw HTTP/2 client and
// judges the answers. Files are named by clause; every spec cites it.
package grpc_test

import (
	"testing"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/vehicle"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// run is the conformance run every spec of this suite shares.
var run *harness.Run

var _ = harness.SetUpSuite(&run, harness.WithUplink(vehicle.UplinkGRPC), harness.WithPush())

// TestConformance runs the suite; it calls Ginkgo itself so that the
// ginkgo CLI (icoc conformance) recognises the package as a Ginkgo suite.
func TestConformance(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	ginkgo.RunSpecs(t, "icoc gRPC conformance")
}

// TestQuirks proves that every spec of this suite can fail: each quirk of
// a reference simulator breaks one clause, and the specs of that clause
// must catch it.
func TestQuirks(t *testing.T) {
	harness.RunQuirkSelfTest(t, "grpc", quirkCases())
}

// TestVariants proves that the specs judge the clause, not the reference
// simulators' habits: under each variant (another choice the clause
// allows) every spec of the clause passes.
func TestVariants(t *testing.T) {
	harness.RunVariantSelfTest(t, "grpc", variantCases())
}

// TestSpecNames dry-runs the suite: every name cites its clause, once, and
// every spec is named by a quirk case.
func TestSpecNames(t *testing.T) {
	harness.CheckSpecNames(t, quirkCases())
}

// TestReadings proves that the specs judge by the profile's readings of
// the register (Run.Spec), not its defaults: under a profile that reads
// Table 7-20's 13 INTERNAL as not retried (spec.grpc_retry, I-027), the
// row's real-time upload spec, named from the register's reading ("is
// retried 2 times"), passes the reference vehicle, which follows the
// profile and does not retry 13, and fails one that does (quirk
// grpc-retry=13), naming the profile's reading.
func TestReadings(t *testing.T) {
	const profile = "testdata/sim-grpc-retry.yaml"
	row13 := []string{statusName(13, "upload-realtime")}
	harness.RunCases(t, []harness.RunCase{
		{Profile: profile, Specs: row13},
		{Profile: profile, Quirks: "grpc-retry=13", Specs: row13, Fail: true, MustSay: []string{"spec.grpc_retry", "I-027", "Expected:", "Actual:"}},
	})
}
