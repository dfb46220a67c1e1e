package can_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/netfault"
	"github.com/icoc-dev/icoc/simulator/center"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var centerAwayName = harness.SpecName("7.2.2.6",
	"CAN data: while the center answers 503 for three minutes, then while the link to it is dead for five, the DUT keeps the data and retries within the rules; once the center is back every frame arrives once, in order")

// The dead-link phase runs against every DUT: through the fault proxy in
// the reference vehicle's path, and against a real DUT with the harness's
// center playing the dead link (killLink).
//
// 7.2.2.6 Retry Specification: "Data upload (in-Car unit -> Center)
// Real-time response Not required: Number of retries 2, Retry interval
// 1min". Table 7-8: 503 Service Unavailable, Retry "Yes". Table 5-1:
// "Uploading CAN data: Periodic uploads (every minute)". 7.2.2.5: "the
// retransmission interval should be extended" after a timeout (the dead
// link: no answer at all). Retries are judged per request, a request being
// one file (its name), not per connection: a new file's first attempt may
// follow another file's last failed retry at once (register I-065).
var _ = Describe("7.2.2.6 Retry while the center is away", func() {
	It(centerAwayName, harness.Labels(harness.CAN, harness.HTTP1, harness.VehicleDUT, harness.Slow), harness.SpecTime(12*time.Minute), func(ctx SpecContext) {
		run.Requires("data-upload")
		// The run's rule (the profile's spec: section applied), resolved
		// here: the tree is built before the profile is known.
		rule, ok := run.Spec.RetryRuleFor("upload-non-realtime")
		Expect(ok).To(BeTrue(), "7.2.2.6 has no rule upload-non-realtime")
		req := harness.Requirement{Clause: "7.2.2.6 (upload, real-time not required; I-065); Table 7-8 503; Table 5-1",
			Rule: fmt.Sprintf("Number of retries %d, Retry interval %v; 503 Service Unavailable: Retry Yes; CAN data uploaded periodically", rule.Retries, rule.Interval)}
		tol := run.Profile.Tolerance
		since := time.Now()
		frames := harness.CANData(3000, salt())
		// Every file's attempts so far must keep the rule: checked while the
		// spec waits, so a DUT that retries too often fails at once.
		perFile := func() {
			files := run.Recorder.Attempts(after(since, dataFiles))
			if why := judgeFiles(files, rule.Retries, rule.Interval, tol); why != "" {
				Fail(harness.Verdict(req, fmt.Sprintf("for each file (one request): at most %d attempts (1 + %d retries), each retry at least %v (spec time, -%v) after the answer to the attempt before",
					rule.Retries+1, rule.Retries, rule.Interval, tol.Allowed(rule.Interval)), why+"\n"+fileTimeline(files)))
			}
		}

		// Phase 1. Center up: some data.
		sent := sendBursts(ctx, frames[:300], 100, 5*time.Second)
		// Center away: every upload answered 503 for three minutes of spec
		// time while the bus keeps talking.
		away := time.Now()
		run.Faults.Set(center.Fault{Times: -1, Status: 503, PathPrefix: "/files/"})
		sent = append(sent, sendBursts(ctx, frames[300:1500], 100, 15*time.Second)...)
		waitWatching(ctx, 3*time.Minute-run.Clock.Spec(time.Since(away)), perFile)
		back := time.Now()
		run.Faults.Reset()
		sent = append(sent, sendBursts(ctx, frames[1500:1800], 100, 5*time.Second)...)

		d := awaitDelivery(ctx, since, sent, 3*time.Minute+tol.Allowed(3*time.Minute), perFile)
		perFile()
		outage := run.Recorder.Attempts(func(a harness.Attempt) bool {
			return dataFiles(a) && !a.ReceivedAt.Before(away) && a.ReceivedAt.Before(back) && a.Status == 503
		})
		if len(outage) == 0 {
			Fail(harness.Verdict(req, "upload attempts (answered 503) during three minutes of 503s", "none; "+arrivedSince(away, nil)))
		}
		if !d.OK() {
			Fail(harness.Verdict(req, "after the 503s ended, every frame once, in order, with its data", deliveryActual(d, since)))
		}

		// Phase 2: the link dies: the DUT's connections open, but nothing it
		// sends arrives and nothing comes back. Each connection the DUT
		// opens shows at the center as a connection with no handshake, so
		// files cannot be told apart: judged by I-065's count instead.
		dead := time.Now()
		relink := killLink()
		sent = append(sent, sendBursts(ctx, frames[1800:2700], 100, 30*time.Second)...)
		run.Wait(ctx, 5*time.Minute-run.Clock.Spec(time.Since(dead)))
		relink()
		relinked := time.Now()
		sent = append(sent, sendBursts(ctx, frames[2700:], 100, 5*time.Second)...)

		// After the link is back the DUT may be sleeping its longest
		// retransmission interval, then waits a retry interval and the
		// periodic minute.
		within := run.Spec.RetransmissionInterval(rule.Interval, rule.Retries+1) + rule.Interval + 2*time.Minute
		d = awaitDelivery(ctx, since, sent, within+tol.Allowed(within), perFile)
		reportLatency(d)
		perFile()

		var tries []time.Time
		for _, c := range run.Recorder.Connections(dead) {
			if c.AcceptedAt.Before(relinked) {
				tries = append(tries, c.AcceptedAt)
			}
		}
		if len(tries) == 0 {
			Fail(harness.Verdict(req, "connection attempts during five minutes of dead link", "none"))
		}
		if why := judgeDeadLink(tries, rule.Retries, rule.Interval-tol.Allowed(rule.Interval)); why != "" {
			Fail(harness.Verdict(req, fmt.Sprintf("each retry at least the retry interval %v after the attempt before; a connection sooner than that only as a new request's first attempt, after the %d attempts of the one before (I-065)", rule.Interval, rule.Retries+1),
				why+"\n"+connTimeline(tries, dead)))
		}
		if !d.OK() {
			Fail(harness.Verdict(req, "after the link came back, every frame since the start once, in order, with its data", deliveryActual(d, since)))
		}
	})
})

// killLink makes the link between the DUT and the harness's center dead
// and returns what brings it back. Where the run has a fault proxy in the
// DUT's path (the reference vehicle), the proxy holds every byte the DUT
// sends (toxiproxy's timeout toxic). A real DUT reaches the center
// directly, so the center plays the dead link itself: it accepts each
// connection and never answers the ClientHello, and holds without an
// answer any request on a connection the DUT kept from before; on the
// DUT's side of the wire that is the same silence.
func killLink() (relink func()) {
	if run.Link != nil {
		Expect(run.Link.Add(netfault.NoResponse("dead-link", netfault.Upstream))).To(Succeed())
		DeferCleanup(run.Link.Clear)
		return func() { Expect(run.Link.Remove("dead-link")).To(Succeed()) }
	}
	run.Center.SetHandshakeFault(center.HandshakeSilent)
	run.Faults.Set(center.Fault{Times: -1, Stall: run.Clock.Wall(5 * time.Minute)})
	back := func() {
		run.Center.SetHandshakeFault(center.HandshakeNormal)
		run.Faults.Reset()
	}
	DeferCleanup(back)
	return back
}

// judgeFiles checks the attempts of each request (harness.ByRequest: for
// an upload, its file name; I-065): at most 1 + retries attempts, each retry
// at least the interval (less the tolerance) after the answer to the
// attempt before. It returns what breaks the rule, or "".
func judgeFiles(attempts []harness.Attempt, retries int, interval time.Duration, tol harness.Tolerance) string {
	for _, as := range harness.ByRequest(attempts) {
		if len(as) > 1+retries {
			return fmt.Sprintf("%s: %d attempts, more than 1 + %d retries", as[0].Key, len(as), retries)
		}
		for i := 1; i < len(as); i++ {
			if as[i-1].AnsweredAt.IsZero() {
				continue // under way when the recorder was read
			}
			gap := run.Clock.Spec(as[i].Start().Sub(as[i-1].AnsweredAt))
			if gap < interval-tol.Allowed(interval) {
				return fmt.Sprintf("%s: retry #%d came %v (spec time) after attempt #%d ended (%s); the retry interval is %v", as[0].Key, i, gap.Round(time.Millisecond), i, as[i-1].Outcome(), interval)
			}
		}
	}
	return ""
}

// judgeDeadLink checks the connection times of a dead link, where requests
// cannot be told apart (I-065): a connection sooner than min after the one
// before is a new request's first attempt, allowed only once the request
// before has made its 1 + retries attempts.
func judgeDeadLink(tries []time.Time, retries int, min time.Duration) string {
	n := 1 // connections of the current request
	for i := 1; i < len(tries); i++ {
		gap := run.Clock.Spec(tries[i].Sub(tries[i-1]))
		if gap >= min {
			n++
			continue
		}
		if n < 1+retries {
			return fmt.Sprintf("connection #%d came %v (spec time) after #%d, the request before having made only %d attempt(s)", i+1, gap.Round(time.Millisecond), i, n)
		}
		n = 1
	}
	return ""
}

// fileTimeline renders the attempts grouped by request (file).
func fileTimeline(attempts []harness.Attempt) string {
	if len(attempts) == 0 {
		return "  (no attempt recorded)"
	}
	t0 := attempts[0].Start()
	var b strings.Builder
	for _, as := range harness.ByRequest(attempts) {
		var at []string
		for _, a := range as {
			at = append(at, fmt.Sprintf("%.1fs -> %s", run.Clock.Spec(a.Start().Sub(t0)).Seconds(), a.Outcome()))
		}
		fmt.Fprintf(&b, "  %s: %s\n", as[0].Key, strings.Join(at, ", "))
	}
	return strings.TrimRight(b.String(), "\n")
}

// centerAwayVariants: the next file right after a failed one conforms
// (I-065).
func centerAwayVariants() []harness.VariantCase {
	return []harness.VariantCase{{Variant: "no-hold-after-failure", Specs: []string{centerAwayName}}}
}
