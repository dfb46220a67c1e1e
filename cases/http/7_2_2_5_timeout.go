package httpcases

import (
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func timeoutText(v Version) string {
	return fmt.Sprintf("%s upload left unanswered: the DUT gives up after %v (connection set-up not counted)", v.Name, spec.HTTPResponseTimeout)
}

func backoffText(v Version) string {
	return v.Name + " real-time upload that times out: each retransmission waits longer than the one before (3 s doubled per timeout)"
}

// 7.2.2.5: "the timeout period for interruption when there is no center
// response after sending a request is 60 seconds [...] The communication
// timeout period shall not include the line connection time. In order to
// prevent the load concentration on the center, the retransmission process
// after timeout shall be under control to extend the retransmission
// interval." (HTTP/2: 7.2.3.5 conforms.) The extension is the register's
// reading I-016: the interval doubles per timeout, capped.
func (s *suite) timeouts() {
	Describe("7.2.2.5 Timeout over "+s.v.Name, func() {
		It(harness.SpecName("7.2.2.5", timeoutText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT, harness.Slow), harness.SpecTime(4*time.Minute), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-upload")
			req := harness.Requirement{Clause: "7.2.2.5", Rule: "the timeout period for interruption when there is no center response after sending a request is 60 seconds"}
			s.speak()
			run.Faults.Set(center.Fault{Times: 1, Status: 200, Stall: run.Clock.Wall(3 * spec.HTTPResponseTimeout), PathPrefix: "/files/"})
			_, keep := s.triggerUpload(ctx, true)
			var first harness.Attempt
			Eventually(func() bool {
				a := run.Recorder.Attempts(keep)
				if len(a) == 0 || a[0].AnsweredAt.IsZero() {
					return false
				}
				first = a[0]
				return true
			}).WithTimeout(run.Clock.Wall(3*spec.HTTPResponseTimeout)).WithPolling(5*time.Millisecond).Should(BeTrue(),
				"%s\nthe DUT was still waiting after %v", req, 3*spec.HTTPResponseTimeout)
			waited := run.Clock.Spec(first.AnsweredAt.Sub(first.ReceivedAt))
			tol := run.Profile.Tolerance
			Expect(tol.Within(spec.HTTPResponseTimeout, waited)).To(BeTrue(), "%s\nExpected:    the DUT gives up %s after the request\nActual:      it gave up after %.2fs (spec time)",
				req, tol.Describe(spec.HTTPResponseTimeout), waited.Seconds())
			// Let the DUT's retry of this upload (answered 200 now) finish
			// before the next spec stalls the center again.
			Eventually(func() bool {
				for _, a := range run.Recorder.Attempts(keep)[1:] {
					if a.Status == 200 && !a.AnsweredAt.IsZero() {
						return true
					}
				}
				return false
			}).WithTimeout(run.Clock.Wall(spec.HTTPResponseTimeout)).WithPolling(5 * time.Millisecond).Should(BeTrue())
		})

		It(harness.SpecName("7.2.2.5", backoffText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT, harness.Slow), harness.SpecTime(8*time.Minute), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-upload")
			rule, _ := spec.RetryRuleFor("upload-realtime")
			req := harness.Requirement{Clause: "7.2.2.5 (I-016), 7.2.2.6", Rule: "the retransmission process after timeout shall be under control to extend the retransmission interval"}
			s.speak()
			run.Faults.Set(center.Fault{Times: -1, Status: 200, Stall: run.Clock.Wall(3 * spec.HTTPResponseTimeout), PathPrefix: "/files/"})
			_, keep := s.triggerUpload(ctx, true)
			first := s.firstAttempt(keep, 20*time.Second)
			var gaps []time.Duration
			window := time.Duration(0)
			for i := 1; i <= rule.Retries; i++ {
				gaps = append(gaps, spec.RetransmissionInterval(rule.Interval, i))
				window += spec.HTTPResponseTimeout + gaps[i-1]
			}
			window += spec.HTTPResponseTimeout + rule.Interval*4
			run.Wait(ctx, window-run.Clock.Spec(time.Since(first.Start())))
			attempts := run.Recorder.Attempts(keep)
			AddReportEntry("icoc.timeline", harness.Timeline(attempts, run.Clock), ReportEntryVisibilityFailureOrVerbose)
			pattern := harness.RetryPattern{Retries: rule.Retries, Intervals: gaps, Tolerance: run.Profile.Tolerance, Clock: run.Clock}
			Expect(attempts).To(harness.FollowRetryPattern(req, pattern))
		})
	})
}

func timeoutQuirks(v Version) []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "response-timeout=30", Specs: []string{harness.FormatName("7.2.2.5", timeoutText(v))}},
		{Quirk: "no-backoff", Specs: []string{harness.FormatName("7.2.2.5", backoffText(v))}},
	}
}
