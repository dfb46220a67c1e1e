package harness

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/bus"
)

// BenchmarkBusToCenterLatency runs the built-in sim profile (the reference
// vehicle on the host ICOC_DUT_HOST names, in process by default, behind the
// run's fault proxy) and, per iteration, puts two wall seconds of CAN data
// on the bus at 10% or 100% of a 1 Mbit/s classic CAN bus, waits until the
// center has all of it, and reports the bus-to-center latency of every
// frame: p50 and p99 in spec seconds (the vehicle uploads at least every
// spec minute, Table 5-1) and in wall milliseconds at the profile's time
// scale, and how many frames were lost (must be 0).
func BenchmarkBusToCenterLatency(b *testing.B) {
	r, err := Start()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Stop()
	ctx := context.Background()
	if err := r.Ignition(ctx, bench.IGOn); err != nil {
		b.Fatal(err)
	}
	r.Wait(ctx, 2*time.Second)
	for _, load := range []float64{0.1, 1} {
		b.Run(map[float64]string{0.1: "load=10%", 1: "load=100%"}[load], func(b *testing.B) {
			var all Delivery
			var lost int
			var drops0 uint64
			if st, err := r.vehicleBusStats(); err == nil {
				drops0 = st.Drops
			}
			var bad Delivery
			for i := 0; i < b.N; i++ {
				n := int(bus.MaxFrameRate(r.Profile.CAN.bitrate(), 8) * load * 2)
				since := time.Now()
				sent, err := r.SendPaced(ctx, load, CANData(n, uint16(1000+i)+uint16(load*100)))
				if err != nil {
					b.Fatal(err)
				}
				deadline := time.Now().Add(r.Clock.Wall(3*time.Minute) + 10*time.Second)
				var d Delivery
				for {
					got, err := r.ReceivedCANData(since)
					if err != nil {
						b.Fatal(err)
					}
					if d = JudgeDelivery(sent, got, r.Clock); d.Received >= len(sent) || time.Now().After(deadline) {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				all.Latency = append(all.Latency, d.Latency...)
				lost += len(d.Missing)
				if !d.OK() {
					bad = d
				}
			}
			b.ReportMetric(all.Percentile(50).Seconds(), "p50-spec-s")
			b.ReportMetric(all.Percentile(99).Seconds(), "p99-spec-s")
			b.ReportMetric(float64(r.Clock.Wall(all.Percentile(50)).Milliseconds()), "p50-wall-ms")
			b.ReportMetric(float64(r.Clock.Wall(all.Percentile(99)).Milliseconds()), "p99-wall-ms")
			b.ReportMetric(float64(lost), "lost")
			// Where a lost frame went: the kernel counts the frames it
			// dropped at the in-process vehicle's full socket queue.
			where := ""
			if st, err := r.vehicleBusStats(); err == nil {
				b.ReportMetric(float64(st.Drops-drops0), "kernel-drops")
				where = fmt.Sprintf("; the kernel dropped %d frames at the vehicle's bus socket (receive buffer %d bytes)", st.Drops-drops0, st.Buffer)
			}
			if lost > 0 {
				b.Errorf("%d frames never reached the center at %.0f%% bus load%s; last bad iteration: %s", lost, load*100, where, bad)
			}
		})
	}
}
