package visscases

import (
	"fmt"
)

// 002 8.1 Error Handling and v3.0 TRANSPORT 3.1.1 In-line Error Reporting.
func init() {
	add(&specDef{
		topic: "invalid-node",
		// "A request addressing multiple nodes may address both valid nodes, and invalid nodes. The latter case shall lead to a Forbidden error (403) response message part that contains information about which node, or nodes, that are invalid. The error message shall not contain data from any of the validly addressed nodes."
		v3:     &clause{"8.1", "The latter case shall lead to a Forbidden error (403) response message part that contains information about which node, or nodes, that are invalid. The error message shall not contain data from any of the validly addressed nodes."},
		text:   "a get naming a valid and an invalid node is refused with 403 and carries no data",
		quirks: []string{"multi-invalid-partial"},
		body: func(t *T) {
			m, what := t.provoke("multi-invalid-node")
			t.expectSituation(m, "multi-invalid-node", what)
			_, hasData := m.Obj["data"]
			t.check(!hasData, "no data of the valid node (register I-265)", string(m.Raw))
		},
	}, &specDef{
		topic: "unavailable",
		// "If one or more of the requested signals are temporarily unavaliable, the server has two response options: Error message: 404 - unavailable_data; In-line error reporting"
		v3:       &clause{"T3.1.1", "If one or more of the requested signals are temporarily unavaliable, the server has two response options:"},
		text:     "a get of an available and an unavailable sensor is answered with 404 unavailable_data or in line",
		quirks:   []string{"unavailable-as-zero"},
		variants: []string{"inline-errors"},
		body: func(t *T) {
			c := t.dial()
			t.put(map[string]float64{pathSpeed: 33})
			t.wait(t.settle())
			m := t.get(c, "Vehicle", map[string]any{"filter": map[string]any{"variant": "paths", "parameter": []string{"Speed", "Exterior.AirTemperature"}}})
			if _, isErr := m.Error(); isErr {
				t.expectSituation(m, "unavailable", "a get of Vehicle.Speed and the unavailable "+pathAbsent)
				return
			}
			got := t.values(m)
			ok, why := t.equal(pathSpeed, t.latest(pathSpeed).Value, got[pathSpeed])
			t.check(ok, "the bus value of "+pathSpeed, why)
			t.check(got[pathAbsent] == t.d.InlineErrorValue, fmt.Sprintf("404 unavailable_data, or %q for %s (register I-291)", t.d.InlineErrorValue, pathAbsent), string(m.Raw))
		},
	}, &specDef{
		topic: "inline-under-token",
		// "In-line error reporting SHALL NOT be used when access control is required for the request."
		v3:       &clause{"T3.1.1", "In-line error reporting SHALL NOT be used when access control is required for the request."},
		text:     "a get of an access-controlled available and unavailable sensor with a valid token is answered with an error, not in line",
		quirks:   []string{"inline-error-under-token"},
		variants: []string{"inline-errors"},
		body: func(t *T) {
			t.needMapped(pathFuel)
			c := t.dial()
			t.put(map[string]float64{pathFuel: 40})
			t.wait(t.settle())
			if !t.run().VISS.ReadControlled("Vehicle.Powertrain.FuelSystem") {
				t.skip("the DUT does not control access to Vehicle.Powertrain.FuelSystem (viss.access.read)")
			}
			m := t.get(c, "Vehicle.Powertrain.FuelSystem", map[string]any{"authorization": t.tokenFor("Vehicle.Powertrain.FuelSystem", false),
				"filter": map[string]any{"variant": "paths", "parameter": []string{"RelativeLevel", "Range"}}})
			t.expectSituation(m, "unavailable", "a get of "+pathFuel+" and the unavailable "+pathRange+" under access control")
		},
	})
}
