package can_test

import (
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/netfault"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var centerAwayName = harness.SpecName("7.2.2.6",
	"CAN data: while the center answers 503 for three minutes, then while the link to it is dead for five, the DUT keeps the data and retries within the rules; once the center is back every frame arrives once, in order")

// 7.2.2.6 Retry Specification: "Data upload (in-Car unit -> Center)
// Real-time response Not required: Number of retries 2, Retry interval
// 1min". Table 7-8: 503 Service Unavailable, Retry "Yes". Table 5-1:
// "Uploading CAN data: Periodic uploads (every minute)". 7.2.2.5: "the
// retransmission interval should be extended" after a timeout (the dead
// link: no answer at all).
var _ = Describe("7.2.2.6 Retry while the center is away", func() {
	It(centerAwayName, harness.Labels(harness.CAN, harness.HTTP1, harness.VehicleDUT, harness.Slow), SpecTimeout(5*time.Minute), func(ctx SpecContext) {
		run.Requires("data-upload")
		rule, ok := spec.RetryRuleFor("upload-non-realtime")
		Expect(ok).To(BeTrue(), "7.2.2.6 has no rule upload-non-realtime")
		req := harness.Requirement{Clause: "7.2.2.6 (upload, real-time not required); Table 7-8 503; Table 5-1",
			Rule: "Number of retries 2, Retry interval 1min; 503 Service Unavailable: Retry Yes; CAN data uploaded periodically"}
		tol := run.Profile.Tolerance
		since := time.Now()
		frames := harness.CANData(3000, salt())

		// Phase 1. Center up: some data.
		sent := sendBursts(ctx, frames[:300], 100, 5*time.Second)
		// Center away: every upload answered 503 for three minutes of spec
		// time while the bus keeps talking.
		away := time.Now()
		run.Faults.Set(center.Fault{Times: -1, Status: 503, PathPrefix: "/files/"})
		sent = append(sent, sendBursts(ctx, frames[300:1500], 100, 15*time.Second)...)
		run.Wait(ctx, 3*time.Minute-run.Clock.Spec(time.Since(away)))
		back := time.Now()
		run.Faults.Reset()
		sent = append(sent, sendBursts(ctx, frames[1500:1800], 100, 5*time.Second)...)

		d := awaitDelivery(ctx, since, sent, 3*time.Minute+tol.Allowed(3*time.Minute))
		outage := run.Recorder.Attempts(func(a harness.Attempt) bool {
			return dataFiles(a) && !a.ReceivedAt.Before(away) && a.ReceivedAt.Before(back) && a.Status == 503
		})
		Expect(outage).NotTo(BeEmpty(), "%s\nthe DUT made no upload attempt during three minutes of 503s", req)
		perFile := map[string]int{}
		for i, a := range outage {
			perFile[a.Path]++
			Expect(perFile[a.Path]).To(BeNumerically("<=", 1+rule.Retries),
				"%s\nattempts at %s: more than 1 + %d retries\n%s", req, a.Path, rule.Retries, harness.Timeline(outage, run.Clock))
			if i > 0 {
				gap := run.Clock.Spec(a.ReceivedAt.Sub(outage[i-1].AnsweredAt))
				Expect(gap).To(BeNumerically(">=", rule.Interval-tol.Allowed(rule.Interval)),
					"%s\nattempt #%d came %v after the 503 before it; the retry interval is %v\n%s", req, i+1, gap, rule.Interval, harness.Timeline(outage, run.Clock))
			}
		}
		Expect(d.OK()).To(BeTrue(), "%s\nafter the 503s ended, every frame once, in order, with its data: %s", req, d)

		// Phase 2: the link dies. The fault proxy between the DUT and the
		// center holds every byte the DUT sends (toxiproxy's timeout toxic):
		// its connections open, but nothing it sends arrives and nothing
		// comes back. Each connection the DUT opens shows at the center as
		// a connection with no handshake.
		if run.Link == nil {
			harness.PhaseNotRun("dead-link phase", "no fault proxy between the DUT and the center (a real DUT reaches the center directly)")
			return
		}
		dead := time.Now()
		Expect(run.Link.Add(netfault.NoResponse("dead-link", netfault.Upstream))).To(Succeed())
		DeferCleanup(run.Link.Clear)
		sent = append(sent, sendBursts(ctx, frames[1800:2700], 100, 30*time.Second)...)
		run.Wait(ctx, 5*time.Minute-run.Clock.Spec(time.Since(dead)))
		Expect(run.Link.Remove("dead-link")).To(Succeed())
		relinked := time.Now()
		sent = append(sent, sendBursts(ctx, frames[2700:], 100, 5*time.Second)...)

		// After the link is back the DUT may be sleeping its longest
		// retransmission interval, then waits a retry interval and the
		// periodic minute.
		within := spec.RetransmissionInterval(rule.Interval, rule.Retries+1) + rule.Interval + 2*time.Minute
		d = awaitDelivery(ctx, since, sent, within+tol.Allowed(within))
		reportLatency(d)

		var tries []time.Time
		for _, c := range run.TLS.Log.Connections(dead) {
			if c.AcceptedAt.Before(relinked) {
				tries = append(tries, c.AcceptedAt)
			}
		}
		Expect(tries).NotTo(BeEmpty(), "%s\nthe DUT tried no connection during five minutes of dead link", req)
		for i := 1; i < len(tries); i++ {
			gap := run.Clock.Spec(tries[i].Sub(tries[i-1]))
			Expect(gap).To(BeNumerically(">=", rule.Interval-tol.Allowed(rule.Interval)),
				"%s\nconnection #%d during the dead link came %v after the one before it; retries wait at least the retry interval %v\n%s",
				req, i+1, gap, rule.Interval, connTimeline(tries, dead))
		}
		Expect(d.OK()).To(BeTrue(), "%s\nafter the link came back, every frame since the start once, in order, with its data: %s", req, d)
	})
})
