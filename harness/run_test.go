package harness

import (
	"context"
	"errors"
	"flag"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/bus"
	"go.einride.tech/can"
)

// useProfile makes Start load path for the rest of the test.
func useProfile(t *testing.T, path string) {
	t.Helper()
	old := *flagProfile
	if err := flag.Set("icoc.profile", path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flag.Set("icoc.profile", old) })
}

// busListener is a DUT's view of the run's bus: what the body ECU
// broadcasts.
type busListener struct {
	ign  chan bench.Ignition
	vin  chan string
	conn *bus.Conn
}

// listen joins the run's bus as a late DUT would.
func listen(t *testing.T, r *Run) *busListener {
	t.Helper()
	c, err := bus.Open(context.Background(), r.Bus.Config())
	if err != nil {
		t.Fatal(err)
	}
	l := &busListener{ign: make(chan bench.Ignition, 1000), vin: make(chan string, 1000), conn: c}
	ignID, vinID := bench.IgnitionFrame(bench.IGOn).ID, bench.VINFrames
	vf, _ := vinID(r.Profile.DUT.VIN)
	go func() {
		var asm bench.VINAssembler
		for c.Receive() {
			f := c.Frame()
			switch f.ID {
			case ignID:
				if i, err := bench.DecodeIgnition(f); err == nil {
					l.ign <- i
				}
			case vf[0].ID:
				if v, err := asm.Add(f); err == nil && v != "" {
					l.vin <- v
				}
			}
		}
	}()
	t.Cleanup(func() { _ = c.Close() })
	return l
}

// A DUT that joins the bus after the run started learns the ignition state
// and the VIN from the broadcast, which runs from the start; a later
// ignition change is broadcast too. On the emulator (can.udp) and on the
// harness's CAN hub (can.hub).
func TestBroadcastFromStartReachesLateDUT(t *testing.T) {
	for _, c := range []struct{ bus, profile string }{
		{"emulator", "testdata/profiles/bench-scaled-declared.yaml"},
		{"hub", "testdata/profiles/bench-hub.yaml"},
	} {
		t.Run(c.bus, func(t *testing.T) { broadcastReachesLateDUT(t, c.profile) })
	}
}

func broadcastReachesLateDUT(t *testing.T, profile string) {
	useProfile(t, profile)
	r, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	time.Sleep(100 * time.Millisecond) // the DUT attaches late
	l := listen(t, r)
	deadline := time.After(5 * time.Second)
	var ign *bench.Ignition
	vin := ""
	for ign == nil || vin == "" {
		select {
		case i := <-l.ign:
			ign = &i
		case vin = <-l.vin:
		case <-deadline:
			t.Fatalf("a late DUT heard ignition %v and VIN %q within 5 s; want IG-ON and %s", ign, vin, r.Profile.DUT.VIN)
		}
	}
	if *ign != bench.IGOn || vin != r.Profile.DUT.VIN {
		t.Errorf("broadcast %v and %q; want IG-ON and %s", *ign, vin, r.Profile.DUT.VIN)
	}
	if err := r.Ignition(context.Background(), bench.IGOff); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case i := <-l.ign:
			if i == bench.IGOff {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("IG-OFF not broadcast within 5 s of Ignition(IG-OFF)")
		}
	}
}

// WithSilentBus keeps the body ECU quiet until the first Ignition.
func TestSilentBusUntilIgnition(t *testing.T) {
	useProfile(t, "testdata/profiles/bench-scaled-declared.yaml")
	r, err := Start(WithSilentBus())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	l := listen(t, r)
	select {
	case i := <-l.ign:
		t.Fatalf("silent bus broadcast %v", i)
	case v := <-l.vin:
		t.Fatalf("silent bus broadcast VIN %s", v)
	case <-time.After(300 * time.Millisecond): // 15 broadcast periods at this scale
	}
	if err := r.Ignition(context.Background(), bench.IGOn); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.vin:
	case <-time.After(5 * time.Second):
		t.Fatal("no VIN broadcast within 5 s of IG-ON")
	}
}

// The profile's spec readings reach the run (Run.Spec) and the simulators
// that read them: the reference vehicle sends its VIN in the header the
// profile names, and the harness's center takes it there (it answers 400
// to an upload without the header it expects) and accepts a trigger the
// default reading refuses. Both for a vehicle in process and for one in
// its own process (given the readings by its -spec flag).
func TestSpecReadingsReachSimulators(t *testing.T) {
	useProfile(t, "testdata/profiles/sim-spec.yaml")
	for _, h := range []Host{HostInProcess, HostProcess} {
		t.Run(string(h), func(t *testing.T) {
			t.Setenv(EnvDUTHost, string(h))
			r, err := Start()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Stop()
			if r.Spec.Options.VehicleIDHeader != "x_vin" || r.Spec.UserAgent.VehicleIDHeader != "x_vin" || !r.Spec.FileName.AnyTrigger {
				t.Fatalf("Run.Spec: header %q, any trigger %v", r.Spec.Options.VehicleIDHeader, r.Spec.FileName.AnyTrigger)
			}
			ctx := context.Background()
			since := time.Now()
			time.Sleep(r.Profile.warmUp() + 100*time.Millisecond)
			if err := r.TriggerUpload(ctx, bench.UploadTrigger{RealTime: true, Trigger: 'z', RequestID: 4711}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				as := r.Recorder.Attempts(func(a Attempt) bool { return !a.ReceivedAt.Before(since) && UploadOf(4711)(a) })
				if len(as) > 0 {
					a := as[0]
					if a.Header.Get("x_vin") != r.Profile.DUT.VIN || a.Header.Get("vehicle_id") != "" || a.Status != 200 {
						t.Errorf("upload %s: x_vin %q, vehicle_id %q, status %d; want the VIN in x_vin only, 200", a.Path, a.Header.Get("x_vin"), a.Header.Get("vehicle_id"), a.Status)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("no upload with request ID 4711 within 10 s; the center saw:\n%s", Timeline(r.Recorder.Attempts(nil), r.Clock))
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// busTap records when each frame of the run reached the bus.
type busTap struct {
	tx     bus.FrameTransmitter
	mu     sync.Mutex
	at     []time.Time
	frames []can.Frame
}

func (b *busTap) TransmitFrame(ctx context.Context, f can.Frame) error {
	b.mu.Lock()
	b.at = append(b.at, time.Now())
	b.frames = append(b.frames, f)
	b.mu.Unlock()
	return b.tx.TransmitFrame(ctx, f)
}

// Everything the run sends shares the bus at the profile's bitrate: the
// cyclic ignition and VIN broadcast, Send, a burst at full load by
// SendPaced and the stimuli, sent at once from several goroutines, never
// start a frame before the one before has ended.
func TestRunSendsNoFasterThanTheBus(t *testing.T) {
	useProfile(t, "testdata/profiles/bench-slow-bus.yaml")
	tap := &busTap{}
	r, err := Start(func(o *startOptions) {
		o.tapBus = func(tx bus.FrameTransmitter) bus.FrameTransmitter { tap.tx = tx; return tap }
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		if _, err := r.SendPaced(ctx, 1, CANData(60, 7)); err != nil {
			t.Error(err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := r.Send(ctx, CANData(30, 8)...); err != nil {
			t.Error(err)
		}
	}()
	go func() {
		defer wg.Done()
		for range 5 {
			if err := r.TriggerUpload(ctx, bench.UploadTrigger{Trigger: 'c', RequestID: 1}); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	bitrate := r.Profile.CAN.bitrate()
	tap.mu.Lock()
	defer tap.mu.Unlock()
	broadcast := 0
	for i, f := range tap.frames {
		if f.ID == bench.IDIgnition || f.ID == bench.IDVIN {
			broadcast++
		}
		if i == 0 {
			continue
		}
		need := time.Duration(float64(bus.FrameBits(tap.frames[i-1])) / float64(bitrate) * float64(time.Second))
		if gap := tap.at[i].Sub(tap.at[i-1]); gap < need-50*time.Microsecond {
			t.Fatalf("frame %d (ID %X) went out %v after frame %d (ID %X), which keeps a %d bit/s bus busy %v", i, f.ID, gap, i-1, tap.frames[i-1].ID, bitrate, need)
		}
	}
	if broadcast == 0 || len(tap.frames) < 95+broadcast {
		t.Errorf("%d frames on the bus, %d of them the broadcast's; want the 95 sent and the broadcast's", len(tap.frames), broadcast)
	}
}

// Stop reports a reference vehicle that ended on its own: an in-process
// vehicle whose Run failed, and a vehicle process that died under the run
// (killed here); a vehicle that ends as Stop asks is no error.
func TestStopReportsVehicleExit(t *testing.T) {
	r := &Run{vehErr: make(chan error, 1)}
	r.vehErr <- errors.New("CAN bus udp-emulator:239.64.142.206:1: read: broken")
	if err := r.Stop(); err == nil || !strings.Contains(err.Error(), "in process") || !strings.Contains(err.Error(), "broken") {
		t.Errorf("in-process vehicle failed: Stop said %v", err)
	}
	t.Setenv(EnvDUTHost, string(HostProcess))
	for _, kill := range []bool{false, true} {
		r, err := Start()
		if err != nil {
			t.Fatal(err)
		}
		if kill {
			_ = r.host.proc.cmd.Process.Kill()
			<-r.host.proc.done
		}
		err = r.Stop()
		switch {
		case kill && (err == nil || !strings.Contains(err.Error(), "exited before the run ended") || !strings.Contains(err.Error(), "killed")):
			t.Errorf("vehicle process killed under the run: Stop said %v", err)
		case !kill && err != nil:
			t.Errorf("vehicle process stopped by Stop: %v", err)
		}
	}
}
