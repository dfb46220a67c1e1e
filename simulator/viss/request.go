package viss

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/simulator/viss/vss"
	"github.com/icoc-dev/icoc/simulator/viss/vssmap"
	"github.com/icoc-dev/icoc/spec/viss"
)

// request is one client request in dialect-neutral form.
type request struct {
	action string
	// path is the request's path in dotted form; rawPath as written.
	path, rawPath string
	// requestID is echoed as given (a string, or any JSON value).
	requestID any
	token     string
	hasToken  bool
	value     json.RawMessage
	subID     string
	dc        string
	hasDC     bool
	filter    filterSpec
	viaHTTP   bool
}

// filterSpec is a parsed filter of either dialect.
type filterSpec struct {
	present bool
	// paths are relative paths (v3 paths filter, Gen2 $path).
	paths    []string
	hasPaths bool
	history  *time.Duration
	metadata *metaSel
	// dataCmp is Gen2's $data.
	dataCmp *compare
	trig    *trigger
}

// metaSel selects metadata: every key, some keys, or a depth (0: all).
type metaSel struct {
	keys  []string
	depth int
}

// compare is a value comparison.
type compare struct {
	op  string // eq ne gt gte lt lte
	val float64
	// boolVal is set for a boolean comparison.
	boolVal *bool
}

func (c compare) holds(x float64) bool {
	switch c.op {
	case "eq":
		return x == c.val
	case "ne":
		return x != c.val
	case "gt":
		return x > c.val
	case "gte":
		return x >= c.val
	case "lt":
		return x < c.val
	case "lte":
		return x <= c.val
	}
	return false
}

// trigger is a subscription's trigger rule.
type trigger struct {
	// kind: timebased, change, range, curvelog; "" for a Gen2 subscription
	// without a trigger (every capture).
	kind   string
	period time.Duration // spec time
	// change: v3 (current - previous) op diff; Gen2 GT: |current - last
	// notified| > diff, NEQ: current != last notified.
	change *compare
	// bounds of a range; or: OR instead of AND.
	bounds []compare
	or     bool
	maxerr float64
	bufsz  int
}

// verr is an error answer: the situation and the code chosen.
type verr struct {
	situation string
	code      vissspec.ErrorCode
	desc      string
}

// fail builds the error of a situation for dialect d: its first code, or
// the core table's under the core-token-errors variant.
func (srv *Server) fail(situation, desc string) *verr {
	s, ok := srv.d.Situation(situation)
	if !ok {
		// A situation the dialect does not list: a malformed request.
		s = srv.d.MustSituation("malformed")
	}
	code := s.Errors[0]
	if srv.svc.quirks.Has("core-token-errors") && strings.HasPrefix(situation, "token-") {
		code = s.CoreTableError()
	}
	if srv.svc.quirks.Has("foreign-error-vocabulary") {
		code = foreign(srv.d.Name, code)
	}
	if desc == "" {
		desc = srv.describe(code)
	}
	return &verr{situation: situation, code: code, desc: desc}
}

// foreign maps a code to the other dialect's vocabulary (quirk).
func foreign(n vissspec.DialectName, c vissspec.ErrorCode) vissspec.ErrorCode {
	m := map[string]string{"unavailable_data": "invalid_path", "invalid_data": "read_only", "forbidden_request": "user_forbidden", "invalid_token": "token_invalid", "bad_request": "filter_invalid"}
	if n == vissspec.Gen2 {
		m = map[string]string{"invalid_path": "unavailable_data", "read_only": "invalid_data", "invalid_subscriptionId": "unavailable_data", "token_missing": "invalid_token", "token_expired": "invalid_token", "token_invalid": "invalid_token", "filter_invalid": "invalid_data", "bad_request": "invalid_data", "insufficient_priviledges": "forbidden_request"}
	}
	if r, ok := m[c.Reason]; ok {
		c.Reason = r
	}
	return c
}

// describe returns the table's message or description for a code.
func (srv *Server) describe(c vissspec.ErrorCode) string {
	for _, e := range srv.d.Errors {
		if e.Number == c.Number && e.Reason == c.Reason {
			return e.Message
		}
	}
	for _, e := range srv.d.AccessControl.CoreTokenErrors {
		if e.Number == c.Number && e.Reason == c.Reason {
			return e.Message
		}
	}
	return c.Reason
}

// parseValue checks a set value against the node's datatype and range and
// returns it as a Value; ok is false for a wrong datatype.
func parseValue(n *vss.Node, raw json.RawMessage) (vssmap.Value, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return vssmap.Value{}, false
	}
	switch dt := n.Datatype; {
	case vssmap.IsNumeric(dt):
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return vssmap.Value{}, false
		}
		if vssmap.IsInteger(dt) && f != math.Trunc(f) {
			return vssmap.Value{}, false
		}
		if (n.Min != nil && f < *n.Min) || (n.Max != nil && f > *n.Max) {
			return vssmap.Value{}, false
		}
		if strings.HasPrefix(dt, "uint") && f < 0 {
			return vssmap.Value{}, false
		}
		return vssmap.Value{Kind: "number", Num: f}, true
	case dt == "boolean":
		if s != "true" && s != "false" {
			return vssmap.Value{}, false
		}
		return vssmap.Value{Kind: "boolean", Bool: s == "true"}, true
	case dt == "string":
		if len(n.Allowed) > 0 {
			for _, a := range n.Allowed {
				if a == s {
					return vssmap.Value{Kind: "string", Str: s}, true
				}
			}
			return vssmap.Value{}, false
		}
		return vssmap.Value{Kind: "string", Str: s}, true
	}
	return vssmap.Value{}, false
}

// numeric returns a value as a number (booleans as 1 and 0).
func numeric(v vssmap.Value) (float64, bool) {
	switch v.Kind {
	case "number":
		return v.Num, true
	case "boolean":
		if v.Bool {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}
