package visscases

import (
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness/vissclient"
	"github.com/icoc-dev/icoc/spec/viss"
)

// The signals the specs use (register I-276: VSS 4.0 paths of the map).
const (
	pathSpeed    = "Vehicle.Speed"
	pathMoving   = "Vehicle.IsMoving"
	pathOdometer = "Vehicle.TraveledDistance"
	pathTrip     = "Vehicle.TripMeterReading"
	pathRPM      = "Vehicle.Powertrain.CombustionEngine.Speed"
	pathFuel     = "Vehicle.Powertrain.FuelSystem.RelativeLevel"
	pathRange    = "Vehicle.Powertrain.FuelSystem.Range"
	pathWheelL   = "Vehicle.Chassis.Axle.Row1.Wheel.Left.Speed"
	pathWheelR   = "Vehicle.Chassis.Axle.Row1.Wheel.Right.Speed"
	// pathAbsent is a sensor of the tree the vehicle has no value for.
	pathAbsent = "Vehicle.Exterior.AirTemperature"
)

// getUntil polls get until the answer carries want (a capture of path) or
// the settle time passed; it returns the last answer and whether it
// matched.
func (t *T) getUntil(c *vissclient.Conn, path string, want vissclient.Capture, extra map[string]any) (*vissclient.Message, bool, string) {
	deadline := time.Now().Add(t.wall(t.settle()) + t.s.answerTimeout()/10)
	for {
		m := t.get(c, t.path(path), extra)
		v, _, ok := t.single(m)
		why := "no single value: " + string(m.Raw)
		if ok {
			if eq, w := t.equal(path, want.Value, v); eq {
				return m, true, ""
			} else {
				why = w
			}
		}
		if time.Now().After(deadline) {
			return m, false, why
		}
		t.wait(t.gap() / 4)
	}
}

// 002 5.1.1 Read / 001 9.1.1 Read.
func init() {
	add(&specDef{
		topic: "get",
		// "If the server is able to satisfy the request it MUST return a success response." / "value The latest available value." / requestId: "Returned by the server in the response and used by the client to link the request and response messages."
		v3:     &clause{"5.1.1", "If the server is able to satisfy the request it MUST return a success response. [...] value The latest available value."},
		gen2:   &clause{"9.1.1", "If the server is able to satisfy the request it MUST return a success response. [...] value The value(s) associated with the addressed VSS nodes."},
		text:   "a get of a sensor over wss returns the value the harness last put on the CAN bus, for the requested path, with the request's requestId",
		quirks: []string{"stale-value", "wrong-scale", "requestid-not-echoed", "value-not-string"},
		body: func(t *T) {
			c := t.dial()
			t.put(map[string]float64{pathSpeed: 12.34})
			t.wait(t.gap())
			t.put(map[string]float64{pathSpeed: 42.5})
			want := t.latest(pathSpeed)
			m, ok, why := t.getUntil(c, pathSpeed, want, nil)
			t.check(ok, fmt.Sprintf("the value %s the bus carried last (DBC-to-VSS map %s)", want.Value.Wire(), t.oracle().Map().Source), why+": "+string(m.Raw))
			id := c.NextID()
			m = t.request(c, map[string]any{"action": "get", "path": t.path(pathSpeed), "requestId": id})
			t.check(m.Obj["requestId"] == id, "requestId "+id+" echoed", fmt.Sprintf("requestId %v: %s", m.Obj["requestId"], m.Raw))
			if t.d.Name == vissspec.V3 {
				pds := vissclient.DataPoints(m.Obj)
				t.check(len(pds) == 1 && pds[0].Path == pathSpeed, "data for path "+pathSpeed, string(m.Raw))
			}
		},
	}, &specDef{
		topic: "capture-time",
		// "timestamp The capture time of the value."
		v3: &clause{"5.1.1", "timestamp The capture time of the value."},
		// "timestamp The sample time of the value."
		gen2:   &clause{"9.1.1", "timestamp The sample time of the value."},
		text:   "the timestamp of a value is when the vehicle captured it, not when it was read",
		quirks: []string{"ts-not-capture"},
		body: func(t *T) {
			c := t.dial()
			cs := t.put(map[string]float64{pathSpeed: 33.3})
			sent := cs[0].Sent
			delay := 5 * t.gap()
			t.wait(delay)
			m := t.get(c, t.path(pathSpeed), nil)
			t.expectOK(m, "the get")
			_, tsText, ok := t.single(m)
			ts, err := vissspec.ParseTimestamp(tsText)
			t.check(ok && err == nil, "a value with a timestamp", string(m.Raw))
			tol := t.wall(t.run().Profile.Tolerance.Allowed(0))
			t.check(!ts.Before(sent.Add(-tol)) && !ts.After(sent.Add(tol)),
				fmt.Sprintf("a timestamp within %v (wall) of %s, when the frame went on the bus (register I-293); the get came %v later", tol, sent.UTC().Format(time.RFC3339Nano), t.wall(delay)),
				fmt.Sprintf("%s, %v from the frame", tsText, ts.Sub(sent)))
			if t.d.Name == vissspec.V3 {
				top, err := vissspec.ParseTimestamp(m.Str("ts"))
				t.check(err == nil && !top.Before(ts.Add(-tol)), "the response's ts (execution time) not before the data point's", string(m.Raw))
			}
		},
	}, &specDef{
		topic: "representation",
		// "The "value" value MUST be represented as a string for simple datatypes. [...] Boolean values MUST be represented by either of the strings "true" or "false"."
		v3: &clause{"4", `The "value" value MUST be represented as a string for simple datatypes. [...] Boolean values MUST be represented by either of the strings "true" or "false".`},
		// "value The data that is associated with one or more VSS nodes. Regardless of its data type, a single data item is always represented as a string in message payloads."
		gen2:   &clause{"12", "Regardless of its data type, a single data item is always represented as a string in message payloads."},
		text:   "a float and a boolean are strings on the wire: \"20.5\" and \"true\"",
		quirks: []string{"value-not-string"},
		body: func(t *T) {
			c := t.dial()
			t.needMapped(pathMoving)
			t.put(map[string]float64{pathSpeed: 20.5})
			want := t.latest(pathMoving)
			m, ok, why := t.getUntil(c, pathSpeed, t.latest(pathSpeed), nil)
			t.check(ok, "the string \"20.5\"", why+": "+string(m.Raw))
			m, ok, why = t.getUntil(c, pathMoving, want, nil)
			v, _, _ := t.single(m)
			t.check(ok && v == "true", "the string \"true\" for "+pathMoving, fmt.Sprintf("%s: %s", why, m.Raw))
		},
	}, &specDef{
		topic: "actuator",
		// "value The latest available value. Please note that also for actuators this returns the current value, and not a target value that might have been set."
		v3:     &clause{"5.1.1", "value The latest available value. Please note that also for actuators this returns the current value, and not a target value that might have been set."},
		text:   "a get of an actuator after a set returns the current value from the bus, not the target",
		quirks: []string{"get-returns-target"},
		body: func(t *T) {
			c := t.dial()
			t.put(map[string]float64{pathTrip: 123.4})
			cur := t.latest(pathTrip)
			t.wait(t.settle())
			m := t.request(c, auth(map[string]any{"action": "set", "path": pathTrip, "value": "7"}, t.tokenFor(pathTrip, true)))
			t.expectOK(m, "the set of the actuator "+pathTrip+" (with a token when its set is access controlled)")
			t.wait(t.gap())
			m = t.get(c, pathTrip, nil)
			v, _, _ := t.single(m)
			ok, why := t.equal(pathTrip, cur.Value, v)
			t.check(ok, "the current value "+cur.Value.Wire()+" the bus carries, not the target 7", why+": "+string(m.Raw))
		},
	}, &specDef{
		topic: "delimiter",
		// "VSS specifies the dot (.) as delimiter, which therefore is the recommended choice also in this specification. However, in HTTP URLs the conventional delimiter is slash (/), therefore also this delimiter is supported."
		v3: &clause{"3.2", "VSS specifies the dot (.) as delimiter, which therefore is the recommended choice also in this specification. However, in HTTP URLs the conventional delimiter is slash (/), therefore also this delimiter is supported."},
		// "The path consists of the slash delimited node names [...] The VSS data model uses a dot as delimiter, the implementaion of this specification is expected to handle the necessary translation."
		gen2:   &clause{"4", "The path consists of the slash delimited node names [...] The VSS data model uses a dot as delimiter, the implementaion of this specification is expected to handle the necessary translation."},
		text:   "a path written with dots and the same path written with slashes read the same value",
		quirks: []string{"slash-path-refused"},
		body: func(t *T) {
			c := t.dial()
			t.put(map[string]float64{pathSpeed: 61})
			want := t.latest(pathSpeed)
			t.wait(t.settle())
			for _, p := range []string{"Vehicle.Speed", "Vehicle/Speed"} {
				m := t.get(c, p, nil)
				v, _, _ := t.single(m)
				ok, why := t.equal(pathSpeed, want.Value, v)
				t.check(ok, "the value "+want.Value.Wire()+" for path "+p, why+": "+string(m.Raw))
			}
		},
	}, &specDef{
		topic: "wildcard",
		// "The path MUST not contain any wildcard characters ("*"), for such needs see ."
		v3:     &clause{"3.2", `The path MUST not contain any wildcard characters ("*")`},
		text:   "a get whose path holds * is refused",
		quirks: []string{"wildcard-path-accepted"},
		body: func(t *T) {
			c := t.dial()
			t.put(map[string]float64{pathSpeed: 20, pathWheelL: 21, pathWheelR: 22})
			t.wait(t.settle())
			m := t.get(c, "Vehicle.Chassis.Axle.Row1.Wheel.*.Speed", nil)
			t.expectSituation(m, "wildcard-in-path", "a get of Vehicle.Chassis.Axle.Row1.Wheel.*.Speed (register I-297)")
		},
	})
}
