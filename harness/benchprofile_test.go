package harness

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBenchProfileGood(t *testing.T) {
	p, err := LoadProfile("testdata/profiles/bench-good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.CAN.Interface != "lo" || p.CAN.bitrate() != 500000 || p.Clock.Mode != "real" || len(p.Bench.Stimuli) != 3 {
		t.Errorf("loaded %+v", p)
	}
}

// The shipped example loads but for its interface (can0 is on a bench, not
// here) and its listen port.
func TestBenchExampleProfileFailsOnlyForTheBench(t *testing.T) {
	_, err := LoadProfile("../profiles/bench-dcm.example.yaml")
	var pe *ProfileError
	if !errors.As(err, &pe) {
		t.Skipf("the example loaded: this host has can0 (%v)", err)
	}
	if pe.Field != "can.interface" || pe.Line != 28 {
		t.Errorf("want can.interface at line 28, got %v", err)
	}
}

// Each kind of bad bench profile fails with the file, the field and its line.
func TestBadBenchProfiles(t *testing.T) {
	for _, c := range []struct {
		file  string
		field string
		line  int
		want  string
	}{
		{"bench-missing-interface.yaml", "can.interface", 12, `"can9": no such network interface`},
		{"bench-unknown-signal.yaml", "bench.stimuli.ig-on.signals.IgnitionStatus", 19, `has no signal "IgnitionStatus"`},
		{"bench-unknown-message.yaml", "bench.stimuli.ig-on.message", 18, `"Ignitoin" is not a message`},
		{"bench-unreachable-address.yaml", "center.listen", 26, "unreachable from this host"},
	} {
		t.Run(c.file, func(t *testing.T) {
			_, err := LoadProfile("testdata/profiles/" + c.file)
			var pe *ProfileError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ProfileError", err, err)
			}
			msg := err.Error()
			if pe.Field != c.field || pe.Line != c.line || !strings.Contains(msg, c.want) || !strings.Contains(msg, c.file) {
				t.Errorf("error %q: want field %s, line %d, %q", msg, c.field, c.line, c.want)
			}
		})
	}
}

// A real DUT may run on a scaled clock when it declares that its own timers
// run scaled; the profile's bus, warm-up, revocation address and spec
// readings load with it.
func TestBenchProfileScaledDeclared(t *testing.T) {
	p, err := LoadProfile("testdata/profiles/bench-scaled-declared.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.DUT.Simulated || p.Clock.Mode != "scaled" || p.Clock.Scale != 0.02 || !p.Clock.DUTRunsScaled {
		t.Errorf("clock %+v", p.Clock)
	}
	if p.CAN.UDP != "239.64.142.206:0" || p.FixedBus() != "" || p.warmUp() != 3*time.Second || p.Center.RevocationListen != "127.0.0.1:0" {
		t.Errorf("bench keys: can %+v, warm-up %v, revocation %q", p.CAN, p.warmUp(), p.Center.RevocationListen)
	}
	if p.Spec.VehicleIDLength != 15 || !p.Spec.HTTPRetry[429] || p.Spec.Triggers != "*" || p.Spec.GzipThresholdBytes != 2048 {
		t.Errorf("spec options %+v (unset keys keep the register's defaults)", p.Spec)
	}
	if clockMode(p.Clock) != "scaled (declared by the DUT)" {
		t.Errorf("report clock mode %q", clockMode(p.Clock))
	}
}

// Bad clock, bus, warm-up and spec keys fail with the file, the field and
// its line.
func TestBadBenchKeys(t *testing.T) {
	for _, c := range []struct {
		file  string
		field string
		line  int
		want  string
	}{
		{"scaled-real-device.yaml", "clock.mode", 6, "clock.dut_runs_scaled: true"},
		{"sim-declares-scaled.yaml", "clock.dut_runs_scaled", 13, "for a simulated DUT"},
		{"real-declares-scaled.yaml", "clock.dut_runs_scaled", 6, "clock.mode is real"},
		{"spec-bad-value.yaml", "spec.gzip_threshold_bytes", 9, "must be >= 1"},
		{"spec-unknown-key.yaml", "", 8, "field gzip_treshold_bytes not found"},
		{"can-two-buses.yaml", "can.hub", 9, "can.udp and can.hub are both set"},
		{"can-udp-unicast.yaml", "can.udp", 8, "not an IPv4 multicast group"},
		{"warm-up-negative.yaml", "bench.warm_up", 8, "-1s"},
	} {
		t.Run(c.file, func(t *testing.T) {
			_, err := LoadProfile("testdata/profiles/" + c.file)
			var pe *ProfileError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ProfileError", err, err)
			}
			msg := err.Error()
			if pe.Field != c.field || pe.Line != c.line || !strings.Contains(msg, c.want) || !strings.Contains(msg, c.file) {
				t.Errorf("error %q: want field %q, line %d, %q", msg, c.field, c.line, c.want)
			}
		})
	}
}
