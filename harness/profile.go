package harness

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/icoc-dev/icoc/spec"
	"go.yaml.in/yaml/v3"
)

//go:embed profiles/sim.yaml
var simProfileYAML []byte

// BuiltinSimProfile names the built-in profile: both reference simulators.
const BuiltinSimProfile = "builtin:sim"

// Profile describes one device under test and how the harness reaches it:
// its roles and capabilities (its PICS), identity, certificates, CAN
// interface, clock and tolerances. Paths in a loaded Profile are absolute.
type Profile struct {
	// Name identifies the profile in reports.
	Name string `yaml:"name"`
	// Source is the file the profile came from, or BuiltinSimProfile.
	Source string `yaml:"-"`
	// DUT is the device under test.
	DUT DUT `yaml:"dut"`
	// Clock is the DUT's clock: real, or scaled for the simulators.
	Clock Clock `yaml:"clock"`
	// Tolerance applies to every timing judgement, in spec time.
	Tolerance Tolerance `yaml:"tolerance"`
	// CAN says which bus reaches the DUT; an empty interface means the UDP
	// multicast emulator.
	CAN CANConfig `yaml:"can"`
	// Center is the center the harness runs when it plays the center.
	Center CenterConfig `yaml:"center"`
	// Bench is how the harness drives a real DUT (stimulus map, warm-up);
	// see benchprofile.go.
	Bench BenchConfig `yaml:"bench"`
	// Decoder names the decoder of the DUT's CAN data files (see Decoders);
	// empty means DefaultDecoder.
	Decoder string `yaml:"decoder"`
	// VISS is the DUT's VISS servers (viss.go).
	VISS VISSConfig `yaml:"viss"`
	// Spec holds the register's configurable readings for this DUT
	// (spec/INTERPRETATIONS.md, the **Configurable:** lines name the keys);
	// keys left out keep the register's default. Run.Spec is the spec
	// resolved with them, and a simulated vehicle or center reads them.
	Spec spec.Options `yaml:"spec"`
	// ExVe is the ISO 20078-2 part (profile_exve.go).
	ExVe ExVeConfig `yaml:"exve"`
	// MQTT is the DUT's MQTT side (7.2.5); see MQTTProfile (run_mqtt.go).
	MQTT MQTTProfile `yaml:"mqtt"`

	lines map[string]int // field path -> line in the source
}

// DUT is the identity and capabilities of the device under test.
type DUT struct {
	Name     string `yaml:"name"`
	Firmware string `yaml:"firmware"`
	// Roles holds "vehicle", "center", "offering-party" and/or
	// "accessing-party" (ISO 20078-2).
	Roles []string `yaml:"roles"`
	// Simulated means the harness starts the reference simulator for each
	// role itself.
	Simulated bool `yaml:"simulated"`
	// Host is where a simulated vehicle runs: inprocess, process or netns
	// (see Host); empty: the suite's choice.
	Host Host `yaml:"host"`
	// VIN is the vehicle identifier the DUT uses (17 characters).
	VIN string `yaml:"vin"`
	// Capabilities lists the protocols and optional features the DUT has;
	// specs for anything else are reported as not applicable.
	Capabilities []string `yaml:"capabilities"`
	// CertFile, KeyFile and RootCAFile are the DUT's client certificate
	// chain, its key, and the root it trusts; a simulated DUT uses them.
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	RootCAFile string `yaml:"root_ca_file"`
	// WildcardServerNames says the DUT accepts a wildcard server
	// certificate (*.icoc.test) for the center's name (register I-081): the
	// wildcard spec of Table 7-4 D then expects it to communicate; false
	// (the default) expects a refusal.
	WildcardServerNames bool `yaml:"wildcard_server_names"`
}

// CANConfig names the bus: a SocketCAN interface, the UDP multicast
// emulator (a group on this host's loopback interface), or the harness's
// CAN hub (unicast UDP, reachable from other hosts and namespaces). At
// most one of Interface, UDP and Hub is set; none means the emulator on a
// free port. The harness prints the bus it opened at start.
type CANConfig struct {
	// Interface is a SocketCAN interface such as can0.
	Interface string `yaml:"interface"`
	// UDP is the emulator's multicast group and port (e.g.
	// 239.64.142.206:29536); port 0 picks a free port per suite.
	UDP string `yaml:"udp"`
	// Hub is where the harness's CAN hub listens (host:port, UDP); a DUT
	// on another host joins it there. Port 0 picks a free port per suite.
	Hub string `yaml:"hub"`
	// Bitrate is the bus's bit rate in bit/s (classic CAN: at most 1
	// Mbit/s); 0 means 500 kbit/s on a real interface and 1 Mbit/s on the
	// emulator. The harness never sends faster than it allows.
	Bitrate int `yaml:"bitrate"`
}

// bitrate is the effective bit rate (see CANConfig.Bitrate).
func (c CANConfig) bitrate() int {
	switch {
	case c.Bitrate > 0:
		return c.Bitrate
	case c.Interface == "":
		return 1_000_000
	}
	return 500_000
}

// fixed names the profile key that fixes the bus's address ("can.udp" or
// "can.hub" with a non-zero port, "can.interface"), or "" when every
// suite gets a fresh emulator.
func (c CANConfig) fixed() string {
	port := func(a string) bool { _, p, _ := net.SplitHostPort(a); return p != "" && p != "0" }
	switch {
	case c.Interface != "":
		return "can.interface"
	case c.UDP != "" && port(c.UDP):
		return "can.udp"
	case c.Hub != "" && port(c.Hub):
		return "can.hub"
	}
	return ""
}

// FixedBus says which profile key fixes the CAN bus's address, or "" when
// each suite opens an emulator of its own. A fixed bus is one device's
// bus: runs against it go one process at a time.
func (p *Profile) FixedBus() string { return p.CAN.fixed() }

// CenterConfig is where and as whom the harness's center listens, and,
// when the DUT is a center, where the DUT is.
type CenterConfig struct {
	// Address is the DUT center's host:port when the DUT plays the center.
	Address string `yaml:"address"`
	// Listen is where the harness's center listens (host:port); a vehicle
	// DUT on a bench connects there.
	Listen string `yaml:"listen"`
	// Host is the center's name: the TLS server name the DUT asks for
	// (the center certificate names it).
	Host string `yaml:"host"`
	// RevocationListen is where the harness serves the test PKI's CRLs and
	// OCSP answers (the hosts crl.icoc.test and ocsp.icoc.test of the
	// certificates); empty: a free port on 127.0.0.1 per suite.
	RevocationListen string `yaml:"revocation_listen"`
	// DNSListen is where the harness's DNS server listens (UDP host:port):
	// it answers crl.icoc.test, ocsp.icoc.test and the center's host with
	// HarnessAddress, and stages the DNS faults of Tables 7-4/7-5 row G, so
	// a DUT must resolve those names with it for the row G specs. Empty: a
	// free port on 127.0.0.1 per suite; on a bench 0.0.0.0:53.
	DNSListen string `yaml:"dns_listen"`
	// HarnessAddress is the address the harness's DNS server answers for
	// those names: the harness PC as the DUT reaches it. Empty: 127.0.0.1.
	HarnessAddress string `yaml:"harness_address"`
	// SpareAddresses are two more addresses of the harness PC the DUT can
	// reach, used by rows G (several DNS answers, the first dead) and H (a
	// muted link) of Tables 7-4/7-5. Empty: 127.0.0.2 and 127.0.0.3.
	SpareAddresses []string `yaml:"spare_addresses"`
	// GRPCListen is where the harness's center listens for gRPC (7.2.4)
	// when the DUT has capability grpc; empty: Listen's host, port 0 for a
	// simulated DUT and 9080 (Appendix 2) for a real one.
	GRPCListen string `yaml:"grpc_listen"`
	// GRPCAddress is the DUT center's gRPC host:port when the DUT plays the
	// center and has capability grpc (Appendix 2: port 9080).
	GRPCAddress  string `yaml:"grpc_address"`
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// tlsDefaults fills the unset addresses of the TLS suite's DNS.
func (c *CenterConfig) tlsDefaults() {
	if c.DNSListen == "" {
		c.DNSListen = "127.0.0.1:0"
	}
	if c.HarnessAddress == "" {
		c.HarnessAddress = "127.0.0.1"
	}
	if len(c.SpareAddresses) == 0 {
		c.SpareAddresses = []string{"127.0.0.2", "127.0.0.3"}
	}
}

// Has reports whether the DUT has capability c.
func (p *Profile) Has(c string) bool { return slices.Contains(p.DUT.Capabilities, c) }

// HasRole reports whether the DUT plays role r.
func (p *Profile) HasRole(r string) bool { return slices.Contains(p.DUT.Roles, r) }

// ProfileError is a bad profile: the file, the field (and line when known)
// and the reason.
type ProfileError struct {
	File   string
	Field  string
	Line   int
	Reason string
}

func (e *ProfileError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field == "" {
		return fmt.Sprintf("profile %s: %s", loc, e.Reason)
	}
	return fmt.Sprintf("profile %s: %s: %s", loc, e.Field, e.Reason)
}

// LoadProfile reads a profile: BuiltinSimProfile (or "") for the built-in
// one, else a YAML file. Unknown fields, missing files and bad addresses are
// errors that name the file, the field and the reason. Relative paths in
// the file are made absolute against its directory (the repository root for
// the built-in profile).
func LoadProfile(path string) (*Profile, error) {
	var data []byte
	var base string
	source := path
	if path == "" || path == BuiltinSimProfile {
		root, err := RepoRoot()
		if err != nil {
			return nil, err
		}
		data, base, source = simProfileYAML, root, BuiltinSimProfile
	} else {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, &ProfileError{File: path, Reason: err.Error()}
		}
		data, err = os.ReadFile(abs)
		if err != nil {
			return nil, &ProfileError{File: path, Reason: "cannot read: " + unwrapPathError(err)}
		}
		base, source = filepath.Dir(abs), abs
	}
	p := &Profile{Spec: spec.DefaultOptions()}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil {
		return nil, yamlProfileError(source, err)
	}
	p.Source = source
	p.lines = fieldLines(data)
	for _, f := range []*string{&p.Bench.DBC, &p.DUT.CertFile, &p.DUT.KeyFile, &p.DUT.RootCAFile, &p.Center.CertFile, &p.Center.KeyFile, &p.Center.ClientCAFile,
		&p.ExVe.RootCAFile, &p.ExVe.Catalogue} {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(base, *f)
		}
	}
	p.VISS.absolute(base)
	p.Center.tlsDefaults()
	if err := p.validate(); err != nil {
		return nil, err
	}
	p.Tolerance = p.Tolerance.WithClock(p.Clock)
	return p, nil
}

// validate checks each field; the first error is returned, naming the field.
func (p *Profile) validate() error {
	bad := func(field, format string, args ...any) error {
		return &ProfileError{File: p.Source, Field: field, Line: lineOf(p.lines, field), Reason: fmt.Sprintf(format, args...)}
	}
	if p.Name == "" {
		return bad("name", "not set")
	}
	if len(p.DUT.Roles) == 0 {
		return bad("dut.roles", "not set: want vehicle, center, offering-party and/or accessing-party")
	}
	for _, r := range p.DUT.Roles {
		if r != "vehicle" && r != "center" && r != RoleOfferingParty && r != RoleAccessingParty {
			return bad("dut.roles", "%q is not a role: want vehicle, center, offering-party or accessing-party", r)
		}
	}
	if _, err := ParseHost(string(p.DUT.Host)); err != nil {
		return bad("dut.host", "%v", err)
	}
	if p.DUT.Host != "" && !p.DUT.Simulated {
		return bad("dut.host", "%s: only a simulated DUT has a host the harness starts it on", p.DUT.Host)
	}
	if len(p.DUT.VIN) != 17 {
		return bad("dut.vin", "%q has %d characters; a VIN has 17", p.DUT.VIN, len(p.DUT.VIN))
	}
	switch p.Clock.Mode {
	case "real":
		if p.Clock.Scale == 0 {
			p.Clock.Scale = 1
		}
		if p.Clock.Scale != 1 {
			return bad("clock.time_scale", "%v: a real clock runs at 1", p.Clock.Scale)
		}
		if p.Clock.DUTRunsScaled {
			return bad("clock.dut_runs_scaled", "true, but clock.mode is real: a DUT that runs its timers scaled needs mode scaled and its time_scale")
		}
	case "scaled":
		if p.Clock.Scale <= 0 || p.Clock.Scale > 1 {
			return bad("clock.time_scale", "%v: want 0 < scale <= 1 (wall seconds per spec second)", p.Clock.Scale)
		}
		if p.DUT.Simulated && p.Clock.DUTRunsScaled {
			return bad("clock.dut_runs_scaled", "true for a simulated DUT: the harness starts the simulators with time_scale itself; the key is for a real DUT that runs its own timers scaled")
		}
		if !p.DUT.Simulated && !p.Clock.DUTRunsScaled {
			return bad("clock.mode", "scaled: only a simulated DUT, or a real one whose timers run at time_scale by its own setting (declare it with clock.dut_runs_scaled: true), runs on a scaled clock; a real device needs mode real")
		}
	default:
		return bad("clock.mode", "%q: want real or scaled", p.Clock.Mode)
	}
	if p.Tolerance.Relative < 0 || p.Tolerance.Absolute < 0 || p.Tolerance.WallJitter < 0 {
		return bad("tolerance", "negative")
	}
	if p.HasRole("center") && !p.DUT.Simulated {
		if _, _, err := net.SplitHostPort(p.Center.Address); err != nil {
			return bad("center.address", "%q: %v (the DUT center's host:port)", p.Center.Address, err)
		}
	}
	if _, _, err := net.SplitHostPort(p.Center.Listen); err != nil {
		return bad("center.listen", "%q: %v", p.Center.Listen, err)
	}
	if err := p.validateGRPC(bad); err != nil {
		return err
	}
	if p.Center.Host == "" {
		return bad("center.host", "not set")
	}
	if _, _, err := net.SplitHostPort(p.Center.DNSListen); err != nil {
		return bad("center.dns_listen", "%q: %v", p.Center.DNSListen, err)
	}
	if net.ParseIP(p.Center.HarnessAddress) == nil {
		return bad("center.harness_address", "%q is not an IP address", p.Center.HarnessAddress)
	}
	if len(p.Center.SpareAddresses) != 2 || net.ParseIP(p.Center.SpareAddresses[0]) == nil || net.ParseIP(p.Center.SpareAddresses[1]) == nil {
		return bad("center.spare_addresses", "%q: want two IP addresses", p.Center.SpareAddresses)
	}
	files := []struct{ field, path string }{
		{"center.cert_file", p.Center.CertFile}, {"center.key_file", p.Center.KeyFile}, {"center.client_ca_file", p.Center.ClientCAFile},
	}
	if p.DUT.Simulated {
		files = append(files, []struct{ field, path string }{
			{"dut.cert_file", p.DUT.CertFile}, {"dut.key_file", p.DUT.KeyFile}, {"dut.root_ca_file", p.DUT.RootCAFile},
		}...)
	}
	for _, f := range files {
		if f.path == "" {
			return bad(f.field, "not set")
		}
		if _, err := os.Stat(f.path); err != nil {
			return bad(f.field, "%s", unwrapPathError(err))
		}
	}
	if err := p.validateExVe(bad); err != nil {
		return err
	}
	if err := p.Spec.Validate(); err != nil {
		var fe *spec.FieldError
		if errors.As(err, &fe) {
			return bad("spec."+fe.Field, "%s: %s", fe.Value, fe.Reason)
		}
		return bad("spec", "%v", err)
	}
	if err := p.validateVISS(bad); err != nil {
		return err
	}
	if err := p.validateMQTT(bad); err != nil {
		return err
	}
	return p.validateBench(bad)
}

// validateGRPC checks the gRPC addresses: well formed when given, and the
// center DUT's set when a real center DUT has capability grpc.
func (p *Profile) validateGRPC(bad func(field, format string, args ...any) error) error {
	for _, f := range []struct{ field, v string }{{"center.grpc_listen", p.Center.GRPCListen}, {"center.grpc_address", p.Center.GRPCAddress}} {
		if f.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(f.v); err != nil {
			return bad(f.field, "%q: %v", f.v, err)
		}
	}
	if p.Has("grpc") && p.HasRole("center") && !p.DUT.Simulated && p.Center.GRPCAddress == "" {
		return bad("center.grpc_address", "not set: the DUT center's gRPC host:port (Appendix 2: port 9080), needed by capability grpc")
	}
	return nil
}

// GRPCListenAddr is where the harness's center listens for gRPC: see
// CenterConfig.GRPCListen.
func (p *Profile) GRPCListenAddr() string {
	if p.Center.GRPCListen != "" {
		return p.Center.GRPCListen
	}
	host, _, _ := net.SplitHostPort(p.Center.Listen)
	port := "0"
	if !p.DUT.Simulated {
		port = "9080"
	}
	return net.JoinHostPort(host, port)
}

// yamlProfileError turns a YAML decoding error into a ProfileError with the
// line and field when the decoder gave them.
func yamlProfileError(file string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		line := 0
		if _, rest, ok := strings.Cut(msg, "line "); ok {
			fmt.Sscanf(rest, "%d", &line)
			if _, after, ok := strings.Cut(rest, ": "); ok {
				msg = after
			}
		}
		return &ProfileError{File: file, Line: line, Reason: msg}
	}
	return &ProfileError{File: file, Reason: strings.TrimPrefix(err.Error(), "yaml: ")}
}

func unwrapPathError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s: %v", pe.Path, pe.Err)
	}
	return err.Error()
}

// RepoRoot finds the repository root: the nearest directory upwards from the
// working directory that holds icoc's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/icoc-dev/icoc\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the icoc repository (no go.mod of github.com/icoc-dev/icoc above the working directory)")
		}
		dir = parent
	}
}
