package httpcases

import (
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
)

func timeoutText(v Version) string {
	return fmt.Sprintf("%s upload left unanswered: the DUT gives up after %v (connection set-up not counted)", v.Name, spec.HTTPResponseTimeout)
}

func backoffText(v Version) string {
	return v.Name + " real-time upload that times out: each retransmission waits longer than the 3 s retry interval and no less than the one before (I-016, I-062)"
}

// 7.2.2.5: "the timeout period for interruption when there is no center
// response after sending a request is 60 seconds [...] The communication
// timeout period shall not include the line connection time. In order to
// prevent the load concentration on the center, the retransmission process
// after timeout shall be under control to extend the retransmission
// interval." (HTTP/2: 7.2.3.5 conforms.) The seed gives no numbers for the
// extension: register I-062 (refining I-016) judges that every interval
// after a timeout is longer than the base interval of 7.2.2.6 and not
// shorter than the one before it.
func (s *suite) timeouts() {
	Describe("7.2.2.5 Timeout over "+s.v.Name, func() {
		It(harness.SpecName("7.2.2.5", timeoutText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT, harness.Slow), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-upload")
			req := harness.Requirement{Clause: "7.2.2.5", Rule: "the timeout period for interruption when there is no center response after sending a request is 60 seconds"}
			s.speak()
			run.Faults.Set(center.Fault{Times: 1, Status: 200, Stall: run.Clock.Wall(3 * spec.HTTPResponseTimeout), PathPrefix: "/files/"})
			st := s.triggerUpload(ctx, true)
			first := s.awaitAnswered(req, st, 0, 20*time.Second+3*spec.HTTPResponseTimeout)
			waited := run.Clock.Spec(first.AnsweredAt.Sub(first.ReceivedAt))
			tol := run.Profile.Tolerance
			if !tol.Within(spec.HTTPResponseTimeout, waited) {
				Fail(harness.Verdict(req, fmt.Sprintf("the DUT gives up %s (spec time) after the request", tol.Describe(spec.HTTPResponseTimeout)),
					fmt.Sprintf("it gave up after %.2fs (spec time)", waited.Seconds())))
			}
			// Let the DUT's retry of this upload (not stalled) be answered
			// before the next spec stalls the center again; what the retry
			// does is judged by 7.2.2.6 and 7.2.2.3, not here.
			deadline := time.Now().Add(run.Clock.Wall(spec.HTTPResponseTimeout))
			for time.Now().Before(deadline) {
				if as := st.attempts(run); len(as) > 1 && !as[len(as)-1].AnsweredAt.IsZero() {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		})

		It(harness.SpecName("7.2.2.5", backoffText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT, harness.Slow), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-upload")
			rule, _ := spec.RetryRuleFor("upload-realtime")
			req := harness.Requirement{Clause: "7.2.2.5 (I-016, I-062), 7.2.2.6", Rule: "the retransmission process after timeout shall be under control to extend the retransmission interval"}
			s.speak()
			run.Faults.Set(center.Fault{Times: -1, Status: 200, Stall: run.Clock.Wall(3 * spec.HTTPResponseTimeout), PathPrefix: "/files/"})
			st := s.triggerUpload(ctx, true)
			tol := run.Profile.Tolerance
			// The longest interval the spec waits for: the register's cap.
			longest := run.Spec.TimeoutBackoff.Cap
			if longest <= 0 {
				longest = 10 * time.Minute
			}
			giveUp := spec.HTTPResponseTimeout + tol.Allowed(spec.HTTPResponseTimeout)
			attempts := s.awaitAttempts(req, st, 1, 20*time.Second)
			// Each further attempt: the previous one given up, then an
			// interval of at most `longest`.
			for n := 2; n <= rule.Retries+1; n++ {
				prev := attempts[len(attempts)-1]
				wait := giveUp + longest + tol.Allowed(longest) - run.Clock.Spec(time.Since(prev.Start()))
				attempts = s.awaitAttempts(req, st, n, max(wait, time.Second))
			}
			// Then watch for one more, which may come no sooner than the last
			// interval after the last attempt is given up.
			lastGap := rule.Interval
			if n := len(attempts); n > 1 && !attempts[n-2].AnsweredAt.IsZero() {
				lastGap = run.Clock.Spec(attempts[n-1].Start().Sub(attempts[n-2].AnsweredAt))
			}
			watch := giveUp + 2*lastGap + tol.Allowed(2*lastGap) - run.Clock.Spec(time.Since(attempts[len(attempts)-1].Start()))
			if watch > 0 {
				run.Wait(ctx, watch)
			}
			attempts = st.attempts(run)
			AddReportEntry("icoc.timeline", harness.Timeline(attempts, run.Clock), ReportEntryVisibilityFailureOrVerbose)
			if why := judgeBackoff(attempts, rule.Retries, rule.Interval, tol, run.Clock); why != "" {
				Fail(harness.Verdict(req,
					fmt.Sprintf("exactly %d attempts (1 + %d retries); each retransmission after a timeout waits longer than the %v retry interval of 7.2.2.6 (by more than its tolerance %v) and no less than the interval before it (spec time, from the DUT giving up to the next attempt)",
						rule.Retries+1, rule.Retries, rule.Interval, tol.Allowed(rule.Interval)),
					why+"; timeline:\n"+harness.Timeline(attempts, run.Clock)))
			}
		})
	})
}

// judgeBackoff returns what breaks the reading I-062 in attempts of one
// request that each timed out, or "".
func judgeBackoff(attempts []harness.Attempt, retries int, base time.Duration, tol harness.Tolerance, c harness.Clock) string {
	if len(attempts) != retries+1 {
		return fmt.Sprintf("%d attempts", len(attempts))
	}
	var prevGap time.Duration
	for i := 1; i < len(attempts); i++ {
		if attempts[i-1].AnsweredAt.IsZero() {
			return fmt.Sprintf("attempt #%d was never given up, yet #%d followed", i, i+1)
		}
		gap := c.Spec(attempts[i].Start().Sub(attempts[i-1].AnsweredAt))
		if gap <= base+tol.Allowed(base) {
			return fmt.Sprintf("retry #%d came %.2fs (spec time) after attempt #%d was given up: not longer than the %v retry interval", i, gap.Seconds(), i, base)
		}
		if i > 1 && gap+tol.Allowed(prevGap) < prevGap {
			return fmt.Sprintf("retry #%d came %.2fs after attempt #%d was given up, shorter than the %.2fs before retry #%d", i, gap.Seconds(), i, prevGap.Seconds(), i-1)
		}
		prevGap = gap
	}
	return ""
}

func timeoutQuirks(v Version) []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "response-timeout=30", Specs: []string{harness.FormatName("7.2.2.5", timeoutText(v))}},
		{Quirk: "no-backoff", Specs: []string{harness.FormatName("7.2.2.5", backoffText(v))}},
	}
}

// timeoutVariants: another extension of the interval than doubling.
func timeoutVariants(v Version) []harness.VariantCase {
	return []harness.VariantCase{{Variant: "backoff-linear", Specs: []string{
		harness.FormatName("7.2.2.5", timeoutText(v)),
		harness.FormatName("7.2.2.5", backoffText(v)),
	}}}
}
