// Package can_test is the CAN conformance suite: what goes onto the DUT's
// bus and what reaches the center. The oracle puts known CAN data on the bus
// and decodes what the harness's center received; the other specs take the
// center away, and check that the DUT needs IG-ON and the VIN from the bus
// before it talks to the center. Judged only on the bus and the wire.
package can_test

import (
	"testing"

	"github.com/icoc-dev/icoc/harness"
)

// run is the conformance run every spec of this suite shares.
var run *harness.Run

var _ = harness.SetUpSuite(&run, harness.PreferHost(harness.HostNetns))

func TestConformance(t *testing.T) {
	harness.RunSuite(t, "icoc CAN conformance")
}
