package harness

import (
	"errors"
	"strings"
	"testing"
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
	if pe.Field != "can.interface" || pe.Line != 25 {
		t.Errorf("want can.interface at line 25, got %v", err)
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
