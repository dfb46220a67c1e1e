package grpc_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var (
	oneChannelName    = harness.SpecName("7.2.4.6", "upload, API call, download and the push stream share one connection, each call on a stream of its own")
	isolationName     = harness.SpecName("7.2.4.6", "a failed stream leaves the others running: after RST_STREAM of an API call the push stream stays open on the same connection")
	cookieName        = harness.SpecName("7.2.4.6", "sticky session: after set-cookie the DUT sends the cookie on its later calls")
	preconditionsName = harness.SpecName("7.2.4.6", "session establishment: no connection to the gRPC port before the VIN is known, then the upload with it")
)

// 7.2.4.6 Session Management: "In gRPC, the same session (channel) can be
// used by multiple applications, and a failure in one application will
// not affect other applications in the same channel. Therefore, for the
// purpose of efficient communication, the application shall communicate
// in stream units for multiple communications in one connection." "In case
// that stateful connection is required based on session management by the
// center with ALB configured environment, use sticky sessions (Cookie)"
// (I-111). "Establish gRPC connection when all of the following conditions
// are applied: WAN side IP address [...]; Obtaining VIN; ADF upload has
// been completed."
var _ = Describe("7.2.4.6 Session management", func() {
	// callsWithin is the wait for the calls, then again for their answers.
	const callsWithin = 30 * time.Second
	It(oneChannelName, harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(pushWithin+2*callsWithin), func(ctx SpecContext) {
		requireVehicle("data-upload", "api-call", "data-download", "push")
		req := harness.Requirement{Clause: "7.2.4.6", Rule: "the application shall communicate in stream units for multiple communications in one connection"}
		push := openPush(req)
		t0 := triggerUpload(ctx, true)
		triggerAPICall(ctx)
		triggerDownload(ctx, 4096)
		waitCalls(req, onPath(t0, canPath, apiPath, dlPath, dlAlias), 3, callsWithin, "an upload, an API call and a download")
		calls := append(waitAnswered(req, onPath(t0, canPath, apiPath, dlPath, dlAlias), callsWithin), push)
		for _, a := range calls {
			if a.ConnID != push.ConnID {
				fail(req, fmt.Sprintf("every call on the push stream's connection #%d", push.ConnID), "%s on connection #%d:\n%s", a.Path, a.ConnID, harness.Timeline(calls, run.Clock))
			}
		}
	})

	// settle is how long the push stream must stay open after the reset.
	const settle = 2 * time.Second
	It(isolationName, harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(pushWithin+2*firstCallWithin+settle), func(ctx SpecContext) {
		requireVehicle("api-call", "push")
		req := harness.Requirement{Clause: "7.2.4.6", Rule: "a failure in one application will not affect other applications in the same channel"}
		push := openPush(req)
		run.Faults.Set(center.Fault{Times: 1, Protocol: center.ProtoGRPC, PathPrefix: apiPath, Reset: true})
		t0 := triggerAPICall(ctx)
		// INTERNAL (the client's reading of a reset stream) is retried by
		// Table 7-20; the retry must use the same connection.
		waitCalls(req, onPath(t0, apiPath), 2, firstCallWithin, "the API call and its retry after RST_STREAM")
		calls := waitAnswered(req, onPath(t0, apiPath), firstCallWithin)
		run.Wait(ctx, settle)
		now := run.Recorder.Attempts(func(a harness.Attempt) bool { return a.Seq == push.Seq && a.Path == pushPath })
		all := append(calls, now...)
		if len(now) != 1 || !now[0].AnsweredAt.IsZero() {
			fail(req, "the push stream still open after the API call's stream was reset", "\n%s", harness.Timeline(all, run.Clock))
		}
		for _, a := range calls {
			if a.ConnID != push.ConnID {
				fail(req, fmt.Sprintf("the API call and its retry on the push stream's connection #%d", push.ConnID), "%s on connection #%d:\n%s", a.Path, a.ConnID, harness.Timeline(all, run.Clock))
			}
		}
	})

	It(cookieName, harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(3*firstCallWithin), func(ctx SpecContext) {
		requireVehicle("api-call")
		req := harness.Requirement{Clause: "7.2.4.6 (I-111)", Rule: "In case that stateful connection is required based on session management by the center with ALB configured environment, use sticky sessions (Cookie)."}
		value := fmt.Sprintf("r%d", rand.Uint32())
		run.Faults.Set(center.Fault{Times: 1, Protocol: center.ProtoGRPC, PathPrefix: apiPath, Header: http.Header{"Set-Cookie": {"icoc_route=" + value + "; Path=/; Secure"}}})
		t0 := triggerAPICall(ctx)
		waitCalls(req, onPath(t0, apiPath), 1, firstCallWithin, "the first API call")
		waitAnswered(req, onPath(t0, apiPath), firstCallWithin)
		t1 := triggerAPICall(ctx)
		later := waitCalls(req, onPath(t1, apiPath), 1, firstCallWithin, "the second API call")[0]
		if !strings.Contains(strings.Join(later.Header.Values("cookie"), "; "), "icoc_route="+value) {
			fail(req, "cookie: icoc_route="+value+" on the call after the answer that set it", "cookie %q", later.Header.Values("cookie"))
		}
	})

	// The preconditions spec: settle after power-down, after IG-ON and
	// after the clean-up's IG-ON, watch for a connection without the VIN,
	// then wait for the upload once the VIN is on the bus.
	const noVINWatch = 15 * time.Second
	It(preconditionsName, harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(3*settle+noVINWatch+firstCallWithin), func(ctx SpecContext) {
		requireVehicle("data-upload")
		req := harness.Requirement{Clause: "7.2.4.6", Rule: "Establish gRPC connection when all of the following conditions are applied: [...] Obtaining VIN"}
		DeferCleanup(func(ctx SpecContext) {
			Expect(run.SetVINBroadcast(true)).To(Succeed())
			Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
			run.Wait(ctx, settle)
		})
		// Power the DUT down, then up with IG-ON but no VIN on the bus.
		Expect(run.SetVINBroadcast(false)).To(Succeed())
		Expect(run.Ignition(ctx, bench.BOff)).To(Succeed())
		run.Wait(ctx, settle)
		since := time.Now()
		Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
		run.Wait(ctx, settle)
		triggerUpload(ctx, true)
		run.Wait(ctx, noVINWatch)
		if conns := run.Recorder.Connections(since); len(conns) > 0 {
			fail(req, "no connection to the center before the VIN is on the bus", "%d connection(s), the first from %s at %s; calls:\n%s",
				len(conns), conns[0].RemoteAddr, conns[0].AcceptedAt.Format(time.StampMilli), harness.Timeline(run.Recorder.Attempts(onPath(since, canPath, pushPath, apiPath)), run.Clock))
		}
		Expect(run.SetVINBroadcast(true)).To(Succeed())
		got := waitCalls(req, onPath(since, canPath), 1, firstCallWithin, "the upload once the VIN is on the bus")
		if v := got[0].Header.Get("vehicle_id"); v != run.Profile.DUT.VIN {
			fail(req, "vehicle_id "+run.Profile.DUT.VIN+" on the first upload after the VIN arrived", "vehicle_id %q", v)
		}
	})
})

func sessionQuirks() []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "grpc-channel-per-call", Specs: []string{oneChannelName}},
		{Quirk: "grpc-reconnect-on-error", Specs: []string{isolationName}},
		{Quirk: "grpc-no-cookie", Specs: []string{cookieName}},
		{Quirk: "ignore-vin", Specs: []string{preconditionsName}},
	}
}
