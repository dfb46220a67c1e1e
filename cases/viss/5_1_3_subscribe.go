package visscases

import (
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness/vissclient"
	"github.com/icoc-dev/icoc/spec/viss"
	. "github.com/onsi/ginkgo/v2"
)

// series runs one capture-driven subscription: the base value is put on
// the bus, the subscription made, the series put gap apart; it returns the
// captures, the base and the events received once the series settled.
func (t *T) series(path string, base float64, filter any, values []float64) (vissclient.Capture, []vissclient.Capture, []*vissclient.Message, time.Time) {
	GinkgoHelper()
	c := t.dial()
	t.put(map[string]float64{path: base})
	b := t.latest(path)
	t.wait(t.gap())
	id, _ := t.subscribe(c, t.path(path), filter, "")
	t.wait(t.gap())
	start := time.Now()
	caps := t.putSeries(path, values)
	t.quiet()
	return b, caps, t.events(c, id, 0, 0), start
}

// 002 5.1.3 Subscribe, 7.3 to 7.6, 9; 001 9.1.3, 7.2.1 to 7.2.3.
func init() {
	add(&specDef{
		topic: "timebased",
		// "The parameter object contains the period time X in between captures, {"period":"X"}. X is an integer and represents the period time in milliseconds."
		v3: &clause{"7.3", `The parameter object contains the period time X in between captures, {"period":"X"}. X is an integer and represents the period time in milliseconds.`},
		// "An interval filter is used in a subscribe request when the client wants subscription notifications to be issued by the server at a regular time interval."
		gen2:     &clause{"7.2.1", "An interval filter is used in a subscribe request when the client wants subscription notifications to be issued by the server at a regular time interval."},
		text:     "a timebased subscription of 10 s issues events 10 s apart carrying the value current on the bus",
		gen2Text: "an $interval subscription of 10 s issues notifications 10 s apart carrying the value current on the bus",
		quirks:   []string{"interval-drift"},
		variants: []string{"initial-event"},
		body: func(t *T) {
			const period = 10 * time.Second
			c := t.dial()
			t.put(map[string]float64{pathSpeed: 10})
			a := t.latest(pathSpeed)
			t.wait(t.settle())
			filter := any(map[string]any{"variant": "timebased", "parameter": map[string]any{"period": "10000"}})
			if t.d.Name == vissspec.Gen2 {
				filter = "$intervalEQ10000"
			}
			id, subAt := t.subscribe(c, t.path(pathSpeed), filter, "")
			t.events(c, id, 4, t.wall(5*period)+t.s.answerTimeout())
			t.put(map[string]float64{pathSpeed: 90})
			b := t.latest(pathSpeed)
			evs := t.events(c, id, len(c.Events(id))+3, t.wall(4*period)+t.s.answerTimeout())
			vals := t.eventValues(evs, pathSpeed)
			// The first event may come at once (register I-286): gaps from
			// the second on.
			var from []eventValue
			for _, v := range vals {
				if v.at.After(subAt.Add(t.wall(period / 2))) {
					from = append(from, v)
				}
			}
			t.check(len(from) >= 4, "at least 4 events 10 s apart after the first", fmt.Sprintf("%d events", len(vals)))
			mean := t.run().Clock.Spec(from[len(from)-1].at.Sub(from[0].at)) / time.Duration(len(from)-1)
			tol := t.run().Profile.Tolerance
			t.check(tol.Within(period, mean), "a mean period of "+tol.Describe(period)+" (spec time; register I-275)", fmt.Sprintf("a mean period of %.2fs over %d events", mean.Seconds(), len(from)))
			margin := t.wall(tol.Allowed(0) + t.settle())
			for i, v := range vals {
				var want vissclient.Capture
				switch {
				case v.at.Before(b.Sent):
					want = a
				case v.at.After(b.Sent.Add(margin)):
					want = b
				default:
					continue
				}
				ok, why := t.equal(pathSpeed, want.Value, v.value)
				t.check(ok, fmt.Sprintf("event %d to carry %s, the value on the bus when it was issued", i+1, want.Value.Wire()), why+": "+v.raw)
			}
		},
	}, &specDef{
		topic: "change",
		// "The parameter object contains the logical operator for comparison of previous and current values, {"logic-op":"X", "diff":"Y"}"
		v3: &clause{"7.5", `The parameter object contains the logical operator for comparison of previous and current values, {"logic-op":"X", "diff":"Y"}, where X is one of the supported logical operators (**), and Y is the value of the required change.`},
		// "A change filter is used when the client wants subscription notifications to be issued by the server when a value has changed more than a defined value since last notification."
		gen2:     &clause{"7.2.3", "A change filter is used when the client wants subscription notifications to be issued by the server when a value has changed more than a defined value since last notification."},
		text:     "a change subscription (gt 5) reports exactly the captures that rose more than 5 since the previous capture, in order",
		gen2Text: "a $changeGT5 subscription notifies exactly the captures more than 5 away from the value last notified, in order",
		quirks:   []string{"change-ignores-diff", "change-wrong-baseline"},
		variants: []string{"initial-event"},
		body: func(t *T) {
			values := []float64{4, 8, 12, 30, 33, 36, 50}
			filter := any(map[string]any{"variant": "change", "parameter": map[string]any{"logic-op": "gt", "diff": "5"}})
			if t.d.Name == vissspec.Gen2 {
				filter = "$changeGT5"
			}
			base, caps, evs, start := t.series(pathSpeed, 0, filter, values)
			want := vissclient.ExpectChangeV3(base.Value, caps, "gt", 5)
			if t.d.Name == vissspec.Gen2 {
				want = vissclient.ExpectChangeGen2(base.Value, caps, "GT", 5)
			}
			t.matchSequence(pathSpeed, want, evs, start)
		},
	}, &specDef{
		topic: "change-boolean",
		// ""parameter":{"logic-op":"gt", "diff": "0"} This leads to a trigger event when the value goes false->true."
		v3:       &clause{"7.5", `"parameter":{"logic-op":"gt", "diff": "0"} This leads to a trigger event when the value goes false->true.`},
		text:     "a change subscription (gt 0) on a boolean reports only the false->true captures",
		quirks:   []string{"bool-change-any"},
		variants: []string{"initial-event"},
		body: func(t *T) {
			t.needMapped(pathMoving)
			c := t.dial()
			t.put(map[string]float64{pathSpeed: 0})
			base := t.latest(pathMoving)
			t.wait(t.gap())
			id, _ := t.subscribe(c, pathMoving, map[string]any{"variant": "change", "parameter": map[string]any{"logic-op": "gt", "diff": "0"}}, "")
			t.wait(t.gap())
			start := time.Now()
			var caps []vissclient.Capture
			for i, v := range []float64{10, 20, 0, 5, 0} {
				if i > 0 {
					t.wait(t.gap())
				}
				t.put(map[string]float64{pathSpeed: v})
				caps = append(caps, t.latest(pathMoving))
			}
			t.quiet()
			t.matchSequence(pathMoving, vissclient.ExpectChangeV3(base.Value, caps, "gt", 0), t.events(c, id, 0, 0), start)
		},
	}, &specDef{
		topic: "range",
		// "One logical "boundary operator" evaluates the current signal value in relation to the boundary. If evaluated to true, the server issues an event message containing the signal value to the subscribing client."
		v3: &clause{"7.4.1", `One logical "boundary operator" evaluates the current signal value in relation to the boundary. If evaluated to true, the server issues an event message containing the signal value to the subscribing client.`},
		// "A range filter is used when the client wants subscription notifications to be issued by the server when a value enters/exits the defined range."
		gen2:     &clause{"7.2.2", "A range filter is used when the client wants subscription notifications to be issued by the server when a value enters/exits the defined range."},
		text:     "a single-boundary range subscription (gt 50) reports every capture above 50",
		gen2Text: "a $rangeGT40AND$rangeLT60 subscription notifies each capture where the value enters or leaves the range",
		quirks:   []string{"range-wrong-semantics"},
		variants: []string{"initial-event"},
		body: func(t *T) {
			if t.d.Name == vissspec.Gen2 {
				b := []vissclient.Bound{{Op: "gt", Value: 40}, {Op: "lt", Value: 60}}
				base, caps, evs, start := t.series(pathSpeed, 0, "$rangeGT40AND$rangeLT60", []float64{50, 55, 70, 45, 30})
				t.matchSequence(pathSpeed, vissclient.ExpectRangeGen2(base.Value, caps, b), evs, start)
				return
			}
			b := []vissclient.Bound{{Op: "gt", Value: 50}}
			filter := map[string]any{"variant": "range", "parameter": map[string]any{t.d.RangeOperatorKey: "gt", "boundary": "50"}}
			_, caps, evs, start := t.series(pathSpeed, 0, filter, []float64{40, 60, 70, 45, 80})
			t.matchSequence(pathSpeed, vissclient.ExpectRangeV3(caps, b, false), evs, start)
		},
	}, &specDef{
		topic: "range-or",
		// "the first object may contain a "combination-op" key value pair, which then MUST have either the value "AND", or the value "OR"."
		v3:       &clause{"7.4.2", `Besides the mandatory "boundary-op", and "boundary" key-value pairs in each JSON object, the first object may contain a "combination-op" key value pair, which then MUST have either the value "AND", or the value "OR".`},
		text:     "a two-boundary range subscription (lt 20 OR gt 80) reports every capture outside 20..80",
		quirks:   []string{"range-or-as-and"},
		variants: []string{"initial-event"},
		body: func(t *T) {
			k := t.d.RangeOperatorKey
			filter := map[string]any{"variant": "range", "parameter": []any{
				map[string]any{k: "lt", "boundary": "20", "combination-op": "OR"}, map[string]any{k: "gt", "boundary": "80"}}}
			_, caps, evs, start := t.series(pathSpeed, 50, filter, []float64{50, 10, 90, 50, 15})
			t.matchSequence(pathSpeed, vissclient.ExpectRangeV3(caps, []vissclient.Bound{{Op: "lt", Value: 20}, {Op: "gt", Value: 80}}, true), evs, start)
		},
	}, &specDef{
		topic: "curvelog",
		// "X is a float value setting the max allowed error between any data sample and the simplified curve, and Y is the number of buffer elements. Data is processed when the buffer becomes full, and the essential data points are returned as a time series per signal."
		v3:     &clause{"7.6", "X is a float value setting the max allowed error between any data sample and the simplified curve, and Y is the number of buffer elements. Data is processed when the buffer becomes full, and the essential data points are returned as a time series per signal."},
		text:   "a curvelog subscription (maxerr 1, bufsize 6) reports, after 6 captures, points of them from the first to the last that keep every capture within 1",
		quirks: []string{"curvelog-endpoints-dropped"},
		body: func(t *T) {
			filter := map[string]any{"variant": "curvelog", "parameter": map[string]any{"maxerr": "1", "bufsize": "6"}}
			_, caps, evs, _ := t.series(pathSpeed, 0, filter, []float64{10, 11, 12, 20, 13, 14})
			t.check(len(evs) == 1, "one event, after the 6th capture", fmt.Sprintf("%d events", len(evs)))
			t.judgeCurve(caps, evs[0], 1)
		},
	}, &specDef{
		topic: "filter-required",
		// "A subscription request must always contain a filter operation that describes the trigger event that leads to that the server dispatches an asynchronous event message."
		v3:     &clause{"9", "A subscription request must always contain a filter operation that describes the trigger event that leads to that the server dispatches an asynchronous event message."},
		text:   "a subscription without a filter is refused",
		quirks: []string{"subscribe-without-filter-ok"},
		body: func(t *T) {
			m, what := t.provoke("missing-filter")
			t.expectSituation(m, "missing-filter", what)
		},
	}, &specDef{
		topic: "first-path",
		// "When the request addresses multiple signals, the triggering condition shall only be evaluated on one of the signals, which is the first signal in the parameter array of paths."
		v3:       &clause{"9", "When the request addresses multiple signals, the triggering condition shall only be evaluated on one of the signals, which is the first signal in the parameter array of paths."},
		text:     "a change subscription on two paths fires on captures of the first path only, and carries both",
		quirks:   []string{"trigger-any-path"},
		variants: []string{"initial-event"},
		body: func(t *T) {
			t.needMapped(pathRPM)
			c := t.dial()
			t.put(map[string]float64{pathSpeed: 10})
			t.put(map[string]float64{pathRPM: 800})
			t.wait(t.gap())
			filter := []any{map[string]any{"variant": "paths", "parameter": []string{"Speed", "Powertrain.CombustionEngine.Speed"}},
				map[string]any{"variant": "change", "parameter": map[string]any{"logic-op": "ne", "diff": "0"}}}
			id, _ := t.subscribe(c, "Vehicle", filter, "")
			t.wait(t.gap())
			start := time.Now()
			t.putSeries(pathRPM, []float64{1500, 2000})
			t.wait(t.gap())
			caps := t.putSeries(pathSpeed, []float64{20})
			t.quiet()
			// Every event carrying a capture of either path made after the
			// subscription counts (an event at subscription time, I-286,
			// carries none).
			var fresh []*vissclient.Message
			for _, e := range t.events(c, id, 0, 0) {
				for _, pd := range vissclient.DataPoints(e.Obj) {
					if ts, err := vissspec.ParseTimestamp(pd.DPs[0].TS); err == nil && !ts.Before(start) {
						fresh = append(fresh, e)
						break
					}
				}
			}
			t.check(len(fresh) == 1, "one event, for the capture of "+pathSpeed+" (20); none for the two captures of "+pathRPM, fmt.Sprintf("%d events", len(fresh)))
			got := t.values(fresh[0])
			ok, why := t.equal(pathSpeed, caps[0].Value, got[pathSpeed])
			_, hasRPM := got[pathRPM]
			t.check(ok && hasRPM, "the event carries "+pathSpeed+" = 20 and "+pathRPM, why+": "+fresh[0].String())
		},
	}, &specDef{
		topic: "unsubscribe",
		// "If the server is able to satisfy the request it MUST return a success response, and it MUST stop issuing event messages associated to the subscription handle."
		v3: &clause{"5.1.4", "If the server is able to satisfy the request it MUST return a success response, and it MUST stop issuing event messages associated to the subscription handle."},
		// "If the server is able to satisfy the request it MUST return a success response, and it MUST stop issuing notifications associated to the subscription handle."
		gen2:       &clause{"9.1.4", "If the server is able to satisfy the request it MUST return a success response, and it MUST stop issuing notifications associated to the subscription handle."},
		text:       "after a successful unsubscribe no event of the subscription arrives while the signal keeps changing",
		quirks:     []string{"events-after-unsubscribe"},
		gen2Quirks: []string{"unsubscribe-no-id"},
		variants:   []string{"initial-event"},
		body: func(t *T) {
			c := t.dial()
			t.put(map[string]float64{pathSpeed: 1})
			t.wait(t.gap())
			filter := any(map[string]any{"variant": "change", "parameter": map[string]any{"logic-op": "ne", "diff": "0"}})
			if t.d.Name == vissspec.Gen2 {
				filter = "$changeNEQ0"
			}
			id, _ := t.subscribe(c, t.path(pathSpeed), filter, "")
			t.put(map[string]float64{pathSpeed: 2})
			t.check(len(t.events(c, id, 1, t.wall(4*t.gap())+t.s.answerTimeout())) >= 1, "an event for the change before the unsubscribe", "none")
			m := t.request(c, map[string]any{"action": "unsubscribe", "subscriptionId": id})
			t.expectOK(m, "the unsubscribe")
			if t.d.Name == vissspec.Gen2 {
				t.check(m.Str("subscriptionId") == id, "the unsubscribe response echoes subscriptionId "+id+" (register I-270)", string(m.Raw))
			}
			before := len(c.Events(id))
			t.putSeries(pathSpeed, []float64{3, 4, 5})
			t.quiet()
			after := c.Events(id)
			var late []string
			for _, e := range after[before:] {
				if e.At.After(m.At) {
					late = append(late, e.String())
				}
			}
			t.check(len(late) == 0, "no event of subscription "+id+" after the unsubscribe was answered", fmt.Sprintf("%d events: %v", len(late), late))
		},
	})
}

// judgeCurve judges a curvelog event (register I-294).
func (t *T) judgeCurve(caps []vissclient.Capture, ev *vissclient.Message, maxerr float64) {
	GinkgoHelper()
	pds := vissclient.DataPoints(ev.Obj)
	t.check(len(pds) == 1 && len(pds[0].DPs) >= 2, "one path with a time series of at least the first and the last capture", ev.String())
	type pt struct {
		t time.Time
		v float64
	}
	var pts []pt
	for _, dp := range pds[0].DPs {
		ts, err := vissspec.ParseTimestamp(dp.TS)
		s, _ := dp.Value.(string)
		var v float64
		_, serr := fmt.Sscan(s, &v)
		t.check(err == nil && serr == nil, "data points with a timestamp and a number", ev.String())
		pts = append(pts, pt{ts, v})
	}
	first, last := caps[0], caps[len(caps)-1]
	ok1, _ := t.equal(pathSpeed, first.Value, pds[0].DPs[0].Value)
	ok2, _ := t.equal(pathSpeed, last.Value, pds[0].DPs[len(pds[0].DPs)-1].Value)
	t.check(ok1 && ok2, fmt.Sprintf("the series to start with the first capture (%s) and end with the last (%s)", first.Value.Wire(), last.Value.Wire()), ev.String())
	tol := t.wall(t.run().Profile.Tolerance.Allowed(0))
	for i, c := range caps {
		// The polyline through the points, at this capture's send time
		// (the server's capture time is a little later).
		var j int
		for j = 0; j+1 < len(pts) && pts[j+1].t.Before(c.Sent.Add(-tol)); j++ {
		}
		v := pts[j].v
		if j+1 < len(pts) && pts[j+1].t.After(pts[j].t) {
			frac := float64(c.Sent.Sub(pts[j].t)) / float64(pts[j+1].t.Sub(pts[j].t))
			frac = min(max(frac, 0), 1)
			v = pts[j].v + frac*(pts[j+1].v-pts[j].v)
		}
		x := vissclient.Num(c.Value)
		t.check(x-v <= maxerr+1e-9 && v-x <= maxerr+1e-9, fmt.Sprintf("capture %d (%s) within %v of the curve", i+1, c.Value.Wire(), maxerr), fmt.Sprintf("the curve is at %.3f there: %s", v, ev.String()))
	}
}
