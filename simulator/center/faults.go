package center

import (
	"fmt"
	"net/http"
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
}

func (f Fault) String() string {
	switch {
	case f.Drop:
		return fmt.Sprintf("drop x%d", f.Times)
	case f.Reset:
		return fmt.Sprintf("RST_STREAM x%d", f.Times)
	case f.AppStatus != 0:
		return fmt.Sprintf("application status %d (retry_after_sec %d) x%d", f.AppStatus, f.RetryAfterSec, f.Times)
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

// Provides returns true for OnRequest only.
func (p *FaultPlan) Provides(e Event) bool { return e == OnRequest }

// Set replaces every step.
func (p *FaultPlan) Set(steps ...Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.steps = append([]Fault(nil), steps...)
}

// Reset removes every step.
func (p *FaultPlan) Reset() { p.Set() }

// OnRequest answers from the first step that matches x, using one of its
// Times.
func (p *FaultPlan) OnRequest(x *Exchange) Answer {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.steps {
		f := &p.steps[i]
		if f.PathPrefix != "" && !strings.HasPrefix(x.Path, f.PathPrefix) ||
			f.Protocol != "" && f.Protocol.Or() != x.Protocol.Or() ||
			f.Method != "" && !strings.EqualFold(f.Method, x.Method) {
			continue
		}
		if f.Times == 0 {
			continue
		}
		if f.Times > 0 {
			f.Times--
		}
		if f.Drop {
			return Answer{Drop: true, Stall: f.Stall, By: p.ID()}
		}
		if x.Protocol.Or() != ProtoHTTP {
			// Another protocol's frontend builds its own answer from the
			// step: no HTTP Result body.
			return Answer{Status: f.Status, Code: f.Code, Message: f.Message, Header: f.Header.Clone(), Stall: f.Stall,
				AppStatus: f.AppStatus, RetryAfterSec: f.RetryAfterSec, Reset: f.Reset, GoAway: f.GoAway, By: p.ID()}
		}
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		a := resultAnswer(status, fmt.Sprintf("fault plan: %s", f))
		a.Code, a.Message = f.Code, f.Message
		a.Stall = f.Stall
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
