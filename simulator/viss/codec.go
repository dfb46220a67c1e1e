package viss

import (
	"encoding/json"
	"net/http"
	"time"
)

// codec is one dialect's wire form: it parses requests and writes
// responses and events (v3: data/dp/ts; Gen2: value/timestamp).
type codec interface {
	// parse reads one message of a message transport; on error the
	// request carries what could be read (action, requestId).
	parse(raw []byte) (*request, *verr)
	// parseHTTP reads one HTTPS request (GET: get, POST: set).
	parseHTTP(r *http.Request) (*request, *verr)
	response(req *request, res *result) []byte
	errorResponse(req *request, e *verr) []byte
	// httpBody is the body of an HTTPS answer (without action and
	// requestId).
	httpBody(req *request, res *result, e *verr) []byte
	// events returns the messages of one trigger (Gen2: one per path).
	events(sub *subscription, data []pathData, now time.Time) [][]byte
}

// ts writes a timestamp of the dialect (ts-no-z quirk: an offset instead
// of Z).
func (srv *Server) ts(t time.Time) string {
	s := formatTS(t)
	if srv.svc.quirks.Has("ts-no-z") {
		s = s[:len(s)-1] + "+00:00"
	}
	return s
}

// echo returns the request ID to answer with.
func (srv *Server) echo(req *request) any {
	if req == nil || req.requestID == nil {
		return nil
	}
	if srv.svc.quirks.Has("requestid-not-echoed") {
		return "0"
	}
	return req.requestID
}

// errorObject writes an error of the dialect (I-262).
func (srv *Server) errorObject(e *verr) map[string]any {
	var num any = e.code.Number
	if srv.d.ErrorObject.NumberType == "string" {
		num = itoa(e.code.Number)
	}
	if srv.svc.quirks.Has("error-number-wrong-type") {
		if _, isInt := num.(int); isInt {
			num = itoa(e.code.Number)
		} else {
			num = e.code.Number
		}
	}
	return map[string]any{"number": num, "reason": e.code.Reason, srv.d.ErrorObject.MessageKey: e.desc}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// obj is an ordered-enough JSON object (encoding/json sorts map keys).
type obj = map[string]any

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendJSONValue appends a wire value (a string, or anything else through
// encoding/json).
func appendJSONValue(b []byte, v any) []byte {
	if s, ok := v.(string); ok {
		return appendJSONString(b, s)
	}
	return append(b, mustMarshal(v)...)
}
