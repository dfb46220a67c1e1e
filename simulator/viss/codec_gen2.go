package viss

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/simulator/viss/vss"
)

// gen2Codec is the VISS Gen2 wire form (001, Gen2 TRANSPORT).
type gen2Codec struct{ srv *Server }

func (c gen2Codec) parse(raw []byte) (*request, *verr) {
	srv := c.srv
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return &request{}, srv.fail("malformed", "")
	}
	req := &request{}
	if id, ok := m["requestId"]; ok {
		var v any
		_ = json.Unmarshal(id, &v)
		req.requestID = v
	}
	_ = json.Unmarshal(m["action"], &req.action)
	if !slices.Contains([]string{"get", "set", "subscribe", "unsubscribe"}, req.action) {
		return req, srv.fail("malformed", "")
	}
	if a, ok := m["authorization"]; ok {
		req.hasToken = true
		_ = json.Unmarshal(a, &req.token)
	}
	if req.action == "unsubscribe" {
		if err := json.Unmarshal(m["subscriptionId"], &req.subID); err != nil || req.subID == "" {
			return req, srv.fail("malformed", "")
		}
		return req, nil
	}
	var p string
	if err := json.Unmarshal(m["path"], &p); err != nil || p == "" {
		return req, srv.fail("malformed", "")
	}
	// A read's filter is the path's query component (001 7).
	query := ""
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p, query = p[:i], p[i+1:]
	}
	req.rawPath, req.path = p, vss.Normalize(p)
	if req.action == "set" {
		v, ok := m["value"]
		if !ok {
			return req, srv.fail("malformed", "")
		}
		req.value = v
	}
	if req.action == "subscribe" {
		if f, ok := m["filter"]; ok {
			var s string
			if err := json.Unmarshal(f, &s); err != nil {
				return req, srv.fail("bad-filter", "The filter is not a string")
			}
			query = s
		}
	}
	if query != "" {
		if e := c.parseFilter(req, query); e != nil {
			return req, e
		}
	}
	return req, nil
}

var gen2Query = regexp.MustCompile(`^\s*\$([a-z]+)\s*(NEQ|EQ|GT|LT|=)\s*(.*?)\s*$`)

func (c gen2Codec) parseFilter(req *request, s string) *verr {
	e := c.filter(req, s)
	if e != nil && c.srv.svc.quirks.Has("filter-lenient") {
		req.filter = filterSpec{present: true}
		if req.action == "subscribe" {
			req.filter.trig = &trigger{kind: "timebased", period: time.Second}
		}
		return nil
	}
	return e
}

// filter reads a Gen2 filter expression (001 7, register I-271, I-295).
func (c gen2Codec) filter(req *request, s string) *verr {
	srv, d := c.srv, c.srv.d
	bad := func(why string) *verr { return srv.fail("bad-filter", "Invalid filter: "+why) }
	parts := strings.Split(s, "AND")
	if len(parts) > d.MaxQueries {
		return bad("more than " + strconv.Itoa(d.MaxQueries) + " queries")
	}
	f := filterSpec{present: true}
	var idx []int
	for _, part := range parts {
		m := gen2Query.FindStringSubmatch(part)
		if m == nil {
			return bad(strconv.Quote(part) + " is not reserved-word operator expression")
		}
		word, op, val := "$"+m[1], m[2], m[3]
		if op == "=" {
			op = "EQ"
		}
		qw, ok := d.QueryWord(word)
		if !ok {
			return bad("unknown reserved word " + word)
		}
		if !slices.Contains(qw.Operators, op) {
			return bad(op + " is not allowed with " + word)
		}
		if !slices.Contains(qw.Methods, req.action) {
			return bad(word + " is not allowed with " + req.action)
		}
		idx = append(idx, qw.Index)
		numv, err := strconv.ParseFloat(val, 64)
		isNum := err == nil
		switch word {
		case "$spec":
			depth, err := strconv.Atoi(val)
			if err != nil || depth < 0 {
				return bad("$spec depth is not a non-negative integer")
			}
			f.metadata = &metaSel{depth: depth}
		case "$path":
			if val == "" {
				return bad("$path has no search expression")
			}
			f.paths, f.hasPaths = append(f.paths, val), true
		case "$data":
			cmp := &compare{op: strings.ToLower(op), val: numv}
			if val == "true" || val == "false" {
				b := val == "true"
				cmp.boolVal = &b
			} else if !isNum {
				return bad("$data value is neither a number nor a boolean")
			}
			f.dataCmp = cmp
		case "$interval":
			ms, err := strconv.Atoi(val)
			if err != nil || ms <= 0 {
				return bad("$interval is not a positive integer of milliseconds")
			}
			f.trig = &trigger{kind: "timebased", period: time.Duration(ms) * time.Millisecond}
		case "$range":
			if !isNum {
				return bad("$range value is not a number")
			}
			if f.trig == nil {
				f.trig = &trigger{kind: "range"}
			}
			f.trig.bounds = append(f.trig.bounds, compare{op: strings.ToLower(op), val: numv})
		case "$change":
			if !isNum {
				return bad("$change value is not a number")
			}
			if op == "NEQ" && numv != 0 {
				return bad("NEQ must have the value zero")
			}
			cmp := &compare{op: "gt", val: numv}
			if op == "NEQ" {
				cmp = &compare{op: "ne", val: 0}
			}
			if f.trig != nil && f.trig.kind == "range" {
				f.trig.change = cmp
			} else {
				f.trig = &trigger{kind: "change", change: cmp}
			}
		}
	}
	for i := range idx {
		for j := i + 1; j < len(idx); j++ {
			if !d.Combines(idx[i], idx[j]) {
				return bad("Table 1 does not allow this combination")
			}
		}
	}
	req.filter = f
	return nil
}

func (c gen2Codec) parseHTTP(r *http.Request) (*request, *verr) {
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
			return req, srv.fail("malformed", "")
		}
		req.value = body["value"]
	default:
		return req, srv.fail("malformed", "")
	}
	if req.path == "" {
		return req, srv.fail("malformed", "")
	}
	if q, err := url.QueryUnescape(r.URL.RawQuery); err == nil && q != "" {
		if e := c.parseFilter(req, q); e != nil {
			return req, e
		}
	}
	return req, nil
}

// value writes a Gen2 value: a string for one signal, an array of
// {path, value} for several (register I-285).
func (c gen2Codec) value(pds []pathData) (any, time.Time) {
	var latest time.Time
	if len(pds) == 1 && len(pds[0].dps) == 1 {
		return pds[0].dps[0].wire, pds[0].dps[0].at
	}
	out := make([]any, 0, len(pds))
	for _, pd := range pds {
		for _, dp := range pd.dps {
			out = append(out, obj{"path": pd.path, "value": dp.wire})
			if dp.at.After(latest) {
				latest = dp.at
			}
		}
	}
	if latest.IsZero() {
		latest = time.Now()
	}
	return out, latest
}

func (c gen2Codec) response(req *request, res *result) []byte {
	srv := c.srv
	m := obj{"action": req.action, "timestamp": srv.ts(time.Now())}
	if id := srv.echo(req); id != nil {
		m["requestId"] = id
	}
	switch req.action {
	case "get":
		if res.metadata != nil {
			m["metadata"] = res.metadata
		} else if len(res.data) == 0 {
			m["value"] = []any{}
		} else {
			v, at := c.value(res.data)
			m["value"], m["timestamp"] = v, srv.ts(at)
		}
	case "subscribe":
		m["subscriptionId"] = res.subID
	case "unsubscribe":
		if !srv.svc.quirks.Has("unsubscribe-no-id") {
			m["subscriptionId"] = res.subID
		}
	}
	return mustMarshal(m)
}

func (c gen2Codec) errorResponse(req *request, e *verr) []byte {
	srv := c.srv
	action := "get"
	if req != nil && req.action != "" {
		action = req.action
	}
	m := obj{"action": action, "error": srv.errorObject(e), "timestamp": srv.ts(time.Now())}
	if id := srv.echo(req); id != nil {
		m["requestId"] = id
	}
	if action == "unsubscribe" && req != nil {
		m["subscriptionId"] = req.subID
	}
	return mustMarshal(m)
}

func (c gen2Codec) httpBody(req *request, res *result, e *verr) []byte {
	srv := c.srv
	m := obj{"timestamp": srv.ts(time.Now())}
	switch {
	case e != nil:
		m["error"] = srv.errorObject(e)
	case res.metadata != nil:
		m["metadata"] = res.metadata
	case req.action == "get":
		v, at := c.value(res.data)
		m["value"], m["timestamp"] = v, srv.ts(at)
	}
	return mustMarshal(m)
}

// events writes one notification per path value (001 7.1.2: "one signal
// value per notification"); its timestamp is the capture time.
func (c gen2Codec) events(sub *subscription, data []pathData, now time.Time) [][]byte {
	var out [][]byte
	for _, pd := range data {
		for _, dp := range pd.dps {
			at := dp.at
			if sub.trig.kind == "timebased" {
				at = now
			}
			b := make([]byte, 0, 120)
			b = append(b, `{"action":"subscription","subscriptionId":`...)
			b = appendJSONString(b, sub.id)
			b = append(b, `,"timestamp":`...)
			b = appendJSONString(b, c.srv.ts(at))
			b = append(b, `,"value":`...)
			b = appendJSONValue(b, dp.wire)
			out = append(out, append(b, '}'))
		}
	}
	return out
}
