package harness

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadBuiltinProfile(t *testing.T) {
	p, err := LoadProfile(BuiltinSimProfile)
	if err != nil {
		t.Fatal(err)
	}
	if !p.DUT.Simulated || !p.HasRole("vehicle") || p.Clock.Mode != "scaled" || p.Clock.Scale <= 0 {
		t.Errorf("built-in profile: %+v", p)
	}
	if !p.Has("http1.1") || p.Has("no-such-capability") {
		t.Errorf("capabilities: %v", p.DUT.Capabilities)
	}
}

// Each bad profile fails with one error that names the file, the field (or
// line) and the reason.
func TestBadProfiles(t *testing.T) {
	for _, c := range []struct {
		file  string
		field string
		want  string
	}{
		{"unknown-field.yaml", "", "field firmware_version not found"},
		{"missing-cert.yaml", "center.cert_file", "no-such-center.chain.pem: no such file or directory"},
		{"bad-address.yaml", "center.listen", "missing port"},
		{"short-vin.yaml", "dut.vin", "a VIN has 17"},
		{"scaled-real-device.yaml", "clock.mode", "only a simulated DUT"},
		{"grpc-center-no-address.yaml", "center.grpc_address", "capability grpc"},
		{"no-such-profile.yaml", "", "no such file or directory"},
	} {
		t.Run(c.file, func(t *testing.T) {
			_, err := LoadProfile("testdata/profiles/" + c.file)
			if err == nil {
				t.Fatal("loaded a bad profile")
			}
			var pe *ProfileError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ProfileError", err, err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			if !strings.Contains(msg, c.file) || !strings.Contains(msg, c.field) || !strings.Contains(msg, c.want) {
				t.Errorf("error %q should name %s, %q and %q", msg, c.file, c.field, c.want)
			}
		})
	}
}

// The harness's center listens for gRPC on port 0 in the sim and on 9080
// (Appendix 2) for a real DUT, unless the profile names the address.
func TestGRPCListenAddr(t *testing.T) {
	p, err := LoadProfile(BuiltinSimProfile)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.GRPCListenAddr(); got != "127.0.0.1:0" || !p.Has("grpc") {
		t.Errorf("sim: %q, capabilities %v", got, p.DUT.Capabilities)
	}
	p.DUT.Simulated = false
	if got := p.GRPCListenAddr(); got != "127.0.0.1:9080" {
		t.Errorf("real DUT: %q", got)
	}
	p.Center.GRPCListen = "0.0.0.0:19080"
	if got := p.GRPCListenAddr(); got != "0.0.0.0:19080" {
		t.Errorf("named: %q", got)
	}
}

func TestUnknownFieldNamesLine(t *testing.T) {
	_, err := LoadProfile("testdata/profiles/unknown-field.yaml")
	var pe *ProfileError
	if !errors.As(err, &pe) || pe.Line != 6 {
		t.Errorf("want line 6, got %v", err)
	}
}
