package grpc_test

import (
	"math/rand/v2"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/spec/grpcpb"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var (
	pushStreamName = harness.SpecName("7.2.4.4.2", "the DUT keeps a GetPushNotifications stream open (always on) with vehicle_id, accepted by the center")
	pushRecvName   = harness.SpecName("7.2.4.4.2", "a push notification is received on the kept stream: the stream stays open (I-105)")
)

// 7.2.4.4.2 Push from the center (Table 7-15): "rpc
// GetPushNotifications(Request) returns (stream Response)"; Table A2-1:
// "Push from the center: Always-on connection (between DCM and TSC)".
// Register I-105: no acknowledgement message exists; receipt is judged by
// the DUT keeping the stream through a notification and obeying a
// RETRYAFTER status on it (7_2_4_4_retryafter_test.go).
var _ = Describe("7.2.4.4.2 Push from the center over gRPC", func() {
	It(pushStreamName, harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(pushWithin), func(ctx SpecContext) {
		requireVehicle("push")
		req := harness.Requirement{Clause: "7.2.4.4.2, Table A2-1, 7.2.4.4 (I-024, I-105)", Rule: "rpc GetPushNotifications(Request) returns (stream Response); Push from the center: Always-on connection"}
		p := openPush(req)
		if v := p.Header.Values("vehicle_id"); len(v) != 1 || v[0] != run.Profile.DUT.VIN {
			fail(req, "vehicle_id: "+run.Profile.DUT.VIN+" on the push stream", "vehicle_id %q", v)
		}
	})

	// watch is how long the stream must stay open after the notification.
	const watch = 5 * time.Second
	It(pushRecvName, harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(pushWithin+watch), func(ctx SpecContext) {
		requireVehicle("push")
		req := harness.Requirement{Clause: "7.2.4.4.2 Table 7-15 (I-105)", Rule: "msg_notification: app_id, sub_id, expires, app_data (less than 2048 bytes); Push from the center: Always-on connection"}
		p := openPush(req)
		n := &grpcpb.Response{MsgNotification: &grpcpb.Response_PushNotification{
			AppId: rand.Uint32N(1000), SubId: rand.Uint32N(1000), Expires: time.Now().Add(time.Hour).UTC().Format(time.RFC3339), AppData: []byte("push payload")}}
		Expect(run.Center.GRPCPush(ctx, run.Profile.DUT.VIN, n, false)).To(Succeed(), req.String())
		run.Wait(ctx, watch)
		all := run.Recorder.Attempts(onPath(p.ReceivedAt, pushPath))
		if len(all) != 1 || !all[0].AnsweredAt.IsZero() {
			fail(req, "the push stream that carried the notification still open, no other", "\n%s", harness.Timeline(all, run.Clock))
		}
	})
})

func pushQuirks() []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "grpc-no-push", Specs: []string{pushStreamName, pushRecvName}},
		{Quirk: "grpc-push-no-vehicle-id", Specs: []string{pushStreamName}},
		{Quirk: "grpc-push-end-on-notification", Specs: []string{pushRecvName}},
	}
}
