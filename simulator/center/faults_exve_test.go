package center

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// The fault-plan steps the ExVe suites use: a rate-limit window, a delay
// that lets the API answer, a step for one mounted service, and an
// outbound step for the center's own requests.
func TestFaultPlanExVeSteps(t *testing.T) {
	w := &RateWindow{Limit: 2, Window: time.Minute}
	p := NewFaultPlan(Fault{Service: "exve", RateLimit: w})
	x := func(svc string) *Exchange { return &Exchange{Service: svc, Path: "/exve/vehicles"} }
	for i := 1; i <= 2; i++ {
		e := x("exve")
		if a := p.OnRequest(e); a.Status != 0 {
			t.Fatalf("request %d: %+v", i, a)
		}
		if got := e.ReplyHeader.Get("X-Rate-Limit-Remaining"); got != strconv.Itoa(2-i) {
			t.Errorf("request %d: Remaining %q", i, got)
		}
	}
	a := p.OnRequest(x("exve"))
	if a.Status != http.StatusTooManyRequests || a.Header.Get("X-Rate-Limit-Remaining") != "0" {
		t.Errorf("third request: %+v", a)
	}
	reset, _ := strconv.ParseInt(a.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	if reset < time.Now().Unix()+59 || reset > time.Now().Unix()+61 {
		t.Errorf("Reset %d, want about a minute ahead", reset)
	}
	if a := p.OnRequest(x("")); a.Status != 0 {
		t.Errorf("a vehicle API request matched an exve step: %+v", a)
	}

	p = NewFaultPlan(Fault{Delay: 30 * time.Millisecond, Times: 1}, Fault{Outbound: true, PathPrefix: "/push/", Drop: true, Times: 1})
	t0 := time.Now()
	if a := p.OnRequest(x("")); a.Status != 0 || time.Since(t0) < 30*time.Millisecond {
		t.Errorf("delay: %+v after %v", a, time.Since(t0))
	}
	if a := p.OnOutbound(&Outbound{Path: "/push/2078/1"}); !a.Drop {
		t.Errorf("outbound drop: %+v", a)
	}
	if a := p.OnOutbound(&Outbound{Path: "/push/2078/1"}); a.Drop || a.Status != 0 {
		t.Errorf("the outbound step had one time: %+v", a)
	}
}
