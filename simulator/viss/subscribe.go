package viss

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/simulator/viss/vss"
	"github.com/icoc-dev/icoc/simulator/viss/vssmap"
	"github.com/icoc-dev/icoc/spec/viss"
)

// subscription is one active subscription of a session.
type subscription struct {
	id    string
	srv   *Server
	sess  *session
	nodes []*vss.Node
	trig  trigger
	// trigPath is the path whose captures drive change, range and
	// curvelog (the first path, 002 9).
	trigPath string

	mu      sync.Mutex
	prev    *float64 // v3 change: the previous capture
	base    *float64 // Gen2 change: the value last notified
	inside  *bool    // Gen2 range: inside the range at the last capture
	held    bool     // v3 range under the range-wrong-semantics quirk
	buf     []Capture
	done    chan struct{}
	stopped bool
	// comp compresses the events (002 C); nil without dc.
	comp *compressor
}

// subRegistry finds the subscriptions a capture concerns.
type subRegistry struct {
	srv   *Server
	mu    sync.RWMutex
	byKey map[string][]*subscription
}

func newSubRegistry(srv *Server) *subRegistry {
	return &subRegistry{srv: srv, byKey: map[string][]*subscription{}}
}

func (r *subRegistry) add(sub *subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := []string{sub.trigPath}
	if r.srv.svc.quirks.Has("trigger-any-path") || sub.trig.kind == "" {
		keys = nil
		for _, n := range sub.nodes {
			keys = append(keys, n.Path)
		}
	}
	for _, k := range keys {
		r.byKey[k] = append(r.byKey[k], sub)
	}
}

func (r *subRegistry) remove(sub *subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, list := range r.byKey {
		for i, s := range list {
			if s == sub {
				r.byKey[k] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(r.byKey[k]) == 0 {
			delete(r.byKey, k)
		}
	}
}

// onCapture runs every capture-driven trigger of path.
func (r *subRegistry) onCapture(path string, c Capture) {
	r.mu.RLock()
	list := r.byKey[path]
	r.mu.RUnlock()
	for _, sub := range list {
		if sub.trig.kind != "timebased" {
			sub.capture(path, c)
		}
	}
}

func (srv *Server) subscribe(s *session, req *request) (*result, *verr) {
	q := srv.svc.quirks
	v3 := srv.d.Name == vissspec.V3
	if v3 && !req.filter.present && !q.Has("subscribe-without-filter-ok") {
		return nil, srv.fail("missing-filter", "Missing or invalid filter")
	}
	comp, e := srv.newCompressor(req)
	if e != nil {
		return nil, e
	}
	if req.filter.history != nil || req.filter.metadata != nil || req.filter.dataCmp != nil {
		return nil, srv.fail("filter-not-for-method", "Incorrect filter")
	}
	base, wild, e := srv.base(req)
	if e != nil {
		return nil, e
	}
	targets, e := srv.targets(req, base, wild)
	if e != nil {
		return nil, e
	}
	trig := trigger{}
	if req.filter.trig != nil {
		trig = *req.filter.trig
	} else if v3 {
		if !q.Has("subscribe-without-filter-ok") {
			return nil, srv.fail("missing-filter", "Missing or invalid filter")
		}
		trig = trigger{kind: "timebased", period: time.Second}
	}
	first := targets[0]
	switch trig.kind {
	case "change", "range", "curvelog":
		if !base.IsLeaf() && !req.filter.hasPaths && !v3 && !q.Has("filter-lenient") {
			return nil, srv.fail("filter-on-branch", "Filter requested on non-primitive type.")
		}
		if v3 && req.filter.hasPaths && strings.Contains(req.filter.paths[0], "*") {
			return nil, srv.fail("bad-filter", "The first path of a range or change subscription must not hold a wildcard")
		}
		numericOK := vssmap.IsNumeric(first.Datatype) || (trig.kind == "change" && first.Datatype == "boolean")
		if !numericOK {
			return nil, srv.fail("bad-filter", "The values must be of a number datatype")
		}
	}
	if e := srv.authorize(req, targets, "subscribe"); e != nil {
		return nil, e
	}
	sub := &subscription{
		id: strconv.FormatUint(srv.nextSub.Add(1), 10), srv: srv, sess: s, nodes: targets,
		trig: trig, trigPath: first.Path, done: make(chan struct{}), comp: comp,
	}
	if c, ok := srv.svc.store.Current(first.Path); ok {
		if x, ok := numeric(c.Value); ok {
			sub.prev, sub.base = &x, &x
			in := sub.inRange(x)
			sub.inside = &in
			sub.held = in
		}
	}
	s.mu.Lock()
	s.subs[sub.id] = sub
	s.mu.Unlock()
	srv.subs.add(sub)
	res := &result{subID: sub.id}
	res.after = func() {
		if q.Has("initial-event") {
			sub.emitCurrent(time.Now())
		}
		if trig.kind == "timebased" {
			go sub.tick()
		}
	}
	return res, nil
}

// stop ends the subscription; no event follows.
func (sub *subscription) stop() {
	sub.mu.Lock()
	if sub.stopped {
		sub.mu.Unlock()
		return
	}
	sub.stopped = true
	close(sub.done)
	sub.mu.Unlock()
	sub.srv.subs.remove(sub)
}

// tick issues the timebased events.
func (sub *subscription) tick() {
	period := sub.srv.svc.wall(sub.trig.period)
	if sub.srv.svc.quirks.Has("interval-drift") {
		period = period * 3 / 2
	}
	period = max(period, time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-sub.done:
			return
		case <-sub.sess.done:
			return
		case now := <-t.C:
			sub.emitCurrent(now)
		}
	}
}

// inRange evaluates the range bounds on x.
func (sub *subscription) inRange(x float64) bool {
	b := sub.trig.bounds
	if len(b) == 0 {
		return false
	}
	or := sub.trig.or && !sub.srv.svc.quirks.Has("range-or-as-and")
	res := b[0].holds(x)
	for _, c := range b[1:] {
		if or {
			res = res || c.holds(x)
		} else {
			res = res && c.holds(x)
		}
	}
	return res
}

// capture runs the trigger on one capture of path.
func (sub *subscription) capture(path string, c Capture) {
	q := sub.srv.svc.quirks
	gen2 := sub.srv.d.Name == vissspec.Gen2
	sub.mu.Lock()
	if sub.stopped && !q.Has("events-after-unsubscribe") {
		sub.mu.Unlock()
		return
	}
	x, isNum := numeric(c.Value)
	fire := false
	var points []Capture
	switch sub.trig.kind {
	case "":
		fire = true
	case "change":
		ch := sub.trig.change
		switch {
		case !isNum:
		case gen2 != q.Has("change-wrong-baseline"):
			// Gen2 (7.2.3): against the value last notified.
			if sub.base == nil {
				sub.base = &x
				break
			}
			d := x - *sub.base
			if gen2 {
				d = math.Abs(d)
			}
			fire = ch.holds(d)
			if q.Has("change-ignores-diff") {
				fire = x != *sub.base
			}
			if fire {
				sub.base = &x
			}
		default:
			// v3 (7.5): against the previous capture.
			if sub.prev != nil {
				d := x - *sub.prev
				if gen2 {
					d = math.Abs(d)
				}
				fire = ch.holds(d)
				if q.Has("change-ignores-diff") || (q.Has("bool-change-any") && c.Value.Kind == "boolean") {
					fire = d != 0
				}
			}
		}
		sub.prev = &x
	case "range":
		if !isNum {
			break
		}
		in := sub.inRange(x)
		transitions := gen2 != q.Has("range-wrong-semantics")
		if transitions {
			// Gen2 (7.2.2): when the value enters or exits the range.
			fire = sub.inside != nil && *sub.inside != in
		} else {
			// v3 (7.4): every capture for which the expression is true.
			fire = in
		}
		sub.inside = &in
	case "curvelog":
		if !isNum {
			break
		}
		sub.buf = append(sub.buf, c)
		if len(sub.buf) >= sub.trig.bufsz {
			points = simplify(sub.buf, sub.trig.maxerr)
			if q.Has("curvelog-endpoints-dropped") && len(points) > 2 {
				points = points[1 : len(points)-1]
			}
			sub.buf = nil
		}
	}
	sub.mu.Unlock()
	switch {
	case points != nil:
		sub.emitSeries(points)
	case fire:
		sub.emit(path, c, time.Now())
	}
}

// emit sends one event for a capture of path: the trigger's value with its
// capture time and the other paths' current values.
func (sub *subscription) emit(path string, c Capture, now time.Time) {
	srv := sub.srv
	var data []pathData
	for _, n := range sub.nodes {
		if n.Path == path {
			at := c.At
			if srv.svc.quirks.Has("ts-not-capture") {
				at = now
			}
			data = append(data, pathData{path: n.Path, dps: []dataPoint{{wire: srv.wire(c.Value), at: at}}})
			continue
		}
		if dp, ok := srv.value(n); ok {
			data = append(data, pathData{path: n.Path, dps: []dataPoint{dp}})
		}
	}
	sub.send(data, now)
}

// emitCurrent sends one event with every path's current value (timebased,
// the initial event).
func (sub *subscription) emitCurrent(now time.Time) {
	var data []pathData
	for _, n := range sub.nodes {
		if dp, ok := sub.srv.value(n); ok {
			data = append(data, pathData{path: n.Path, dps: []dataPoint{dp}})
		}
	}
	if len(data) > 0 {
		sub.send(data, now)
	}
}

// emitSeries sends a curvelog event: the essential points of the trigger
// path.
func (sub *subscription) emitSeries(points []Capture) {
	pd := pathData{path: sub.trigPath, multi: true}
	for _, c := range points {
		pd.dps = append(pd.dps, dataPoint{wire: sub.srv.wire(c.Value), at: c.At})
	}
	sub.send([]pathData{pd}, time.Now())
}

func (sub *subscription) send(data []pathData, now time.Time) {
	sub.mu.Lock()
	stopped := sub.stopped
	sub.mu.Unlock()
	if stopped && !sub.srv.svc.quirks.Has("events-after-unsubscribe") {
		return
	}
	for _, m := range sub.srv.codec.events(sub, data, now) {
		sub.sess.deliver(m)
	}
}

// simplify keeps the captures a polyline needs so that every capture lies
// within maxerr of it in value (Ramer-Douglas-Peucker on the value axis;
// 002 7.6, register I-294). The first and the last capture are kept.
func simplify(cs []Capture, maxerr float64) []Capture {
	if len(cs) <= 2 {
		return append([]Capture(nil), cs...)
	}
	keep := make([]bool, len(cs))
	keep[0], keep[len(cs)-1] = true, true
	var rdp func(a, b int)
	rdp = func(a, b int) {
		if b-a < 2 {
			return
		}
		ta, tb := float64(cs[a].At.UnixNano()), float64(cs[b].At.UnixNano())
		va, _ := numeric(cs[a].Value)
		vb, _ := numeric(cs[b].Value)
		worst, at := -1.0, -1
		for i := a + 1; i < b; i++ {
			vi, _ := numeric(cs[i].Value)
			line := va
			if tb != ta {
				line = va + (vb-va)*(float64(cs[i].At.UnixNano())-ta)/(tb-ta)
			}
			if d := math.Abs(vi - line); d > worst {
				worst, at = d, i
			}
		}
		if worst > maxerr {
			keep[at] = true
			rdp(a, at)
			rdp(at, b)
		}
	}
	rdp(0, len(cs)-1)
	var out []Capture
	for i, k := range keep {
		if k {
			out = append(out, cs[i])
		}
	}
	return out
}
