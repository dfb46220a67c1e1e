package httpcases

import (
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func reasonPhraseText(v Version) string {
	return v.Name + " upload answered \"200 Totally Broken\" is a success: the reason phrase is not read"
}

// 7.2.2.4: "the reason-phrase is a textual description of the status-code,
// and the client should not use the reason-phrase to determine the
// result." HTTP/2 has no reason phrase (RFC 9113 §8.3.2).
func (s *suite) reasonPhrase() {
	Describe("7.2.2.4 Reason phrase over "+s.v.Name, func() {
		It(harness.SpecName("7.2.2.4", reasonPhraseText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-upload")
			if s.v != HTTP11 {
				Skip("not applicable: HTTP/2 carries no reason phrase (RFC 9113 §8.3.2)")
			}
			req := harness.Requirement{Clause: "7.2.2.4", Rule: "the client should not use the reason-phrase to determine the result"}
			s.speak()
			run.Faults.Set(center.Fault{Times: -1, Status: 200, Reason: "Totally Broken", PathPrefix: "/files/"})
			st := s.triggerUpload(ctx, true)
			s.settleAfter(st, 8*time.Second, time.Minute)
			first := s.awaitFirst(req, st, 20*time.Second)
			run.Wait(ctx, 8*time.Second-run.Clock.Spec(time.Since(first.Start())))
			pattern := harness.RetryPattern{Retries: 0, Tolerance: run.Profile.Tolerance, Clock: run.Clock}
			Expect(st.attempts(run)).To(harness.FollowRetryPattern(req, pattern))
		})
	})
}

func reasonPhraseQuirks(v Version) []harness.QuirkCase {
	if v != HTTP11 {
		return nil
	}
	return []harness.QuirkCase{{Quirk: "reason-phrase", Specs: []string{harness.FormatName("7.2.2.4", reasonPhraseText(v))}}}
}
