package can_test

import (
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	. "github.com/onsi/ginkgo/v2"
)

var oracleName = harness.SpecName("5 T5-1 CAN",
	"CAN data: every frame put on the bus (4000, in bursts at full bus load) reaches the center once, in order, with its data, within a minute")

// Table 5-1 Use cases, "Uploading CAN data": "Periodic uploads (every
// minute)"; 7.2.2.9.1 Data Uploading: "requestBody: Data (Body part)".
// Appendix 1 §1: "Big endian shall be adopted".
var _ = Describe("Table 5-1 Uploading CAN data", func() {
	It(oracleName, harness.Labels(harness.CAN, harness.HTTP1, harness.VehicleDUT, harness.Slow), SpecTimeout(5*time.Minute), func(ctx SpecContext) {
		run.Requires("data-upload")
		req := harness.Requirement{Clause: "5 Table 5-1 (Uploading CAN data); 7.2.2.9.1",
			Rule: "Periodic uploads (every minute); the data taken off the bus is uploaded to the center"}
		since := time.Now()
		frames := harness.CANData(4000, salt())
		// Eight bursts of 500 frames at full bus load, 10 s of spec time
		// apart: the data of more than one periodic upload.
		sent := sendBursts(ctx, frames, 500, 10*time.Second)

		tol := run.Profile.Tolerance
		limit := time.Minute + tol.Allowed(time.Minute) + 5*time.Second
		d := awaitDelivery(ctx, since, sent, limit+time.Minute)
		reportLatency(d)
		if !d.OK() {
			Fail(harness.Verdict(req, "every frame put on the bus once, in order, with its data, at the center", deliveryActual(d, since)))
		}
		if d.Percentile(100) > limit {
			Fail(harness.Verdict(req, fmt.Sprintf("every frame at the center at most %v (spec time) after it was put on the bus (a minute, plus tolerance and upload time)", limit), d.String()))
		}
	})
})
