package can_test

import (
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var vinName = harness.SpecName("7.2.2.7",
	"session establishment: after power-up the DUT stays silent until IG-ON and the VIN have arrived on the bus, then uploads")

// 7.2.2.7 Session Management: "Establish an http/1.1 connection when all of
// the following conditions are applied. [...] Obtaining VIN". 7.1.1.5: "+B
// is turned OFF" (the unit loses power). Table 5-1: uploads are the ECU's,
// during IG-ON.
var _ = Describe("7.2.2.7 Session establishment", func() {
	It(vinName, harness.Labels(harness.CAN, harness.HTTP1, harness.VehicleDUT), harness.SpecTime(2*time.Minute), func(ctx SpecContext) {
		run.Requires("data-upload")
		req := harness.Requirement{Clause: "7.2.2.7", Rule: "Establish an http/1.1 connection when all of the following conditions are applied: [...] Obtaining VIN"}
		DeferCleanup(func(ctx SpecContext) {
			Expect(run.SetVINBroadcast(true)).To(Succeed())
			Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
			run.Wait(ctx, 2*time.Second)
		})
		// Power the DUT down and up again with the ignition off: it knows
		// nothing the bus has not told it since.
		Expect(run.SetVINBroadcast(false)).To(Succeed())
		Expect(run.Ignition(ctx, bench.BOff)).To(Succeed())
		run.Wait(ctx, 2*time.Second)
		since := time.Now()
		Expect(run.Ignition(ctx, bench.IGOff)).To(Succeed())
		Expect(run.SetVINBroadcast(true)).To(Succeed())
		run.Wait(ctx, 2*time.Second)

		// Ignition off, VIN known: a trigger is not obeyed.
		idOff := harness.NextRequestID()
		Expect(run.Send(ctx, harness.CANData(30, salt())...)).To(Succeed())
		Expect(run.TriggerUpload(ctx, bench.UploadTrigger{Trigger: 'c', RealTime: true, RequestID: idOff})).To(Succeed())
		run.Wait(ctx, 10*time.Second)

		// Power cycle again; IG-ON, but no VIN on the bus.
		Expect(run.SetVINBroadcast(false)).To(Succeed())
		Expect(run.Ignition(ctx, bench.BOff)).To(Succeed())
		run.Wait(ctx, 2*time.Second)
		Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
		run.Wait(ctx, 2*time.Second)
		id := harness.NextRequestID()
		Expect(run.Send(ctx, harness.CANData(30, salt())...)).To(Succeed())
		Expect(run.TriggerUpload(ctx, bench.UploadTrigger{Trigger: 'c', RealTime: true, RequestID: id})).To(Succeed())
		run.Wait(ctx, 20*time.Second)
		silent := run.Recorder.Attempts(after(since, nil))
		Expect(silent).To(BeEmpty(), "%s\nthe DUT talked to the center before IG-ON and the VIN were on the bus:\n%s", req, harness.Timeline(silent, run.Clock))

		// The VIN arrives: the trigger that waited is obeyed, with the VIN.
		Expect(run.SetVINBroadcast(true)).To(Succeed())
		var got []harness.Attempt
		Eventually(func() int {
			got = run.Recorder.Attempts(withRequestID(id))
			return len(got)
		}).WithTimeout(run.Clock.Wall(20*time.Second)).WithPolling(10*time.Millisecond).Should(BeNumerically(">=", 1),
			"%s\nno upload within 20 s of spec time after the VIN arrived on the bus", req)
		Expect(got[0].Header.Get("vehicle_id")).To(Equal(run.Profile.DUT.VIN), "%s\nvehicle_id of the first upload after the VIN arrived", req)
		Expect(run.Recorder.Attempts(withRequestID(idOff))).To(BeEmpty(), "%s\nthe DUT obeyed an upload trigger sent with the ignition off", req)
	})
})
