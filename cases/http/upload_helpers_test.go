package http_test

import (
	"context"
	"path"
	"sync/atomic"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/vehicle"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/gomega"
)

// requestIDs hands out a fresh request ID per upload, so each spec can pick
// its own attempts out of the recorder by the file name.
var requestIDs atomic.Uint32

func init() { requestIDs.Store(uint32(time.Now().Unix() % 1000000)) }

// triggerUpload asks the DUT over CAN for an upload and returns the filter
// that selects its attempts.
func triggerUpload(ctx context.Context, realTime bool) (uint32, func(harness.Attempt) bool) {
	id := requestIDs.Add(1)
	Expect(run.TriggerUpload(ctx, bench.UploadTrigger{RealTime: realTime, Trigger: 'c', RequestID: id})).To(Succeed())
	want := vehicle.RequestIDText(id)
	return id, func(a harness.Attempt) bool {
		dir, name := path.Split(a.Path)
		if dir != "/files/" {
			return false
		}
		fn, err := spec.ParseFileName(name)
		if err != nil {
			// A name that does not parse still belongs to the request if it
			// carries its ID; the file-name spec judges the name itself.
			return containsField(name, want)
		}
		return fn.RequestID == want
	}
}

func containsField(name, field string) bool {
	for i := 0; i+len(field) <= len(name); i++ {
		if name[i:i+len(field)] == field && (i == 0 || name[i-1] == '_') {
			return true
		}
	}
	return false
}

// firstAttempt waits (in spec time) for the DUT's first attempt.
func firstAttempt(keep func(harness.Attempt) bool, within time.Duration) harness.Attempt {
	var got []harness.Attempt
	Eventually(func() int {
		got = run.Recorder.Attempts(keep)
		return len(got)
	}).WithTimeout(run.Clock.Wall(within)).WithPolling(5*time.Millisecond).Should(BeNumerically(">=", 1),
		"the DUT made no upload attempt within %v of spec time after the CAN trigger", within)
	return got[0]
}
