package grpc_test

import (
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	"github.com/icoc-dev/icoc/spec/grpcpb"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// retryAfterSec is the retry_after_sec the specs send.
const retryAfterSec = 10

// appCase is a spec of an application status (RETRYAFTER or BUSY) for a
// request kind.
type appCase struct {
	id, text, path, use, table string
}

func (c appCase) name() string { return harness.FormatName(c.id, c.text) }

var retryAfterCases = []appCase{
	{id: "7.2.4.4.1 T7-14 RETRYAFTER", path: canPath, use: "data-upload", table: "Table 7-14",
		text: fmt.Sprintf("gRPC upload answered status RETRYAFTER, retry_after_sec %d: the same upload again %d s after the answer, nothing before", retryAfterSec, retryAfterSec)},
	{id: "7.2.4.4.3 T7-17 RETRYAFTER", path: apiPath, use: "api-call", table: "Table 7-17",
		text: fmt.Sprintf("gRPC API call answered status RETRYAFTER, retry_after_sec %d: the same call again %d s after the answer, nothing before", retryAfterSec, retryAfterSec)},
}

var pushRetryAfterName = harness.SpecName("7.2.4.4.2 T7-15 RETRYAFTER",
	fmt.Sprintf("push stream ended with status RETRYAFTER, retry_after_sec %d: the stream opened again %d s later, not before", retryAfterSec, retryAfterSec))

// Tables 7-14, 7-15, 7-17, 7-19: "RETRYAFTER (1): Used when the server wants
// the application to wait for a certain amount of time. [...]
// retry_after_sec: Valid only when "status" is "RETRYAFTER". (seconds)
// After receiving this Response, the application will immediately close
// the connection, wait the number of seconds indicated by retry_after_sec,
// and then Request the server again." Register I-103: judged as a retry
// interval of retry_after_sec from the answer; closing the connection or
// only that application's use of it both conform.
var _ = Describe("RETRYAFTER (Tables 7-14, 7-15, 7-17)", func() {
	// The one retry retry_after_sec after the answer, and as long again in
	// which a further one would show.
	const wait = retryAfterSec * time.Second
	for _, c := range retryAfterCases {
		It(harness.SpecName(c.id, c.text), harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(firstCallWithin+retryWatch(1, wait)), func(ctx SpecContext) {
			requireVehicle(c.use)
			req := harness.Requirement{Clause: "7.2.4.4 " + c.table + " RETRYAFTER (I-103)", Rule: spec.GRPCRulesOf().RetryAfterRule}
			run.Faults.Set(center.Fault{Times: 1, Protocol: center.ProtoGRPC, PathPrefix: c.path, AppStatus: 1, RetryAfterSec: retryAfterSec})
			var t0 time.Time
			if c.path == canPath {
				t0 = triggerUpload(ctx, true)
			} else {
				t0 = triggerAPICall(ctx)
			}
			keep := onPath(t0, c.path)
			first := waitCalls(req, keep, 1, firstCallWithin, "a "+c.path+" call after the CAN trigger")[0]
			tol := run.Profile.Tolerance
			run.Wait(ctx, 2*(wait+tol.Allowed(wait))+2*time.Second-run.Clock.Spec(time.Since(first.Start())))
			got := run.Recorder.Attempts(keep)
			AddReportEntry("icoc.timeline", harness.Timeline(got, run.Clock), ReportEntryVisibilityFailureOrVerbose)
			if len(got) > 0 && got[0].AppStatus != 1 {
				fail(req, "the first call answered RETRYAFTER by the harness's center", "\n%s", harness.Timeline(got, run.Clock))
			}
			Expect(got).To(harness.FollowRetryPattern(req, harness.RetryPattern{Retries: 1, Intervals: []time.Duration{wait}, Tolerance: tol, Clock: run.Clock}))
		})
	}

	// The push stream: open within pushWithin, reopened retry_after_sec
	// (with its tolerance, at most as long again) after it ended, and 5 s.
	const pushWatch = 5 * time.Second
	It(pushRetryAfterName, harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(pushWithin+2*wait+pushWatch), func(ctx SpecContext) {
		requireVehicle("push")
		req := harness.Requirement{Clause: "7.2.4.4.2 Table 7-15 RETRYAFTER (I-103, I-105)", Rule: spec.GRPCRulesOf().RetryAfterRule}
		open := openPush(req)
		st := &grpcpb.Response{MsgStatus: &grpcpb.Response_PushServerStatus{SrvResponseCode: grpcpb.Response_PushServerStatus_RETRYAFTER, RetryAfterSec: retryAfterSec}}
		Expect(run.Center.GRPCPush(ctx, run.Profile.DUT.VIN, st, true)).To(Succeed(), req.String())
		tol := run.Profile.Tolerance
		run.Wait(ctx, wait+tol.Allowed(wait)+pushWatch)
		got := run.Recorder.Attempts(onPath(open.ReceivedAt, pushPath))
		AddReportEntry("icoc.timeline", harness.Timeline(got, run.Clock), ReportEntryVisibilityFailureOrVerbose)
		Expect(got).To(harness.FollowRetryPattern(req, harness.RetryPattern{Retries: 1, Intervals: []time.Duration{wait}, Tolerance: tol, Clock: run.Clock}))
	})
})

func retryAfterQuirks() []harness.QuirkCase {
	var names []string
	for _, c := range retryAfterCases {
		names = append(names, c.name())
	}
	return []harness.QuirkCase{
		{Quirk: "grpc-retryafter-factor=0.5", Specs: names},
		{Quirk: "grpc-retryafter-factor=2", Specs: names},
		{Quirk: "grpc-retryafter-ignore", Specs: names},
		{Quirk: "grpc-push-ignore-retryafter", Specs: []string{pushRetryAfterName}},
	}
}

func retryAfterNames() []string {
	names := []string{pushRetryAfterName}
	for _, c := range retryAfterCases {
		names = append(names, c.name())
	}
	return names
}
