package viss

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/simulator/viss/vss"
)

// v3Codec is the VISS v3 wire form (002, v3.0 TRANSPORT).
type v3Codec struct{ srv *Server }

func (c v3Codec) parse(raw []byte) (*request, *verr) {
	srv := c.srv
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return &request{}, srv.fail("malformed", "The request is malformed")
	}
	req := &request{}
	if id, ok := m["requestId"]; ok {
		var v any
		_ = json.Unmarshal(id, &v)
		req.requestID = v
	}
	_ = json.Unmarshal(m["action"], &req.action)
	if req.action == "" || !slices.Contains([]string{"get", "set", "subscribe", "unsubscribe"}, req.action) {
		return req, srv.fail("malformed", "Missing or invalid action")
	}
	if a, ok := m["authorization"]; ok {
		req.hasToken = true
		_ = json.Unmarshal(a, &req.token)
	}
	if dc, ok := m["dc"]; ok {
		req.hasDC = true
		_ = json.Unmarshal(dc, &req.dc)
	}
	if req.action == "unsubscribe" {
		if err := json.Unmarshal(m["subscriptionId"], &req.subID); err != nil || req.subID == "" {
			return req, srv.fail("malformed", "Missing or invalid subscriptionId")
		}
		return req, nil
	}
	if err := json.Unmarshal(m["path"], &req.rawPath); err != nil || req.rawPath == "" {
		return req, srv.fail("malformed", "Missing or invalid path")
	}
	req.path = vss.Normalize(req.rawPath)
	if req.action == "set" {
		v, ok := m["value"]
		if !ok {
			return req, srv.fail("malformed", "Missing or invalid value")
		}
		req.value = v
	}
	if f, ok := m["filter"]; ok {
		if e := c.parseFilter(req, f); e != nil {
			return req, e
		}
	}
	return req, nil
}

// parseFilter reads a v3 filter (002 7): one object, or an array with at
// most one paths object and one other.
func (c v3Codec) parseFilter(req *request, raw json.RawMessage) *verr {
	srv := c.srv
	err := c.filter(req, raw)
	if err == nil {
		return nil
	}
	if srv.svc.quirks.Has("filter-lenient") && (err.situation == "bad-filter" || err.situation == "filter-not-for-method") {
		req.filter = filterSpec{present: true}
		if req.action == "subscribe" {
			req.filter.trig = &trigger{kind: "timebased", period: time.Second}
		}
		return nil
	}
	return err
}

func (c v3Codec) filter(req *request, raw json.RawMessage) *verr {
	srv := c.srv
	bad := func(why string) *verr { return srv.fail("bad-filter", "Missing or invalid filter: "+why) }
	var objs []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &objs); err != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(raw, &one); err != nil {
			return bad("not an object or an array of objects")
		}
		objs = []map[string]json.RawMessage{one}
	}
	if len(objs) == 0 || len(objs) > 2 {
		return bad("one or two filter objects")
	}
	f := filterSpec{present: true}
	others := 0
	for _, o := range objs {
		var variant string
		if err := json.Unmarshal(o["variant"], &variant); err != nil || variant == "" {
			return bad("variant is missing")
		}
		p, ok := o["parameter"]
		if !ok {
			return bad("parameter is missing")
		}
		fv, known := srv.d.Filter(variant)
		if !known {
			return bad("unknown variant " + strconv.Quote(variant))
		}
		if variant == "paths" {
			if f.hasPaths {
				return bad("two paths objects")
			}
		} else {
			others++
			if others > 1 {
				return bad("more than one object besides paths")
			}
		}
		if !slices.Contains(fv.Methods, req.action) {
			return srv.fail("filter-not-for-method", "Incorrect filter: "+variant+" is not allowed with "+req.action)
		}
		if e := c.variant(&f, variant, p, bad); e != nil {
			return e
		}
	}
	req.filter = f
	return nil
}

var isoPeriod = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// ParseHistoryPeriod reads a history period "PdddDThhHmmMssS" (002 7.2);
// days must be fewer than maxDays.
func ParseHistoryPeriod(s string, maxDays int) (time.Duration, bool) {
	m := isoPeriod.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, false
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	if n(1) >= maxDays {
		return 0, false
	}
	return time.Duration(n(1))*24*time.Hour + time.Duration(n(2))*time.Hour + time.Duration(n(3))*time.Minute + time.Duration(n(4))*time.Second, true
}

func num(raw json.RawMessage) (float64, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil
}

func (c v3Codec) variant(f *filterSpec, variant string, p json.RawMessage, bad func(string) *verr) *verr {
	srv := c.srv
	ops := srv.d.Operators
	switch variant {
	case "paths":
		var list []string
		if err := json.Unmarshal(p, &list); err != nil {
			var one string
			if err := json.Unmarshal(p, &one); err != nil || one == "" {
				return bad("paths parameter is not an array of paths")
			}
			list = []string{one}
		}
		if len(list) == 0 {
			return bad("paths parameter is empty")
		}
		f.paths, f.hasPaths = list, true
	case "timebased":
		var o map[string]json.RawMessage
		if err := json.Unmarshal(p, &o); err != nil {
			return bad("timebased parameter is not an object")
		}
		var s string
		if err := json.Unmarshal(o["period"], &s); err != nil {
			return bad("period is missing")
		}
		ms, err := strconv.Atoi(s)
		if err != nil || ms <= 0 {
			return bad("period is not a positive integer of milliseconds")
		}
		f.trig = &trigger{kind: "timebased", period: time.Duration(ms) * time.Millisecond}
	case "range":
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(p, &list); err != nil {
			var one map[string]json.RawMessage
			if err := json.Unmarshal(p, &one); err != nil {
				return bad("range parameter is not an object or an array")
			}
			list = []map[string]json.RawMessage{one}
		} else if len(list) != 2 {
			return bad("a multi boundary range holds two objects")
		}
		t := &trigger{kind: "range"}
		for i, o := range list {
			var op string
			if err := json.Unmarshal(o[srv.d.RangeOperatorKey], &op); err != nil || !slices.Contains(ops, op) {
				return bad("invalid " + srv.d.RangeOperatorKey)
			}
			b, ok := num(o["boundary"])
			if !ok {
				return bad("boundary is not a number")
			}
			if co, ok := o["combination-op"]; ok {
				var s string
				if err := json.Unmarshal(co, &s); err != nil || !slices.Contains(srv.d.CombinationOps, s) || i != 0 {
					return bad("invalid combination-op")
				}
				t.or = s == "OR"
			}
			t.bounds = append(t.bounds, compare{op: op, val: b})
		}
		f.trig = t
	case "change":
		var o map[string]json.RawMessage
		if err := json.Unmarshal(p, &o); err != nil {
			return bad("change parameter is not an object")
		}
		var op string
		if err := json.Unmarshal(o["logic-op"], &op); err != nil || !slices.Contains(ops, op) {
			return bad("invalid logic-op")
		}
		d, ok := num(o["diff"])
		if !ok {
			return bad("diff is not a number")
		}
		f.trig = &trigger{kind: "change", change: &compare{op: op, val: d}}
	case "curvelog":
		var o map[string]json.RawMessage
		if err := json.Unmarshal(p, &o); err != nil {
			return bad("curvelog parameter is not an object")
		}
		me, ok := num(o["maxerr"])
		if !ok || me < 0 {
			return bad("maxerr is not a number")
		}
		var s string
		_ = json.Unmarshal(o["bufsize"], &s)
		bs, err := strconv.Atoi(s)
		if err != nil || bs < 2 {
			return bad("bufsize is not an integer of at least 2")
		}
		f.trig = &trigger{kind: "curvelog", maxerr: me, bufsz: bs}
	case "history":
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return bad("history parameter is not a string")
		}
		d, ok := ParseHistoryPeriod(s, srv.d.HistoryMaxDays)
		if !ok {
			return bad("history period is not PdddDThhHmmMssS with fewer than 999 days")
		}
		f.history = &d
	case "metadata":
		sel := &metaSel{}
		if srv.d.MetadataByDepth {
			var s string
			if err := json.Unmarshal(p, &s); err != nil {
				return bad("metadata parameter is not a depth")
			}
			d, err := strconv.Atoi(s)
			if err != nil || d < 0 {
				return bad("metadata depth is not a non-negative integer")
			}
			sel.depth = d
		} else {
			var s string
			if err := json.Unmarshal(p, &s); err == nil {
				if s != "" {
					sel.keys = []string{s}
				}
			} else if err := json.Unmarshal(p, &sel.keys); err != nil {
				return bad("metadata parameter is not a key name or an array of key names")
			}
		}
		f.metadata = sel
	}
	return nil
}

func (c v3Codec) parseHTTP(r *http.Request) (*request, *verr) {
	srv := c.srv
	req := &request{viaHTTP: true, rawPath: strings.TrimPrefix(r.URL.Path, "/")}
	req.path = vss.Normalize(req.rawPath)
	if a := r.Header.Get("Authorization"); a != "" {
		req.hasToken = true
		req.token = strings.TrimPrefix(a, "Bearer ")
	}
	switch r.Method {
	case http.MethodGet:
		req.action = "get"
	case http.MethodPost:
		req.action = "set"
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		var body map[string]json.RawMessage
		if err != nil || json.Unmarshal(b, &body) != nil || body["value"] == nil {
			return req, srv.fail("malformed", "Missing or invalid value")
		}
		req.value = body["value"]
	default:
		return req, srv.fail("malformed", "Missing or invalid action")
	}
	if req.path == "" {
		return req, srv.fail("malformed", "Missing or invalid path")
	}
	if f := r.URL.Query().Get("filter"); f != "" {
		if e := c.parseFilter(req, json.RawMessage(f)); e != nil {
			return req, e
		}
	}
	if dc := r.URL.Query().Get("dc"); dc != "" {
		req.hasDC, req.dc = true, dc
	}
	return req, nil
}

// data writes the data of a response or event (002 8.2: an object for one
// path, an array for several; dp an object for one point).
func (c v3Codec) data(pds []pathData) any {
	return c.dataAt(pds, nil, time.Time{})
}

// dataAt is data compressed by comp (nil: none) against the message's ts.
func (c v3Codec) dataAt(pds []pathData, comp *compressor, msgTS time.Time) any {
	pds = comp.apply(c.srv, pds, msgTS)
	out := make([]any, 0, len(pds))
	for _, pd := range pds {
		dps := make([]any, len(pd.dps))
		for i, dp := range pd.dps {
			dps[i] = obj{"value": dp.wire, "ts": c.srv.dpTS(dp)}
		}
		var dp any = dps
		if len(dps) == 1 && !pd.multi {
			dp = dps[0]
		}
		out = append(out, obj{"path": pd.path, "dp": dp})
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

func (c v3Codec) response(req *request, res *result) []byte {
	now := time.Now()
	m := obj{"action": req.action, "ts": c.srv.ts(now)}
	if id := c.srv.echo(req); id != nil {
		m["requestId"] = id
	}
	switch req.action {
	case "get":
		if res.metadata != nil {
			m["metadata"] = res.metadata
		} else {
			comp, _ := c.srv.newCompressor(req)
			m["data"] = c.dataAt(res.data, comp, now)
			if len(res.data) == 0 {
				m["data"] = []any{}
			}
		}
	case "subscribe":
		m["subscriptionId"] = res.subID
	}
	return mustMarshal(m)
}

func (c v3Codec) errorResponse(req *request, e *verr) []byte {
	action := "get"
	if req != nil && req.action != "" {
		action = req.action
	}
	m := obj{"action": action, "error": c.srv.errorObject(e), "ts": c.srv.ts(time.Now())}
	if id := c.srv.echo(req); id != nil {
		m["requestId"] = id
	}
	return mustMarshal(m)
}

func (c v3Codec) httpBody(req *request, res *result, e *verr) []byte {
	now := time.Now()
	m := obj{"ts": c.srv.ts(now)}
	switch {
	case e != nil:
		m["error"] = c.srv.errorObject(e)
	case res.metadata != nil:
		m["metadata"] = res.metadata
	case req.action == "get":
		comp, _ := c.srv.newCompressor(req)
		m["data"] = c.dataAt(res.data, comp, now)
	}
	return mustMarshal(m)
}

// events writes an event by hand (it is written once per subscriber and
// capture, on the bus's goroutine): the same JSON encoding/json would give.
func (c v3Codec) events(sub *subscription, data []pathData, now time.Time) [][]byte {
	data = sub.comp.apply(c.srv, data, now)
	b := make([]byte, 0, 160)
	b = append(b, `{"action":"subscription","data":`...)
	if len(data) != 1 {
		b = append(b, '[')
	}
	for i, pd := range data {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"dp":`...)
		multi := len(pd.dps) != 1 || pd.multi
		if multi {
			b = append(b, '[')
		}
		for j, dp := range pd.dps {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"ts":`...)
			b = appendJSONString(b, c.srv.dpTS(dp))
			b = append(b, `,"value":`...)
			b = appendJSONValue(b, dp.wire)
			b = append(b, '}')
		}
		if multi {
			b = append(b, ']')
		}
		b = append(b, `,"path":`...)
		b = appendJSONString(b, pd.path)
		b = append(b, '}')
	}
	if len(data) != 1 {
		b = append(b, ']')
	}
	b = append(b, `,"subscriptionId":`...)
	b = appendJSONString(b, sub.id)
	b = append(b, `,"ts":`...)
	b = appendJSONString(b, c.srv.ts(now))
	return [][]byte{append(b, '}')}
}
