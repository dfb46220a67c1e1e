package can_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
)

// TestVehicleStartedAloneHolds starts the reference vehicle on its own host
// (its own process, in its own network namespace where this run may create
// one) with nothing on the bus, and shows that it stays off the network
// until IG-ON and the VIN have arrived on the bus (7.2.2.7: "Establish an
// http/1.1 connection when all of the following conditions are applied.
// [...] Obtaining VIN"): CAN data and an upload trigger before IG-ON, then
// with IG-ON but no VIN, bring no connection to the center; the VIN brings
// the waiting upload. The vehicle hears only the bus and the network, so
// nothing else could have woken it. With the quirk ignore-vin the same
// check must see the vehicle talk too early.
func TestVehicleStartedAloneHolds(t *testing.T) {
	if os.Getenv(harness.EnvSkipSelfTest) != "" || os.Getenv("ICOC_SELFTEST_CHILD") != "" {
		t.Skip("runs its own vehicles; skipped inside a conformance run")
	}
	for _, c := range []struct {
		quirk     string
		violation bool
	}{{"", false}, {"ignore-vin", true}} {
		t.Run("quirks="+c.quirk, func(t *testing.T) {
			var q []string
			if c.quirk != "" {
				q = []string{c.quirk}
			}
			r, err := harness.Start(harness.PreferHost(harness.HostNetns), harness.WithQuirks(q...), harness.WithSilentBus())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Stop()
			if r.Host == harness.HostInProcess || !r.VehicleProcessAlive() {
				t.Fatalf("the vehicle runs %s; want its own process", r.Host)
			}
			t.Logf("vehicle host %s, transport %s %s", r.Host, r.Transport, r.HostNote)
			violation, err := holdsUntilIGOnAndVIN(r)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.violation && violation == "":
				t.Errorf("quirk %s not caught: the vehicle held until IG-ON and the VIN", c.quirk)
			case !c.violation && violation != "":
				t.Error(violation)
			}
		})
	}
}

// holdsUntilIGOnAndVIN drives a freshly started run's vehicle and returns
// what it did too early ("" when it held); err is a failure of the harness
// or a vehicle that never uploaded once allowed.
func holdsUntilIGOnAndVIN(r *harness.Run) (violation string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	early := func(stage string) string {
		if cs := r.Recorder.Connections(t0); len(cs) > 0 {
			return fmt.Sprintf("7.2.2.7: %s, the vehicle opened %d connection(s) to the center; it must not before IG-ON and the VIN are on the bus", stage, len(cs))
		}
		if as := r.Recorder.Attempts(nil); len(as) > 0 {
			return fmt.Sprintf("7.2.2.7: %s, the vehicle sent:\n%s", stage, harness.Timeline(as, r.Clock))
		}
		return ""
	}
	// Nothing on the bus but CAN data and an upload trigger: no ignition,
	// no VIN. A minute and more of spec time covers a periodic upload.
	if err := r.Send(ctx, harness.CANData(30, salt())...); err != nil {
		return "", err
	}
	if err := r.TriggerUpload(ctx, bench.UploadTrigger{Trigger: 'c', RealTime: true, RequestID: harness.NextRequestID()}); err != nil {
		return "", err
	}
	r.Wait(ctx, 70*time.Second)
	if v := early("with no ignition state and no VIN on the bus"); v != "" {
		return v, nil
	}
	// IG-ON, still no VIN.
	if err := r.SetVINBroadcast(false); err != nil {
		return "", err
	}
	if err := r.Ignition(ctx, bench.IGOn); err != nil {
		return "", err
	}
	r.Wait(ctx, 2*time.Second)
	id := harness.NextRequestID()
	if err := r.Send(ctx, harness.CANData(30, salt())...); err != nil {
		return "", err
	}
	if err := r.TriggerUpload(ctx, bench.UploadTrigger{Trigger: 'c', RealTime: true, RequestID: id}); err != nil {
		return "", err
	}
	r.Wait(ctx, 70*time.Second)
	if v := early("with IG-ON but no VIN on the bus"); v != "" {
		return v, nil
	}
	// The VIN arrives: the waiting upload goes, with the VIN.
	if err := r.SetVINBroadcast(true); err != nil {
		return "", err
	}
	deadline := time.Now().Add(r.Clock.Wall(20 * time.Second))
	for time.Now().Before(deadline) {
		if got := r.Recorder.Attempts(withRequestID(id)); len(got) > 0 {
			if vin := got[0].Header.Get("vehicle_id"); vin != r.Profile.DUT.VIN {
				return "", fmt.Errorf("7.2.2.7: the first upload after the VIN arrived carries vehicle_id %q; want %q", vin, r.Profile.DUT.VIN)
			}
			return "", nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "", fmt.Errorf("7.2.2.7: no upload within 20 s of spec time after IG-ON and the VIN were on the bus")
}
