package grpc_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The :paths of the four calls (7.2.4.4, I-102), from spec/.
var (
	canPath  = service("data-upload").Path
	pushPath = service("push").Path
	apiPath  = service("api-call").Path
	dlPath   = service("data-download").Path
	// dlAlias is the download's path under the name the original proto
	// probably has (I-101); a DUT may use either.
	dlAlias = "/DlService/Download"
)

func service(use string) spec.GRPCService {
	s, ok := spec.GRPCServiceFor(use)
	if !ok {
		panic("spec has no gRPC service for " + use)
	}
	return s
}

// onPath keeps the gRPC calls of one of paths that arrived at or after since.
func onPath(since time.Time, paths ...string) func(harness.Attempt) bool {
	return func(a harness.Attempt) bool {
		return a.Protocol == "grpc" && !a.ReceivedAt.Before(since) && slices.Contains(paths, a.Path)
	}
}

// fail fails the spec with the requirement, what was expected and what was
// seen (harness.Verdict).
func fail(req harness.Requirement, expected, actual string, args ...any) {
	GinkgoHelper()
	Fail(harness.Verdict(req, expected, fmt.Sprintf(actual, args...)))
}

// waitCalls waits (spec time) until keep has selected at least n calls and
// returns them; it fails with the timeline when they do not come.
func waitCalls(req harness.Requirement, keep func(harness.Attempt) bool, n int, within time.Duration, what string) []harness.Attempt {
	GinkgoHelper()
	deadline := time.Now().Add(run.Clock.Patience(within))
	for {
		got := run.Recorder.Attempts(keep)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			fail(req, fmt.Sprintf("%s within %v (spec time)", what, within), "%d call(s):\n%s", len(got), harness.Timeline(got, run.Clock))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitAnswered waits until every call keep selects has been answered.
func waitAnswered(req harness.Requirement, keep func(harness.Attempt) bool, within time.Duration) []harness.Attempt {
	GinkgoHelper()
	deadline := time.Now().Add(run.Clock.Patience(within))
	for {
		got := run.Recorder.Attempts(keep)
		done := true
		for _, a := range got {
			done = done && !a.AnsweredAt.IsZero()
		}
		if done {
			return got
		}
		if time.Now().After(deadline) {
			fail(req, fmt.Sprintf("every call answered within %v (spec time)", within), "\n%s", harness.Timeline(got, run.Clock))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// triggerUpload asks the DUT over CAN for an upload and returns when.
func triggerUpload(ctx context.Context, realTime bool) time.Time {
	GinkgoHelper()
	since := time.Now()
	Expect(run.TriggerUpload(ctx, bench.UploadTrigger{RealTime: realTime, Trigger: 'c', RequestID: harness.NextRequestID()})).To(Succeed())
	return since
}

// triggerAPICall asks the DUT over CAN for an API call and returns when.
func triggerAPICall(ctx context.Context) time.Time {
	GinkgoHelper()
	since := time.Now()
	Expect(run.Send(ctx, bench.APICall{APIID: uint16(100 + rand.IntN(900)), RequestID: harness.NextRequestID()}.Frame())).To(Succeed())
	return since
}

// triggerDownload offers a file of n bytes on the harness's center, asks
// the DUT over CAN to download it and returns when, and the file's name.
func triggerDownload(ctx context.Context, n int) (time.Time, string) {
	GinkgoHelper()
	id := uint16(rand.IntN(60000))
	name := bench.DownloadFileName(id)
	run.Center.Offer(name, bench.BulkData(uint32(id), n))
	since := time.Now()
	Expect(run.Send(ctx, bench.DownloadRequest{FileID: id, RequestID: harness.NextRequestID()}.Frame())).To(Succeed())
	return since, name
}

// requireVehicle skips a vehicle-DUT spec the profile does not apply to.
func requireVehicle(caps ...string) {
	GinkgoHelper()
	if !run.Profile.HasRole("vehicle") {
		Skip("not applicable: the DUT profile " + run.Profile.Name + " has no vehicle role")
	}
	run.Requires(append([]string{"grpc"}, caps...)...)
}

// The spec-time waits the specs share; each spec's harness.SpecTime adds up
// the waits its body can make.
const (
	// firstCallWithin is how long a spec waits for the DUT's first call
	// after the CAN trigger.
	firstCallWithin = 20 * time.Second
	// pushWithin is how long openPush waits for the open push stream.
	pushWithin = 30 * time.Second
)

// retryWatch bounds the spec time a spec watches the retries of a call
// after the first: every retry the rule allows and one interval more, in
// which a further (wrong) retry would show, each interval with its
// tolerance (bounded by the interval again: twice the interval), and 2 s.
// The bodies wait (retries+1) × (interval + tolerance) + 2 s.
func retryWatch(retries int, interval time.Duration) time.Duration {
	return time.Duration(retries+1)*2*interval + 2*time.Second
}

// openPush returns the push stream the DUT holds open now (7.2.4.4.2),
// waiting for it up to pushWithin (spec time).
func openPush(req harness.Requirement) harness.Attempt {
	GinkgoHelper()
	deadline := time.Now().Add(run.Clock.Patience(pushWithin))
	for {
		got := run.Recorder.Attempts(onPath(time.Time{}, pushPath))
		if len(got) > 0 && got[len(got)-1].AnsweredAt.IsZero() && run.Center.GRPCPushConnected(run.Profile.DUT.VIN) {
			return got[len(got)-1]
		}
		if time.Now().After(deadline) {
			fail(req, fmt.Sprintf("an open push stream %s within %v (spec time)", pushPath, pushWithin), "the push calls so far:\n%s", harness.Timeline(got, run.Clock))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runRetryRule is the 7.2.2.6 rule id as the run's spec has it (the
// profile's spec: section applied): specs resolve it when they run, as the
// tree is built before the profile is known. A missing rule fails the spec.
func runRetryRule(id string) spec.RetryRule {
	rule, ok := run.Spec.RetryRuleFor(id)
	Expect(ok).To(BeTrue(), "the run's spec has no 7.2.2.6 rule %q", id)
	return rule
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}
