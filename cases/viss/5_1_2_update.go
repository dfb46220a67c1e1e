package visscases

import (
	"fmt"

	"github.com/icoc-dev/icoc/harness/vissclient"
	"github.com/icoc-dev/icoc/spec/viss"
)

// 002 5.1.2 Update / 001 9.1.2 Update and 002 5.3 / 001 11 Timestamps.
func init() {
	add(&specDef{
		topic: "set",
		// "If the server is able to satisfy the request it MUST return a success response, else it MUST return an error message. Only actuator type signals can be updated."
		v3: &clause{"5.1.2", "If the server is able to satisfy the request it MUST return a success response, else it MUST return an error message. Only actuator type signals can be updated."},
		// "If the server is able to satisfy the request it MUST return a success response."
		gen2:   &clause{"9.1.2", "If the server is able to satisfy the request it MUST return a success response. If the server is unable to fulfil the request, then the server MUST return an error response."},
		text:   "a set of an actuator with a value of its datatype succeeds",
		quirks: []string{"set-refused"},
		body: func(t *T) {
			c := t.dial()
			id := c.NextID()
			m := t.request(c, auth(map[string]any{"action": "set", "path": t.path(pathTrip), "value": "12.5", "requestId": id}, t.tokenFor(pathTrip, true)))
			t.expectOK(m, "the set of "+pathTrip+" to \"12.5\"")
			t.check(m.Obj["requestId"] == id, "requestId "+id+" echoed", string(m.Raw))
		},
	}, &specDef{
		topic: "timestamp",
		// "Timestamps in transport payloads MUST conform to the [[ISO8601]] standard, using the UTC format with a trailing Z. [...] YYYY-MM-DDTHH:MM:SS.ssssssZ"
		v3: &clause{"5.3", "Timestamps in transport payloads MUST conform to the [[ISO8601]] standard, using the UTC format with a trailing Z. Time resolution SHALL at least be seconds, with subsecond resolution as an optional degree of precision when desired."},
		// "Timestamps in transport payloads MUST conform to the ISO8601 standard, using the UTC format with a trailing Z."
		gen2:   &clause{"11", "Timestamps in transport payloads MUST conform to the ISO8601 standard, using the UTC format with a trailing Z. Time resolution SHALL at least be seconds, with subsecond resolution as an optional degree of precision when desired."},
		text:   "every timestamp of a get, a set, a subscription, its event and an error is YYYY-MM-DDTHH:MM:SS[.s{1,6}]Z",
		quirks: []string{"ts-no-z"},
		body: func(t *T) {
			c := t.dial()
			t.put(map[string]float64{pathSpeed: 10})
			t.wait(t.settle())
			var msgs []*vissclient.Message
			check := func(m *vissclient.Message) {
				for _, ts := range vissclient.Timestamps(t.d, m.Obj) {
					if err := t.d.CheckTimestamp(ts); err != nil {
						t.fail("timestamps of the form "+t.d.Timestamp.Format+" (register I-274)", fmt.Sprintf("%v in %s", err, m.Raw))
					}
				}
				msgs = append(msgs, m)
			}
			raw := func(msg map[string]any) *vissclient.Message {
				m, err := c.Request(t.ctx, msg, t.s.answerTimeout())
				if err != nil {
					t.fail("an answer", err.Error())
				}
				return m
			}
			check(raw(map[string]any{"action": "get", "path": t.path(pathSpeed)}))
			check(raw(map[string]any{"action": "get", "path": t.path("Vehicle.NoSuchNode")}))
			check(raw(auth(map[string]any{"action": "set", "path": t.path(pathTrip), "value": "1"}, t.tokenFor(pathTrip, true))))
			filter := any(map[string]any{"variant": "change", "parameter": map[string]any{"logic-op": "ne", "diff": "0"}})
			if t.d.Name == vissspec.Gen2 {
				filter = "$changeNEQ0"
			}
			m := raw(map[string]any{"action": "subscribe", "path": t.path(pathSpeed), "filter": filter})
			check(m)
			id := m.Str("subscriptionId")
			t.put(map[string]float64{pathSpeed: 11})
			for _, e := range c.WaitEvents(t.ctx, id, 1, t.wall(4*t.gap())+t.s.answerTimeout()/10) {
				check(e)
			}
			t.check(len(c.Events(id)) > 0, "an event of the change subscription", "none")
		},
	})
}
