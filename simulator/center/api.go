package center

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/icoc-dev/icoc/spec/openapi"
)

// Result is the body the APIs of 7.2.2.9 answer with (components.schemas.Result).
type Result struct {
	// Status is "SUCCESS" or "ERROR".
	Status string `json:"status"`
	// Messages explain the status; an ERROR carries at least one.
	Messages []string `json:"messages"`
}

// Result status values of the seed's Result schema.
const (
	ResultSuccess = "SUCCESS"
	ResultError   = "ERROR"
)

func init() {
	registerQuirk(QuirkInfo{Name: "no-vehicle-id-check", Clause: "7.2.2.9.1, 7.3, 6.4", Breaks: "accepts a request whose vehicle_id header is missing, malformed or not the client's VIN"})
	registerQuirk(QuirkInfo{Name: "any-media-type", Clause: "7.2.2.3, 7.2.2.9.1", Breaks: "accepts a request body of any media type"})
	registerQuirk(QuirkInfo{Name: "catch-all-path", Clause: "7.2.2.9", Breaks: "answers 200 SUCCESS on a path no API has"})
	registerQuirk(QuirkInfo{Name: "no-result-body", Clause: "7.2.2.9.1", Breaks: "answers without the Result body of the API documents"})
	registerQuirk(QuirkInfo{Name: "ignore-bad-gzip", Clause: "Appendix 1 §1", Breaks: "stores a body that claims gzip but is not, as it came"})
}

// resultAnswer builds an answer with a Result body: SUCCESS for 2xx, ERROR
// otherwise.
func resultAnswer(status int, messages ...string) Answer {
	r := Result{Status: ResultSuccess, Messages: messages}
	if status < 200 || status > 299 {
		r.Status = ResultError
	}
	if r.Messages == nil {
		r.Messages = []string{}
	}
	body, _ := json.Marshal(r)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return Answer{Status: status, Header: h, Body: body, By: "api"}
}

// apiFunc handles one API route: it works on the Exchange (whole body
// already read) and returns the Answer; path values come from pv.
type apiFunc func(x *Exchange, pv func(string) string) Answer

type slotKey struct{}

// answerSlot carries the Exchange into a mux handler and its Answer out.
type answerSlot struct {
	x *Exchange
	a Answer
}

// routes maps each API path of 7.2.2.9 to its handler.
func (s *Server) routes() {
	s.handle("POST /files/{filename}", s.upload)
	s.handle("POST /api/{number}", s.apiCall)
	s.handle("GET /download/{filename}", s.download)
}

func (s *Server) handle(pattern string, f apiFunc) {
	s.mux.HandleFunc(pattern, func(_ http.ResponseWriter, r *http.Request) {
		slot := r.Context().Value(slotKey{}).(*answerSlot)
		slot.a = f(slot.x, r.PathValue)
	})
}

// api answers x from the API routes. The request is first validated
// against the OpenAPI documents of 7.2.2.9 (spec/openapi): a path no
// document has gets 404, a method it lacks 405, a media type it does not
// take 415, any other breach (a missing or malformed vehicle_id, ...) 400;
// each with an ERROR Result that says what is wrong.
func (s *Server) api(x *Exchange, r *http.Request) Answer {
	if x.Path == OTPPath {
		return s.otp(x) // 7.2.5.7, not an OpenAPI document's path
	}
	rt, err := openapi.Find(r)
	switch {
	case err != nil && s.apiQuirks.Has("catch-all-path"):
		return resultAnswer(http.StatusOK, "accepted")
	case errors.Is(err, openapi.ErrMethod):
		return resultAnswer(http.StatusMethodNotAllowed, "method "+x.Method+" not allowed on "+x.Path)
	case err != nil:
		return resultAnswer(http.StatusNotFound, "no API at "+x.Path)
	}
	if err := rt.ValidateRequest(r.Context(), s.openAPIView(r), x.Body); err != nil {
		msg := err.Error()
		status := http.StatusBadRequest
		if strings.Contains(msg, "header Content-Type has unexpected value") {
			status = http.StatusUnsupportedMediaType
		}
		quirked := status == http.StatusUnsupportedMediaType && s.apiQuirks.Has("any-media-type") ||
			strings.Contains(msg, `"vehicle_id"`) && s.apiQuirks.Has("no-vehicle-id-check")
		if !quirked {
			return resultAnswer(status, fmt.Sprintf("%s (OpenAPI %s, operation %s)", oneLine(err), rt.Doc.Name, rt.OperationID))
		}
	}
	slot := &answerSlot{x: x}
	sw := &statusWriter{h: http.Header{}}
	s.mux.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), slotKey{}, slot)))
	if slot.a.Status != 0 {
		return slot.a
	}
	switch sw.status {
	case http.StatusMethodNotAllowed:
		return resultAnswer(sw.status, "method "+x.Method+" not allowed on "+x.Path)
	default:
		return resultAnswer(http.StatusNotFound, "no API at "+x.Path)
	}
}

// openAPIView is r as the OpenAPI documents see it. They name the vehicle
// identifier vehicle_id with 17 characters, the register's default
// readings (I-038, I-001); under other readings (Config.VehicleIDHeader,
// VehicleIDLength) checkVehicleID judges the identifier, and the documents
// see a placeholder of their own form in its place, so that they judge the
// rest of the request only.
func (s *Server) openAPIView(r *http.Request) *http.Request {
	const docHeader, docLength = "vehicle_id", 17
	if http.CanonicalHeaderKey(s.cfg.VehicleIDHeader) == http.CanonicalHeaderKey(docHeader) && s.cfg.VehicleIDLength == docLength {
		return r
	}
	r2 := r.Clone(r.Context())
	r2.Header.Del(docHeader)
	if r.Header.Get(s.cfg.VehicleIDHeader) != "" {
		r2.Header.Set(docHeader, strings.Repeat("0", docLength))
	}
	return r2
}

// statusWriter notes the status the mux chose for an unrouted request.
type statusWriter struct {
	h      http.Header
	status int
}

func (w *statusWriter) Header() http.Header         { return w.h }
func (w *statusWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *statusWriter) WriteHeader(code int)        { w.status = code }

// oneLine folds a multi-line validation error into one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
