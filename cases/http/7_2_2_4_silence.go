package httpcases

import (
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

// attemptsBetween returns every attempt (of any request) that started in
// (from, to).
func attemptsBetween(r *harness.Run, from, to time.Time) []harness.Attempt {
	return r.Recorder.Attempts(func(a harness.Attempt) bool { return a.Start().After(from) && a.Start().Before(to) })
}

// Table 7-8: "567 No communication until next IGON", "568 No communication
// for 10 minutes" (register I-009: silences, not retries).
func (s *suite) silences() {
	Describe("Table 7-8 567 and 568 over "+s.v.Name, func() {
		It(harness.SpecName("7.2.2.4 T7-8 567", silence567Text(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), harness.SpecTime(3*time.Minute), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-upload")
			req := harness.Requirement{Clause: "7.2.2.4 Table 7-8 567", Rule: "567 No communication until next IGON"}
			s.speak()
			run.Faults.Set(center.Fault{Times: 1, Status: 567, PathPrefix: "/files/"})
			_, keepA := s.triggerUpload(ctx, true)
			s.firstAttempt(keepA, 20*time.Second)
			Eventually(func() int { return run.Recorder.Attempts(keepA)[0].Status }).WithTimeout(run.Clock.Wall(10 * time.Second)).Should(Equal(567))
			answered := run.Recorder.Attempts(keepA)[0].AnsweredAt
			run.Wait(ctx, 2*time.Second)
			_, keepB := s.triggerUpload(ctx, true)
			run.Wait(ctx, 90*time.Second)
			Expect(run.Ignition(ctx, bench.IGOff)).To(Succeed())
			run.Wait(ctx, 5*time.Second)
			igOn := time.Now()
			Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
			silent := attemptsBetween(run, answered, igOn)
			Expect(silent).To(BeEmpty(), "%s\nExpected:    no attempt between the 567 answer and the next IG-ON (%.0fs spec later)\nActual:      %d attempts:\n%s",
				req, run.Clock.Spec(igOn.Sub(answered)).Seconds(), len(silent), harness.Timeline(silent, run.Clock))
			Eventually(func() int { return len(run.Recorder.Attempts(keepB)) }).WithTimeout(run.Clock.Wall(30*time.Second)).WithPolling(5*time.Millisecond).Should(BeNumerically(">=", 1),
				"%s\nthe upload triggered during the silence was not sent within 30 s (spec) after IG-ON", req)
		})

		It(harness.SpecName("7.2.2.4 T7-8 568", silence568Text(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT, harness.Slow), harness.SpecTime(16*time.Minute), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-upload")
			row, _ := spec.HTTPStatusFor(568)
			req := harness.Requirement{Clause: "7.2.2.4 Table 7-8 568", Rule: "568 No communication for 10 minutes"}
			s.speak()
			run.Faults.Set(center.Fault{Times: 1, Status: 568, PathPrefix: "/files/"})
			_, keepA := s.triggerUpload(ctx, true)
			s.firstAttempt(keepA, 20*time.Second)
			Eventually(func() int { return run.Recorder.Attempts(keepA)[0].Status }).WithTimeout(run.Clock.Wall(10 * time.Second)).Should(Equal(568))
			answered := run.Recorder.Attempts(keepA)[0].AnsweredAt
			run.Wait(ctx, time.Minute)
			_, keepB := s.triggerUpload(ctx, true)
			tol := run.Profile.Tolerance
			quietUntil := answered.Add(run.Clock.Wall(row.SilenceDuration - tol.Allowed(row.SilenceDuration)))
			run.Wait(ctx, run.Clock.Spec(time.Until(quietUntil)))
			silent := attemptsBetween(run, answered, quietUntil)
			Expect(silent).To(BeEmpty(), "%s\nExpected:    no attempt for %s (spec time) after the 568 answer\nActual:      %d attempts:\n%s",
				req, tol.Describe(row.SilenceDuration), len(silent), harness.Timeline(silent, run.Clock))
			Eventually(func() int { return len(run.Recorder.Attempts(keepB)) }).WithTimeout(run.Clock.Wall(2*tol.Allowed(row.SilenceDuration)+30*time.Second)).WithPolling(5*time.Millisecond).Should(BeNumerically(">=", 1),
				"%s\nthe upload triggered during the silence was not sent after the 10 minutes", req)
		})
	})
}

func silenceQuirks(v Version) []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "ignore-567", Specs: []string{harness.FormatName("7.2.2.4 T7-8 567", silence567Text(v))}},
		{Quirk: "silence-s=60", Specs: []string{harness.FormatName("7.2.2.4 T7-8 568", silence568Text(v))}},
	}
}
