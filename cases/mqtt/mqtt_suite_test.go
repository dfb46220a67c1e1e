// Package mqtt_test is the MQTT v5 conformance suite (7.2.5, Tables 7-21
// to 7-25, Appendix 2 1.4): with the DUT a vehicle, the harness plays the
// center with the reference center's broker (mochi-mqtt over TLS 1.3 with
// client authentication), answers with the reason codes, withheld
// acknowledgements, delays and disconnects of each scenario, and judges
// what the DUT sent on the wire; with the DUT a center, the harness plays
// vehicles against its broker. Files are named by clause.
package mqtt_test

import (
	"testing"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/vehicle"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// run is the conformance run every spec of this suite shares.
var run *harness.Run

var _ = harness.SetUpSuite(&run, harness.WithUplink(vehicle.UplinkMQTT))

// TestConformance runs the suite; it calls Ginkgo itself so that the
// ginkgo CLI (icoc conformance) recognises the package as a Ginkgo suite.
func TestConformance(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	ginkgo.RunSpecs(t, "icoc MQTT v5 conformance")
}

// TestQuirks proves that every spec of this suite can fail: each quirk of
// the reference vehicle (or, with the prefix "center.", of the reference
// center) breaks one clause, and the specs of that clause must catch it.
func TestQuirks(t *testing.T) {
	harness.RunQuirkSelfTest(t, "mqtt", quirkCases())
}

// TestVariants proves that the specs judge the clause, not the reference
// vehicle's habits: under each variant (another choice the clause allows)
// the specs of that clause pass.
func TestVariants(t *testing.T) {
	harness.RunVariantSelfTest(t, "mqtt", variantCases())
}

// TestSpecNames dry-runs the suite: every name cites its clause, once, and
// every spec is named by a quirk case.
func TestSpecNames(t *testing.T) {
	harness.CheckSpecNames(t, quirkCases(), notApplicable()...)
}
