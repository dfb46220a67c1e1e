package can_test

import (
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var vinName = harness.SpecName("7.2.2.7",
	"session establishment: after power-up the DUT stays silent until the VIN has arrived on the bus, whatever the ignition does, then talks to the center with it")

// 7.2.2.7 Session Management: "Establish an http/1.1 connection when all of
// the following conditions are applied. > WAN side IP address shall be
// assigned [...] - Obtaining VIN > ADF upload has been completed." The
// ignition is not a condition: a DUT may take data, obey triggers and
// upload at IG-OFF (Appendix 1 §2 trigger "f: IG OFF trigger") once it has
// the VIN (register I-064). 7.1.1.5: "+B is turned OFF" (the unit loses
// power and, with it, the VIN it had read).
var _ = Describe("7.2.2.7 Session establishment", func() {
	It(vinName, harness.Labels(harness.CAN, harness.HTTP1, harness.VehicleDUT), SpecTimeout(3*time.Minute), func(ctx SpecContext) {
		run.Requires("data-upload")
		req := harness.Requirement{Clause: "7.2.2.7 (I-064)", Rule: "Establish an http/1.1 connection when all of the following conditions are applied: [...] Obtaining VIN"}
		DeferCleanup(func(ctx SpecContext) {
			Expect(run.SetVINBroadcast(true)).To(Succeed())
			Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
			run.Wait(ctx, 2*time.Second)
		})
		// Power the DUT down and up again with no VIN on the bus: it knows
		// nothing the bus has not told it since.
		Expect(run.SetVINBroadcast(false)).To(Succeed())
		Expect(run.Ignition(ctx, bench.BOff)).To(Succeed())
		run.Wait(ctx, 2*time.Second)
		since := time.Now()

		// Ignition off, no VIN: CAN data and an upload trigger.
		Expect(run.Ignition(ctx, bench.IGOff)).To(Succeed())
		run.Wait(ctx, 2*time.Second)
		Expect(run.Send(ctx, harness.CANData(30, salt())...)).To(Succeed())
		Expect(run.TriggerUpload(ctx, bench.UploadTrigger{Trigger: 'c', RealTime: true, RequestID: harness.NextRequestID()})).To(Succeed())
		run.Wait(ctx, 10*time.Second)
		// IG-ON, still no VIN: CAN data and a trigger.
		Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
		run.Wait(ctx, 2*time.Second)
		Expect(run.Send(ctx, harness.CANData(30, salt())...)).To(Succeed())
		Expect(run.TriggerUpload(ctx, bench.UploadTrigger{Trigger: 'c', RealTime: true, RequestID: harness.NextRequestID()})).To(Succeed())
		run.Wait(ctx, 30*time.Second)
		// IG-OFF (an IG-OFF upload, trigger f, may be due) and IG-ON again;
		// more than a minute since the data: a periodic upload would be due
		// too (Table 5-1).
		Expect(run.Ignition(ctx, bench.IGOff)).To(Succeed())
		run.Wait(ctx, 5*time.Second)
		Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
		run.Wait(ctx, 40*time.Second)
		vinAt := time.Now()
		silent := run.Recorder.Attempts(after(since, nil))
		conns := run.Recorder.Connections(since)
		if len(silent) > 0 || len(conns) > 0 {
			Fail(harness.Verdict(req, "no connection to the center from power-up until the VIN is on the bus (ignition off, then on, off and on again, CAN data and upload triggers meanwhile)",
				fmt.Sprintf("%d connection(s), %d request(s) without the VIN:\n%s", len(conns), len(silent), harness.Timeline(silent, run.Clock))))
		}

		// The VIN arrives: what waited (the triggers, the IG-OFF upload) or
		// at the latest the periodic upload of the data goes, with the VIN.
		Expect(run.SetVINBroadcast(true)).To(Succeed())
		tol := run.Profile.Tolerance
		within := time.Minute + tol.Allowed(time.Minute) + 20*time.Second
		deadline := time.Now().Add(run.Clock.Wall(within))
		var got []harness.Attempt
		for {
			got = run.Recorder.Attempts(after(vinAt, dataFiles))
			if len(got) > 0 {
				break
			}
			if time.Now().After(deadline) {
				Fail(harness.Verdict(req, fmt.Sprintf("an upload of the CAN data within %v (spec time) of the VIN arriving on the bus (Table 5-1: periodic uploads every minute)", within),
					"none; "+arrivedSince(vinAt, dataFiles)))
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Let whatever waited go, then check the VIN on every request.
		run.Wait(ctx, 10*time.Second)
		expectVehicleID(harness.Requirement{Clause: "7.2.2.7, 7.3", Rule: "values (VIN) that can be used to identify vehicles shall be assigned for all communications to TSC"},
			run.Recorder.Attempts(after(vinAt, nil)))
	})
})

// vinVariants: a DUT that takes data, obeys triggers and uploads at IG-OFF
// as soon as it has the VIN conforms (I-064).
func vinVariants() []harness.VariantCase {
	return []harness.VariantCase{{Variant: "ig-off-uploads", Specs: []string{vinName}}}
}
