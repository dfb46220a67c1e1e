package center

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is one step of a fault plan, the same shape for every protocol:
// answer the next Times matching exchanges (Times < 0: every one until the
// plan is reset) with Status (HTTP) or Code (gRPC, MQTT), or stall them for
// Stall (wall time), or drop the connection.
//
// For gRPC (Protocol ProtoGRPC, PathPrefix a method such as
// /CanService/SendCans): Code answers with that grpc-status; AppStatus with
// code 0 and that application status; Status (not 0 or 200) with a raw
// HTTP status and no grpc-status; Reset with RST_STREAM; Drop by closing
// the connection. A step with none of these lets the service answer, with
// the step's Header (a set-cookie, say), Stall and GoAway applied.
type Fault struct {
	// Times is how many exchanges this step answers; negative means all.
	Times int
	// Protocol, when set, limits the step to exchanges of that protocol.
	Protocol Protocol
	// Method, when set, limits the step to exchanges with that method
	// (HTTP method; MQTT packet type such as PUBLISH or CONNECT).
	Method string
	// Status is the HTTP status to answer with (any code of Table 7-8; for
	// gRPC a raw HTTP status without grpc-status when not 0 or 200).
	Status int
	// Code is the gRPC status code (Table 7-20) or MQTT reason code (Tables
	// 7-21 to 7-24) to answer with; Message goes with it.
	Code    int
	Message string
	// Reason replaces the reason phrase (HTTP/1.1).
	Reason string
	// Header is added to the answer (e.g. a Set-Cookie).
	Header http.Header
	// Stall holds each request this long (wall time) before answering.
	Stall time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// Withhold sends no answer at all and keeps the connection open, so
	// that the DUT's own wait decides (the 30 s ACK waits of 7.2.5.5: an
	// MQTT CONNACK, PUBACK, SUBACK or UNSUBACK never comes). Over HTTP it
	// holds the request until the client goes away.
	Withhold bool
	// Disconnect answers with the protocol's own close carrying Code: an
	// MQTT DISCONNECT with reason code Code (and Message as its Reason
	// String), then the connection is closed.
	Disconnect bool
	// PathPrefix, when set, limits the step to exchanges whose path has it
	// (HTTP path, gRPC full method such as /CanService/SendCans, MQTT topic).
	PathPrefix string
	// AppStatus answers a gRPC call with code 0 and this application status
	// in the response message (1 RETRYAFTER with RetryAfterSec, 2 BUSY).
	AppStatus     int
	RetryAfterSec uint32
	// Reset resets the call's stream (HTTP/2 RST_STREAM) instead of an
	// answer; GoAway sends GOAWAY on the call's connection after the answer
	// (gRPC).
	Reset  bool
	GoAway bool
	// Service, when set, limits the step to the requests of that mounted
	// service (Exchange.Service, e.g. "exve"); "" matches every request.
	Service string
	// Delay holds each matching request this long (wall time) and then
	// lets the rest of the plan and the center answer it as usual: a slow
	// link or a slow peer. Unlike Stall, the API still answers.
	Delay time.Duration
	// RateLimit, when set, makes the step a rate-limit window (see
	// RateWindow): matching requests within the limit pass with the
	// X-Rate-Limit-* headers added to their answer; one over it is
	// answered 429 with the headers. Times is not used.
	RateLimit *RateWindow
	// Outbound makes the step apply to requests the center itself sends
	// (OnOutbound: a push to a vehicle) instead of those it receives: Drop
	// says the peer cannot be reached, Delay that it is slow, Status that
	// it answers with that code.
	Outbound bool
}

func (f Fault) String() string {
	switch {
	case f.RateLimit != nil:
		return fmt.Sprintf("rate limit %d per %v", f.RateLimit.Limit, f.RateLimit.Window)
	case f.Delay > 0 && f.Status == 0 && !f.Drop:
		return fmt.Sprintf("delay %v x%d", f.Delay, f.Times)
	case f.Drop:
		return fmt.Sprintf("drop x%d", f.Times)
	case f.Reset:
		return fmt.Sprintf("RST_STREAM x%d", f.Times)
	case f.AppStatus != 0:
		return fmt.Sprintf("application status %d (retry_after_sec %d) x%d", f.AppStatus, f.RetryAfterSec, f.Times)
	case f.Withhold:
		return fmt.Sprintf("withhold the answer x%d", f.Times)
	case f.Disconnect:
		return fmt.Sprintf("%s disconnect with code 0x%02X x%d", f.Protocol, f.Code, f.Times)
	case f.Stall > 0 && f.Protocol.Or() != ProtoHTTP:
		return fmt.Sprintf("stall %v then %s code %d x%d", f.Stall, f.Protocol, f.Code, f.Times)
	case f.Stall > 0:
		return fmt.Sprintf("stall %v then %d x%d", f.Stall, f.Status, f.Times)
	case f.Protocol.Or() != ProtoHTTP:
		return fmt.Sprintf("%s code %d x%d", f.Protocol, f.Code, f.Times)
	}
	return fmt.Sprintf("status %d x%d", f.Status, f.Times)
}

// FaultPlan is a hook that answers requests from a queue of Faults, in
// order; when the queue is empty the API answers. It is safe for concurrent
// use and may be changed while the center serves.
type FaultPlan struct {
	HookBase
	mu    sync.Mutex
	steps []Fault
}

// NewFaultPlan returns a plan with the given steps.
func NewFaultPlan(steps ...Fault) *FaultPlan { return &FaultPlan{steps: steps} }

// ID returns "fault-plan".
func (p *FaultPlan) ID() string { return "fault-plan" }

// Provides returns true for OnRequest and OnOutbound.
func (p *FaultPlan) Provides(e Event) bool { return e == OnRequest || e == OnOutbound }

// Set replaces every step.
func (p *FaultPlan) Set(steps ...Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.steps = append([]Fault(nil), steps...)
}

// Reset removes every step.
func (p *FaultPlan) Reset() { p.Set() }

// OnRequest answers from the first step that matches x, using one of its
// Times. A step that only delays, or a rate-limit window with requests
// left, lets the request pass on to the next steps and the center.
func (p *FaultPlan) OnRequest(x *Exchange) Answer {
	var delay time.Duration
	defer func() {
		if delay > 0 {
			time.Sleep(delay) // outside the lock: other requests go on
		}
	}()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.steps {
		f := &p.steps[i]
		if f.Outbound || f.PathPrefix != "" && !strings.HasPrefix(x.Path, f.PathPrefix) ||
			f.Protocol != "" && f.Protocol.Or() != x.Protocol.Or() ||
			f.Method != "" && !strings.EqualFold(f.Method, x.Method) ||
			f.Service != "" && f.Service != x.Service {
			continue
		}
		if f.RateLimit != nil {
			if a, limited := f.RateLimit.take(x, time.Now()); limited {
				a.By = p.ID()
				return a
			}
			continue
		}
		if f.Times == 0 {
			continue
		}
		if f.Times > 0 {
			f.Times--
		}
		if f.Delay > 0 && f.Status == 0 && !f.Drop {
			delay += f.Delay
			continue
		}
		if f.Drop {
			return Answer{Drop: true, Stall: f.Stall, By: p.ID()}
		}
		if x.Protocol.Or() != ProtoHTTP {
			// Another protocol's frontend builds its own answer from the
			// step: no HTTP Result body.
			return Answer{Status: f.Status, Code: f.Code, Message: f.Message, Header: f.Header.Clone(), Stall: f.Stall,
				AppStatus: f.AppStatus, RetryAfterSec: f.RetryAfterSec, Reset: f.Reset, GoAway: f.GoAway,
				Withhold: f.Withhold, Disconnect: f.Disconnect, Reason: f.Reason, By: p.ID()}
		}
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		a := resultAnswer(status, fmt.Sprintf("fault plan: %s", f))
		a.Code, a.Message = f.Code, f.Message
		a.Stall = f.Stall
		a.Withhold, a.Disconnect = f.Withhold, f.Disconnect
		a.Reason = f.Reason
		for k, vs := range f.Header {
			for _, v := range vs {
				a.Header.Add(k, v)
			}
		}
		a.By = p.ID()
		return a
	}
	return Answer{}
}

// OnOutbound answers a request the center is about to send from the first
// Outbound step that matches it (PathPrefix against o.Path), using one of
// its Times: Drop (the peer is unreachable), Status (the peer's answer), or
// Delay (the request goes out that much later).
func (p *FaultPlan) OnOutbound(o *Outbound) Answer {
	p.mu.Lock()
	var a Answer
	for i := range p.steps {
		f := &p.steps[i]
		if !f.Outbound || f.Times == 0 || f.PathPrefix != "" && !strings.HasPrefix(o.Path, f.PathPrefix) {
			continue
		}
		if f.Times > 0 {
			f.Times--
		}
		a = Answer{Status: f.Status, Drop: f.Drop, Stall: f.Delay, By: p.ID()}
		break
	}
	p.mu.Unlock()
	if a.Stall > 0 {
		time.Sleep(a.Stall)
		a.Stall = 0
	}
	return a
}

// RateWindow is a rate limit in fixed windows of Window (wall time): at
// most Limit matching requests per key and window pass (register I-223,
// ISO 20078-2 4.8). Key, when set, groups requests that share a limit (by
// accessing party and resource, say); nil: all share one. Its counters are
// its own; a RateWindow must not be shared by two steps.
type RateWindow struct {
	Limit  int
	Window time.Duration
	Key    func(*Exchange) string

	mu     sync.Mutex
	counts map[string]*rateCount
}

type rateCount struct {
	start time.Time
	n     int
}

// take counts x and returns the 429 answer when x is over the limit;
// otherwise it adds the X-Rate-Limit-* headers to x's answer.
func (w *RateWindow) take(x *Exchange, now time.Time) (Answer, bool) {
	key := ""
	if w.Key != nil {
		key = w.Key(x)
	}
	h, ok := w.Take(key, now)
	if !ok {
		a := resultAnswer(http.StatusTooManyRequests, fmt.Sprintf("fault plan: rate limit of %d requests per %v exceeded", w.Limit, w.Window))
		for k, vs := range h {
			a.Header[k] = vs
		}
		return a, true
	}
	if x.ReplyHeader == nil {
		x.ReplyHeader = http.Header{}
	}
	for k, vs := range h {
		x.ReplyHeader[k] = vs
	}
	return Answer{}, false
}

// Take counts one request of key at now in its window and returns the
// X-Rate-Limit-Limit, -Remaining and -Reset headers (ISO 20078-2 4.8;
// Reset is the window's end in Unix seconds, rounded up) and whether the
// request is within the limit. A request over the limit is not counted.
func (w *RateWindow) Take(key string, now time.Time) (http.Header, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.counts == nil {
		w.counts = map[string]*rateCount{}
	}
	c := w.counts[key]
	if c == nil || now.Sub(c.start) >= w.Window {
		c = &rateCount{start: now}
		w.counts[key] = c
	}
	end := c.start.Add(w.Window)
	reset := end.Unix()
	if end.After(time.Unix(reset, 0)) {
		reset++ // the window's end rounded up to a whole second
	}
	h := http.Header{}
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(w.Limit))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(reset, 10))
	if c.n >= w.Limit {
		h.Set("X-Rate-Limit-Remaining", "0")
		return h, false
	}
	c.n++
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(w.Limit-c.n))
	return h, true
}
