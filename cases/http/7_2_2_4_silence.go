package httpcases

import (
	"context"
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func silence567Text(v Version) string {
	return v.Name + " upload answered 567: no communication until the next IG-ON, then communication resumes"
}

func silence568Text(v Version) string {
	return v.Name + " upload answered 568: no communication for 10 minutes, then communication resumes"
}

// Table 7-8: "567 No communication until next IGON", "568 No communication
// for 10 minutes" (register I-009: silences, not retries). What becomes of
// an upload asked for during the silence the seed does not say: sent when
// the silence ends, or dropped (I-056, I-063); either passes. Judged: no
// attempt at all during the silence, and communication after it (the
// deferred upload, or one asked for once the silence is over).
func (s *suite) silences() {
	Describe("Table 7-8 567 and 568 over "+s.v.Name, func() {
		It(harness.SpecName("7.2.2.4 T7-8 567", silence567Text(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-upload")
			req := harness.Requirement{Clause: "7.2.2.4 Table 7-8 567 (I-009, I-063)", Rule: "567 No communication until next IGON"}
			s.speak()
			run.Faults.Set(center.Fault{Times: 1, Status: 567, PathPrefix: "/files/"})
			a := s.triggerUpload(ctx, true)
			first := s.awaitAnswered(req, a, 0, 20*time.Second)
			expectStatus(req, first, 567, "the harness's fault plan")
			run.Wait(ctx, 2*time.Second)
			b := s.triggerUpload(ctx, true)
			run.Wait(ctx, 90*time.Second)
			Expect(run.Ignition(ctx, bench.IGOff)).To(Succeed(), "putting IG-OFF on the bus")
			run.Wait(ctx, 5*time.Second)
			igOn := time.Now()
			Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed(), "putting IG-ON on the bus")
			expectSilent(req, run, first.AnsweredAt, igOn, fmt.Sprintf("the next IG-ON (%.0fs spec later)", run.Clock.Spec(igOn.Sub(first.AnsweredAt)).Seconds()))
			run.Wait(ctx, 2*time.Second)
			s.expectResumed(ctx, req, b, time.Now())
		})

		It(harness.SpecName("7.2.2.4 T7-8 568", silence568Text(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT, harness.Slow), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-upload")
			row, _ := spec.HTTPStatusFor(568)
			req := harness.Requirement{Clause: "7.2.2.4 Table 7-8 568 (I-009, I-063)", Rule: "568 No communication for 10 minutes"}
			s.speak()
			run.Faults.Set(center.Fault{Times: 1, Status: 568, PathPrefix: "/files/"})
			a := s.triggerUpload(ctx, true)
			first := s.awaitAnswered(req, a, 0, 20*time.Second)
			expectStatus(req, first, 568, "the harness's fault plan")
			run.Wait(ctx, time.Minute)
			b := s.triggerUpload(ctx, true)
			tol := run.Profile.Tolerance
			allowed := tol.Allowed(row.SilenceDuration)
			quietUntil := first.AnsweredAt.Add(run.Clock.Wall(row.SilenceDuration - allowed))
			run.Wait(ctx, run.Clock.Spec(time.Until(quietUntil)))
			expectSilent(req, run, first.AnsweredAt, quietUntil, tol.Describe(row.SilenceDuration)+" (spec time) after the 568 answer")
			s.expectResumed(ctx, req, b, first.AnsweredAt.Add(run.Clock.Wall(row.SilenceDuration+allowed)))
		})
	})
}

// attemptsBetween returns every attempt (of any request) that started in
// (from, to).
func attemptsBetween(r *harness.Run, from, to time.Time) []harness.Attempt {
	return r.Recorder.Attempts(func(a harness.Attempt) bool { return a.Start().After(from) && a.Start().Before(to) })
}

// expectSilent fails when any attempt started between the silencing
// answer and until.
func expectSilent(req harness.Requirement, r *harness.Run, answered, until time.Time, untilText string) {
	if silent := attemptsBetween(r, answered, until); len(silent) > 0 {
		Fail(harness.Verdict(req, "no attempt at all from the silencing answer until "+untilText,
			fmt.Sprintf("%d attempt(s) during the silence:\n%s", len(silent), harness.Timeline(silent, r.Clock))))
	}
}

// expectResumed checks that communication resumes after a silence: the
// upload b asked for during it arrives by over (deferred), or, when it
// does not (dropped, I-063), an upload asked for at over arrives.
func (s *suite) expectResumed(ctx context.Context, req harness.Requirement, b stimulus, over time.Time) {
	run := s.r()
	for time.Now().Before(over) {
		if len(b.attempts(run)) > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(b.attempts(run)) > 0 {
		return
	}
	c := s.triggerUpload(ctx, true)
	resumed := harness.Requirement{Clause: req.Clause, Rule: req.Rule + "; then communication resumes"}
	s.awaitFirst(resumed, c, 30*time.Second)
}

func silenceQuirks(v Version) []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "ignore-567", Specs: []string{harness.FormatName("7.2.2.4 T7-8 567", silence567Text(v))}},
		{Quirk: "silence-s=60", Specs: []string{harness.FormatName("7.2.2.4 T7-8 568", silence568Text(v))}},
	}
}

// silenceVariants: dropping what was asked for during a silence is
// allowed (I-063).
func silenceVariants(v Version) []harness.VariantCase {
	return []harness.VariantCase{{Variant: "drop-while-silent", Specs: []string{
		harness.FormatName("7.2.2.4 T7-8 567", silence567Text(v)),
		harness.FormatName("7.2.2.4 T7-8 568", silence568Text(v)),
	}}}
}
