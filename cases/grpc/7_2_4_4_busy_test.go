package grpc_test

import (
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
)

var busyCases = []appCase{
	{id: "7.2.4.4.1 T7-14 BUSY", path: canPath, use: "data-upload", table: "Table 7-14",
		text: "gRPC real-time upload answered status BUSY is retried at most 2 times and no sooner than 3 s apart (I-104)"},
	{id: "7.2.4.4.3 T7-17 BUSY", path: apiPath, use: "api-call", table: "Table 7-17",
		text: "gRPC API call answered status BUSY is retried at most 2 times and no sooner than 3 s apart (I-104)"},
}

// Tables 7-14, 7-17: "BUSY (2): Used when the server is unable to respond
// immediately except for RETRYAFTER." No retry rule is given: register
// I-104 allows retrying by the request's 7.2.2.6 rule or not at all, and
// judges only that the DUT does not retry more often or sooner ("Data
// upload [...] Real-time response Required: Number of retries 2, Retry
// interval 3sec").
var _ = Describe("BUSY (Tables 7-14, 7-17)", func() {
	// The declared spec time is the register's rule; the spec judges by
	// the run's (the profile's spec: section), resolved when it runs.
	declared, _ := spec.RetryRuleFor("upload-realtime")
	for _, c := range busyCases {
		It(harness.SpecName(c.id, c.text), harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(firstCallWithin+retryWatch(declared.Retries, declared.Interval)), func(ctx SpecContext) {
			requireVehicle(c.use)
			rule := runRetryRule("upload-realtime")
			req := harness.Requirement{Clause: "7.2.4.4 " + c.table + " BUSY (I-104); 7.2.2.6 upload-realtime",
				Rule: fmt.Sprintf("BUSY (2): Used when the server is unable to respond immediately except for RETRYAFTER. Real-time response required: number of retries %d, retry interval %v.", rule.Retries, rule.Interval)}
			run.Faults.Set(center.Fault{Times: -1, Protocol: center.ProtoGRPC, PathPrefix: c.path, AppStatus: 2})
			var t0 time.Time
			if c.path == canPath {
				t0 = triggerUpload(ctx, true)
			} else {
				t0 = triggerAPICall(ctx)
			}
			keep := onPath(t0, c.path)
			first := waitCalls(req, keep, 1, firstCallWithin, "a "+c.path+" call after the CAN trigger")[0]
			tol := run.Profile.Tolerance
			step := rule.Interval + tol.Allowed(rule.Interval)
			run.Wait(ctx, time.Duration(rule.Retries+1)*step+2*time.Second-run.Clock.Spec(time.Since(first.Start())))
			got := run.Recorder.Attempts(keep)
			AddReportEntry("icoc.timeline", harness.Timeline(got, run.Clock), ReportEntryVisibilityFailureOrVerbose)
			expected := fmt.Sprintf("at most %d attempts (1 + %d retries), each retry no sooner than %s after the previous answer (spec time)",
				rule.Retries+1, rule.Retries, tol.DescribeLate(rule.Interval))
			if len(got) > rule.Retries+1 {
				fail(req, expected, "%d attempts:\n%s", len(got), harness.Timeline(got, run.Clock))
			}
			for i := 1; i < len(got); i++ {
				gap := run.Clock.Spec(got[i].Start().Sub(got[i-1].AnsweredAt))
				if gap < rule.Interval && !tol.WithinLate(rule.Interval, gap) {
					fail(req, expected, "retry #%d came %.2fs (spec time) after the answer to attempt #%d:\n%s", i, gap.Seconds(), i, harness.Timeline(got, run.Clock))
				}
			}
		})
	}
})

func busyNames() []string {
	var names []string
	for _, c := range busyCases {
		names = append(names, c.name())
	}
	return names
}
