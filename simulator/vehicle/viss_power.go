package vehicle

import "github.com/icoc-dev/icoc/simulator/bench"

// The VISS servers are part of the unit and live on its power: +B OFF
// stops them with everything volatile (simulator/viss.Service.PowerOff),
// the next power-up (IG-OFF or IG-ON after +B OFF) starts them again where
// they listened. The ignition alone (IG-ON / IG-OFF with +B on) leaves them
// running: the bench's power model has no state between those.
func init() {
	registerIgnitionHook(func(v *Vehicle, from, to bench.Ignition) {
		if v.viss == nil {
			return
		}
		switch {
		case to == bench.BOff:
			if err := v.viss.PowerOff(); err != nil {
				v.logf("vehicle: VISS at +B OFF: %v", err)
			}
		case from == bench.BOff:
			if err := v.viss.PowerOn(); err != nil {
				v.logf("vehicle: VISS at power-up: %v", err)
				return
			}
			// The MQTT clients ended with the servers at +B OFF.
			v.attachVISSMQTT()
		}
	})
}
