// Package broken is a sample suite whose BeforeSuite fails, so the fixture
// shows how a broken set-up appears in Ginkgo's JSON; see ../generate.sh.
package broken

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestBroken(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "icoc sample: MQTT v5")
}

var _ = BeforeSuite(func() {
	Expect("connection refused").To(BeEmpty(), "set-up: could not reach the MQTT broker at 127.0.0.1:8883")
})

var _ = Describe("MQTT v5", func() {
	It("[7.4.1 T7-20] the DUT subscribed with QoS 1", func() {})
})
