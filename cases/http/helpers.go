package httpcases

import (
	"context"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	. "github.com/onsi/gomega"
)

// triggerUpload asks the DUT over CAN for an upload and returns the request
// ID and the filter that selects its attempts.
func (s *suite) triggerUpload(ctx context.Context, realTime bool) (uint32, func(harness.Attempt) bool) {
	id := harness.NextRequestID()
	Expect(s.r().TriggerUpload(ctx, bench.UploadTrigger{RealTime: realTime, Trigger: 'c', RequestID: id})).To(Succeed())
	return id, harness.UploadOf(id)
}

// firstAttempt waits (in spec time) for the DUT's first attempt.
func (s *suite) firstAttempt(keep func(harness.Attempt) bool, within time.Duration) harness.Attempt {
	var got []harness.Attempt
	Eventually(func() int {
		got = s.r().Recorder.Attempts(keep)
		return len(got)
	}).WithTimeout(s.r().Clock.Wall(within)).WithPolling(5*time.Millisecond).Should(BeNumerically(">=", 1),
		"the DUT made no upload attempt within %v of spec time after the CAN trigger", within)
	return got[0]
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
