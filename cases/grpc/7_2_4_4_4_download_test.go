package grpc_test

import (
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var (
	downloadName      = harness.SpecName("7.2.4.4.4", "data download: DIService.Download names the file, with vehicle_id, and reads the streamed 2.5 MB file (about 1 MB a message) to its end")
	downloadRetryName = harness.SpecName("7.2.2.6", "gRPC data download answered UNAVAILABLE is never retried (download N/A, I-110)")
)

// 7.2.4.4.4 Data Download (Tables 7-18, 7-19): "rpc Download(DIRequest)
// returns (stream DIResponse)", the request's data being "data required
// for download"; 7.2.4.1: "take response including setting change, etc. at
// the server side" (server streaming). The path may be /DIService/Download
// or /DlService/Download (I-101). 7.2.2.6 (I-025, I-110): "Data download
// [...] Number of retries N/A".
var _ = Describe("7.2.4.4.4 Data download over gRPC", func() {
	// readWithin is how long the 2.5 MB download may take to be read.
	const readWithin = 60 * time.Second
	It(downloadName, harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(firstCallWithin+readWithin), func(ctx SpecContext) {
		requireVehicle("data-download")
		req := harness.Requirement{Clause: "7.2.4.4.4, 7.2.4.1 (I-101, I-106)", Rule: "rpc Download(DIRequest) returns (stream DIResponse); required bytes data: Data (data required for download)"}
		t0, name := triggerDownload(ctx, 2_500_000)
		waitCalls(req, onPath(t0, dlPath, dlAlias), 1, firstCallWithin, "a Download call after the CAN request")
		a := waitAnswered(req, onPath(t0, dlPath, dlAlias), readWithin)[0]
		if a.Abandoned || a.Code != 0 || a.Status != 200 {
			fail(req, "the download of "+name+" (offered by the harness's center) answered OK and read to its end", "%s", a.Outcome())
		}
		if v := a.Header.Get("vehicle_id"); v != run.Profile.DUT.VIN {
			fail(req, "vehicle_id: "+run.Profile.DUT.VIN, "vehicle_id %q", v)
		}
	})

	// The watch for a wrong retry: two retries of the real-time rule and a
	// little more (4 s), each interval with its tolerance. Declared by the
	// register's rule; watched by the run's.
	realTime, _ := spec.RetryRuleFor("upload-realtime")
	retryWatched := firstCallWithin + 2*2*realTime.Interval + 4*time.Second
	It(downloadRetryName, harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(retryWatched), func(ctx SpecContext) {
		requireVehicle("data-download")
		req := harness.Requirement{Clause: "7.2.2.6 (I-025, I-029, I-110)", Rule: "Data download (Center -> in-Car unit): Number of retries N/A, Retry interval N/A"}
		run.Faults.Set(center.Fault{Times: -1, Protocol: center.ProtoGRPC, Code: 14, PathPrefix: dlPath}, center.Fault{Times: -1, Protocol: center.ProtoGRPC, Code: 14, PathPrefix: dlAlias})
		t0, _ := triggerDownload(ctx, 100)
		first := waitCalls(req, onPath(t0, dlPath, dlAlias), 1, firstCallWithin, "a Download call after the CAN request")[0]
		// Watch as long as two retries of the real-time rule would take,
		// and a little more: a wrong retry shows within that.
		rule := runRetryRule("upload-realtime")
		tol := run.Profile.Tolerance
		run.Wait(ctx, 2*(rule.Interval+tol.Allowed(rule.Interval))+4*time.Second-run.Clock.Spec(time.Since(first.Start())))
		Expect(run.Recorder.Attempts(onPath(t0, dlPath, dlAlias))).To(harness.FollowRetryPattern(req, harness.RetryPattern{Retries: 0, Tolerance: run.Profile.Tolerance, Clock: run.Clock}))
	})
})

func downloadQuirks() []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "grpc-download-first-only", Specs: []string{downloadName}},
		{Quirk: "download-retries=2", Specs: []string{downloadRetryName}},
	}
}
