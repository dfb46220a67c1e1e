package harness

import (
	"net"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/simulator/vehicle"
)

// A run that uploads over MQTT with the built-in sim profile (roles
// vehicle and center) starts both brokers: the harness's, for the
// vehicle DUT, and the simulated center DUT's, which starts only once
// that center has (after the host), for the broker-DUT specs.
func TestStartMQTTBothBrokers(t *testing.T) {
	useProfile(t, "")
	r, err := Start(WithUplink(vehicle.UplinkMQTT))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if r.MQTT == nil || r.MQTT.Broker == nil {
		t.Fatal("no harness broker for the vehicle DUT")
	}
	if r.MQTT.DUTBroker == nil || r.MQTTDUTAddr() == "" {
		t.Fatal("no broker of the simulated center DUT: MQTTDUTAddr is empty")
	}
	for what, addr := range map[string]string{"harness broker": r.MQTT.Broker.Addr(), "center DUT broker": r.MQTTDUTAddr()} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Errorf("%s at %s: %v", what, addr, err)
			continue
		}
		_ = c.Close()
	}
}
