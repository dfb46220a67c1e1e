package harness

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/bus"
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
