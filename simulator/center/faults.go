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
	// (HTTP path, gRPC full method, MQTT topic).
	PathPrefix string
}

func (f Fault) String() string {
	switch {
	case f.Drop:
		return fmt.Sprintf("drop x%d", f.Times)
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
