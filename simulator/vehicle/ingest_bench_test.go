package vehicle

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/bus"
	"go.einride.tech/can"
)

// BenchmarkCANIngest puts 8-byte frames on the emulated bus paced at a
// classic CAN bus's full rate (1 Mbit/s, 100% load: 9,009 frames/s; the
// pacer never sends faster) and reports the rate the vehicle took them in
// and how many it lost (must be 0).
func BenchmarkCANIngest(b *testing.B) {
	for _, load := range []float64{0.1, 1} {
		b.Run(map[float64]string{0.1: "load=10%", 1: "load=100%"}[load], func(b *testing.B) {
			benchIngest(b, load)
		})
	}
}

func benchIngest(b *testing.B, load float64) {
	emu, err := bus.NewEmulator()
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	pki := filepath.Join("..", "..", "fixtures", "pki")
	cfg := NewDefaultConfig()
	cfg.CenterURL = "https://center.icoc.test:443"
	cfg.CenterAddr = "127.0.0.1:1"
	cfg.CertFile, cfg.KeyFile, cfg.RootCAFile = filepath.Join(pki, "vehicle.chain.pem"), filepath.Join(pki, "vehicle.key.pem"), filepath.Join(pki, "root.crt.pem")
	cfg.Bus = emu.Config()
	cfg.TimeScale = 100 // no periodic upload during the run
	v, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	<-v.Ready()
	tx, err := bus.Open(ctx, emu.Config())
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Close()
	_ = tx.TransmitFrame(ctx, bench.IgnitionFrame(bench.IGOn))
	time.Sleep(50 * time.Millisecond)

	n := int(bus.MaxFrameRate(1_000_000, 8) * load) // one second of bus time
	frames := make([]can.Frame, n)
	for i := range frames {
		frames[i] = can.Frame{ID: 0x300, Length: 8, Data: can.Data{byte(i >> 8), byte(i)}}
	}
	p := &bus.Pacer{Bitrate: 1_000_000, Load: load}
	st0, stErr := v.BusStats()
	b.ResetTimer()
	var sent, lost int
	var wall time.Duration
	for it := 0; it < b.N; it++ {
		v.mu.Lock()
		before := v.dataFrames
		v.mu.Unlock()
		start := time.Now()
		if _, err := p.Transmit(ctx, tx, frames); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Second)
		var got uint64
		for {
			v.mu.Lock()
			got = v.dataFrames - before
			v.buffered = nil
			v.mu.Unlock()
			if got >= uint64(n) || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		wall += time.Since(start)
		sent += n
		lost += n - int(got)
	}
	b.StopTimer()
	b.ReportMetric(float64(sent-lost)/wall.Seconds(), "frames/s")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(bus.MaxFrameRate(1_000_000, 8)*load, "bus-limit-frames/s")
	// Where a lost frame went: the kernel counts what it dropped at the
	// vehicle's socket because the receive queue was full.
	where := "the kernel's drop count is not available: " + fmt.Sprint(stErr)
	if st1, err := v.BusStats(); stErr == nil && err == nil {
		b.ReportMetric(float64(st1.Drops-st0.Drops), "kernel-drops")
		where = fmt.Sprintf("the kernel dropped %d at the vehicle's socket (receive buffer %d bytes)", st1.Drops-st0.Drops, st1.Buffer)
	}
	if lost > 0 {
		b.Errorf("%d of %d frames lost at %.0f%% bus load; %s", lost, sent, load*100, where)
	}
}
