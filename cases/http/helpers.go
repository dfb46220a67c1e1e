package httpcases

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// stimulus is one request the harness asked the DUT for over CAN: what it
// is, when it was asked, and the filter that picks its attempts out of the
// recorder.
type stimulus struct {
	// what names the expected request in failure messages.
	what string
	// id is the request ID of an upload (its attempts carry it in their
	// file names); 0 for other stimuli.
	id    uint32
	since time.Time
	keep  func(harness.Attempt) bool
}

// attempts returns the stimulus's attempts so far.
func (st stimulus) attempts(r *harness.Run) []harness.Attempt { return r.Recorder.Attempts(st.keep) }

// triggerUpload asks the DUT over CAN for an upload with a fresh request
// ID; its attempts are those whose file name carries that ID (Appendix 1
// §2 <request ID>).
func (s *suite) triggerUpload(ctx context.Context, realTime bool) stimulus {
	id := harness.NextRequestID()
	since := time.Now()
	Expect(s.r().TriggerUpload(ctx, bench.UploadTrigger{RealTime: realTime, Trigger: 'c', RequestID: id})).To(Succeed(), "putting the upload trigger on the bus")
	return stimulus{
		what:  fmt.Sprintf("an upload (POST /files/{filename}) whose file name carries request ID %d (Appendix 1 §2)", id),
		id:    id,
		since: since,
		keep:  harness.UploadOf(id),
	}
}

// awaitFirst waits (spec time) for the stimulus's first attempt. When none
// comes it fails with the requirement, what was expected and what reached
// the center instead (nothing, or requests that are not the stimulus's,
// e.g. a file name with the request ID in another form).
func (s *suite) awaitFirst(req harness.Requirement, st stimulus, within time.Duration) harness.Attempt {
	return s.awaitAttempts(req, st, 1, within)[0]
}

// awaitAttempts waits (spec time) until the stimulus has n attempts and
// returns them; see awaitFirst for the failure.
func (s *suite) awaitAttempts(req harness.Requirement, st stimulus, n int, within time.Duration) []harness.Attempt {
	run := s.r()
	deadline := time.Now().Add(run.Clock.Patience(within))
	for {
		got := st.attempts(run)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			exp := st.what + fmt.Sprintf(" within %v (spec time) of the CAN stimulus", within)
			if n > 1 {
				exp = fmt.Sprintf("%d attempts of %s (waited %v of spec time for attempt #%d)", n, st.what, within, n)
			}
			act := arrivedSince(run, st.since, st.keep)
			if st.id != 0 && strings.Contains(act, "POST /files/") {
				act = fmt.Sprintf("no upload whose file name carries request ID %d (the A1.2 spec judges the names); ", st.id) + act
			}
			if len(got) > 0 {
				act = fmt.Sprintf("%d attempt(s) of it:\n%s", len(got), harness.Timeline(got, run.Clock))
			}
			Fail(harness.Verdict(req, exp, act))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// arrivedSince says what reached the harness's center since t that keep
// does not select: the "Actual" of a request that never came.
func arrivedSince(r *harness.Run, t time.Time, keep func(harness.Attempt) bool) string {
	other := r.Recorder.Attempts(func(a harness.Attempt) bool { return !a.ReceivedAt.Before(t) && (keep == nil || !keep(a)) })
	if len(other) == 0 {
		if n := len(r.Recorder.Connections(t)); n > 0 {
			return fmt.Sprintf("no request at all reached the center (%d connection(s) came, no request on them)", n)
		}
		return "nothing reached the center: no connection, no request"
	}
	return fmt.Sprintf("none of it; %d other request(s) did arrive:\n%s", len(other), harness.Timeline(other, r.Clock))
}

// awaitAnswered waits (spec time) until attempt i (0-based) of the
// stimulus has been answered by the center and returns it.
func (s *suite) awaitAnswered(req harness.Requirement, st stimulus, i int, within time.Duration) harness.Attempt {
	run := s.r()
	deadline := time.Now().Add(run.Clock.Patience(within))
	s.awaitAttempts(req, st, i+1, within)
	for {
		got := st.attempts(run)
		if !got[i].AnsweredAt.IsZero() {
			return got[i]
		}
		if time.Now().After(deadline) {
			Fail(harness.Verdict(req, fmt.Sprintf("attempt #%d of %s answered by the center within %v (spec time)", i+1, st.what, within),
				"still unanswered (the DUT neither took the answer nor gave up); attempts:\n"+harness.Timeline(got, run.Clock)))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// expectStatus fails unless the center answered a with want.
func expectStatus(req harness.Requirement, a harness.Attempt, want int, why string) {
	if a.Status != want {
		detail := ""
		if a.DecodeErr != "" {
			detail = " (" + a.DecodeErr + ")"
		}
		Fail(harness.Verdict(req, fmt.Sprintf("the center answers %d (%s)", want, why), fmt.Sprintf("%s: %s%s", a.Request(), a.Outcome(), detail)))
	}
}

// expectProto fails unless a came over this suite's HTTP version.
func (s *suite) expectProto(req harness.Requirement, a harness.Attempt) {
	if a.Proto != s.v.Proto {
		Fail(harness.Verdict(req, fmt.Sprintf("%s, the only protocol the center offers in ALPN (%s)", s.v.Proto, s.v.ALPN),
			fmt.Sprintf("%s %s over %s (ALPN %q)", a.Method, a.Path, a.Proto, a.Handshake.ALPN)))
	}
}

// idHeader is the vehicle identifier a DUT must send and the header it
// goes in: vehicle_id unless the profile reads I-038 otherwise
// (spec.vehicle_id_header).
type idHeader struct{ vin, header string }

// vehicleIDOf is the run's vehicle identifier header.
func vehicleIDOf(run *harness.Run) idHeader {
	return idHeader{vin: run.Profile.DUT.VIN, header: run.Spec.Options.VehicleIDHeader}
}

// expectVehicleID fails unless every attempt carries the vehicle
// identifier header (vehicle_id, or the profile's reading of I-038) with
// vin exactly once (7.2.2.3, 7.3: "for all communications").
func expectVehicleID(req harness.Requirement, attempts []harness.Attempt, id idHeader) {
	var bad []string
	for i, a := range attempts {
		if got := a.Header.Values(id.header); len(got) != 1 || got[0] != id.vin {
			bad = append(bad, fmt.Sprintf("attempt #%d (%s %s): %s %q", i+1, a.Method, a.Path, id.header, got))
		}
	}
	if len(bad) > 0 {
		Fail(harness.Verdict(req, fmt.Sprintf("%s: %s on every attempt (%d)", id.header, id.vin, len(attempts)), strings.Join(bad, "\n")))
	}
}

// speak makes the harness's center offer only this suite's HTTP version.
func (s *suite) speak() {
	s.r().Center.SetALPN(s.v.ALPN)
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// settleAfter makes the spec, once it has ended (passed or failed), let
// the DUT finish with st before the next spec: it returns once no attempt
// of st has started for quiet (spec time), or after limit. It judges
// nothing; it keeps a DUT that is still retrying (wrongly, or by a rule
// longer than the spec watched) from looking mute to the specs after it.
func (s *suite) settleAfter(st stimulus, quiet, limit time.Duration) {
	DeferCleanup(func() {
		run := s.r()
		end := time.Now().Add(run.Clock.Wall(limit))
		for time.Now().Before(end) {
			as := st.attempts(run)
			if len(as) == 0 {
				return
			}
			last := as[len(as)-1]
			if !last.AnsweredAt.IsZero() && run.Clock.Spec(time.Since(last.Start())) >= quiet {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
