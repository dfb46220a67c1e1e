package harness

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/simulator/vehicle"
	"github.com/icoc-dev/icoc/simulator/viss"
	"github.com/icoc-dev/icoc/simulator/viss/vss"
	"github.com/icoc-dev/icoc/simulator/viss/vssmap"
	"github.com/icoc-dev/icoc/spec/viss"
)

// VISSConfig is the profile's VISS section (key viss): the DUT's VISS
// servers and what the suite needs to judge them. The capability "viss"
// says the DUT has any; specs of a dialect without a server are not
// applicable.
type VISSConfig struct {
	// Servers are the DUT's VISS servers, one per dialect. In a simulated
	// profile their endpoints are left empty: the harness starts the
	// reference vehicle's servers and learns where they listen.
	Servers []VISSServerConfig `yaml:"servers"`
	// RootCAFile is the CA the servers' certificates chain to (default:
	// dut.root_ca_file).
	RootCAFile string `yaml:"root_ca_file"`
	// ServerName is the TLS name to check (default: the endpoint's host;
	// viss.icoc.test for the reference vehicle).
	ServerName string `yaml:"server_name"`
	// Map is the DUT's DBC-to-VSS map (format: simulator/viss/vssmap/
	// dbc2vss.yaml), in terms of bench.dbc; default: the reference
	// vehicle's.
	Map string `yaml:"map"`
	// Access is the DUT's access control.
	Access VISSAccessConfig `yaml:"access"`
	// SampleGap is the least spec time between two captures the suite puts
	// on the bus when it expects an exact event sequence (register I-275);
	// default 2 s.
	SampleGap time.Duration `yaml:"sample_gap"`
}

// VISSServerConfig is one VISS server of the DUT.
type VISSServerConfig struct {
	// Dialect is v3 or gen2.
	Dialect string `yaml:"dialect"`
	// Revision of a v3 server: rc0 (default) or published (register I-260).
	Revision string `yaml:"revision"`
	// Subprotocol of a Gen2 server (default gen21.0, register I-287).
	Subprotocol string `yaml:"subprotocol"`
	// WS is the server's wss:// URL; HTTP its https:// URL (optional).
	WS   string `yaml:"ws"`
	HTTP string `yaml:"http"`
	// MQTT, when present, says the v3 server is reachable over MQTT too
	// (v3.0 TRANSPORT 4.3): the harness's cloud-side client publishes
	// envelopes to VID/Vehicle on the broker. In a simulated profile
	// `mqtt: {}` makes the reference vehicle's client connect to the
	// harness's broker.
	MQTT *VISSMQTTConfig `yaml:"mqtt"`
}

// VISSMQTTConfig is where and as whom the harness reaches a VISS server
// over MQTT.
type VISSMQTTConfig struct {
	// VID is the vehicle identifier of the topic VID/Vehicle (default:
	// dut.vin, register I-299).
	VID string `yaml:"vid"`
	// Broker is the broker's host:port the DUT's vehicle client uses;
	// empty: the harness's broker (mqtt.listen), which the DUT reaches as
	// the center's (7.2.5).
	Broker string `yaml:"broker"`
	// ServerName is the broker's TLS name (default: Broker's host, or
	// center.host for the harness's broker).
	ServerName string `yaml:"server_name"`
	// RootCAFile is the CA of the broker's certificate (default: the test
	// PKI's root).
	RootCAFile string `yaml:"root_ca_file"`
	// ClientID is the harness client's identity: its Client ID and the CN
	// of its certificate (default icoc-viss-client, register I-323); its
	// response topics are <client_id>/<unique>.
	ClientID string `yaml:"client_id"`
	// CertFile and KeyFile are its client certificate chain and key
	// (default: the test PKI's viss-client).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// VISSAccessConfig is the DUT's access control as the suite needs it: the
// HS256 secret shared with the access token server (the harness runs that
// server, so the DUT must trust the secret), the purpose list, and the
// nodes whose get or set needs a token (register I-289).
type VISSAccessConfig struct {
	SecretFile string   `yaml:"secret_file"`
	Purposes   string   `yaml:"purposes"`
	Read       []string `yaml:"read"`
	Write      []string `yaml:"write"`
}

// WithVISS makes the run reach the DUT's VISS servers: for a simulated DUT
// whose profile lists the capability "viss", the reference vehicle starts
// the servers of the profile's viss section. Suites that do not judge VISS
// leave it off.
func WithVISS() Option { return func(o *startOptions) { o.viss = true } }

// VISSEndpoint is one VISS server the suite judges.
type VISSEndpoint struct {
	Dialect vissspec.Dialect
	WS      string
	HTTP    string
	// Recorder is the run's timeline: the harness's VISS client notes on it
	// every request it sends and every answer and event it receives
	// (ProtoVISS), so a failed spec's evidence shows them. nil notes
	// nothing.
	Recorder *Recorder
	// MQTT is the server's MQTT endpoint (v3.0 TRANSPORT 4.3); nil
	// without one.
	MQTT *VISSMQTTEndpoint
}

// VISSMQTTEndpoint is how the harness's cloud-side client reaches a VISS
// server over MQTT.
type VISSMQTTEndpoint struct {
	// Broker is the host:port to dial; VID the vehicle identifier of
	// VID/Vehicle; ClientID the client's identity and topic prefix.
	Broker, VID, ClientID string
	// TLS is the client's TLS configuration (server name, roots, client
	// certificate).
	TLS *tls.Config
}

// VISSRun is the VISS side of a run.
type VISSRun struct {
	// Endpoints are the DUT's servers (learned from the reference vehicle
	// in a sim run).
	Endpoints []VISSEndpoint
	// Secret is the HS256 secret of the access token server.
	Secret []byte
	// Purposes is the purpose list (JSON).
	Purposes []byte
	// Read and Write are the access-controlled nodes (viss.access.read:
	// tagged read-write; viss.access.write: tagged write-only; register
	// I-289); ReadControlled and WriteControlled judge a path by them.
	Read, Write []string
	// PurposeList is Purposes parsed, in its order (viss_access.go).
	PurposeList []VISSPurpose
	// Map is the DUT's DBC-to-VSS map, bound to the DUT's DBC and VSS 4.0.
	Map *vssmap.Map
	// TLS is the client TLS configuration for the servers.
	TLS *tls.Config
	// SampleGap is the least spec time between captures of an exact
	// sequence.
	SampleGap time.Duration

	mu      sync.Mutex
	learned map[string]string // dialect -> host:port, from a vehicle process's log
}

// Endpoint returns the server of dialect d.
func (v *VISSRun) Endpoint(d vissspec.DialectName) (VISSEndpoint, bool) {
	for _, e := range v.Endpoints {
		if e.Dialect.Name == d {
			return e, true
		}
	}
	return VISSEndpoint{}, false
}

// validateVISS checks the viss section.
func (p *Profile) validateVISS(bad func(field, format string, args ...any) error) error {
	c := &p.VISS
	seen := map[string]bool{}
	for i, s := range c.Servers {
		field := fmt.Sprintf("viss.servers[%d]", i)
		d, err := s.load()
		if err != nil {
			return bad(field, "%v", err)
		}
		if seen[string(d.Name)] {
			return bad(field, "a second %s server", d.Name)
		}
		seen[string(d.Name)] = true
		if !p.DUT.Simulated {
			if u, err := url.Parse(s.WS); err != nil || u.Scheme != "wss" || u.Host == "" {
				return bad(field+".ws", "%q: want wss://host:port", s.WS)
			}
			if s.HTTP != "" {
				if u, err := url.Parse(s.HTTP); err != nil || u.Scheme != "https" || u.Host == "" {
					return bad(field+".http", "%q: want https://host:port", s.HTTP)
				}
			}
		} else if s.WS != "" || s.HTTP != "" {
			return bad(field, "a simulated DUT's VISS endpoints are learned from the reference vehicle; leave ws and http empty")
		}
		if m := s.MQTT; m != nil {
			if d.Name != vissspec.V3 {
				return bad(field+".mqtt", "VISS over MQTT is a v3 transport (v3.0 TRANSPORT 4.3), not %s", d.Name)
			}
			if m.Broker != "" {
				if _, _, err := net.SplitHostPort(m.Broker); err != nil {
					return bad(field+".mqtt.broker", "%q: %v", m.Broker, err)
				}
			}
			if (m.CertFile == "") != (m.KeyFile == "") {
				return bad(field+".mqtt", "cert_file and key_file go together")
			}
			if p.DUT.Simulated && (m.Broker != "" || m.VID != "") {
				return bad(field+".mqtt", "a simulated DUT uses the harness's broker and its VIN; leave broker and vid empty")
			}
			for _, f := range []struct{ field, path string }{{".mqtt.root_ca_file", m.RootCAFile}, {".mqtt.cert_file", m.CertFile}, {".mqtt.key_file", m.KeyFile}} {
				if f.path == "" {
					continue
				}
				if _, err := os.Stat(f.path); err != nil {
					return bad(field+f.field, "%s", unwrapPathError(err))
				}
			}
		}
	}
	if p.Has("viss") && len(c.Servers) == 0 {
		return bad("viss.servers", "capability viss needs at least one server")
	}
	for _, f := range []struct{ field, path string }{{"viss.root_ca_file", c.RootCAFile}, {"viss.map", c.Map}, {"viss.access.secret_file", c.Access.SecretFile}, {"viss.access.purposes", c.Access.Purposes}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return bad(f.field, "%s", unwrapPathError(err))
		}
	}
	if len(c.Servers) > 0 {
		if _, err := p.vissMap(); err != nil {
			return bad("viss.map", "%v", err)
		}
	}
	if c.SampleGap < 0 {
		return bad("viss.sample_gap", "negative")
	}
	return p.validateVISSAccess(bad)
}

// load returns the server's dialect tables.
func (s VISSServerConfig) load() (vissspec.Dialect, error) {
	n, err := vissspec.ParseDialect(s.Dialect)
	if err != nil {
		return vissspec.Dialect{}, err
	}
	o := vissspec.DefaultOptions()
	if s.Revision != "" {
		o.Revision = s.Revision
	}
	if s.Subprotocol != "" {
		o.Gen2Subprotocol = s.Subprotocol
	}
	return vissspec.Load(n, o)
}

// vissMap loads the profile's DBC-to-VSS map, bound to the profile's DBC.
func (p *Profile) vissMap() (*vssmap.Map, error) {
	if p.VISS.Map == "" && p.Bench.DBC == "" {
		return vssmap.Default()
	}
	var m *vssmap.Map
	var err error
	if p.VISS.Map == "" {
		m, err = vssmap.Parse("dbc2vss.yaml", vssmap.DefaultFile)
	} else {
		m, err = vssmap.Load(p.VISS.Map)
	}
	if err != nil {
		return nil, err
	}
	db := bench.DB()
	if p.Bench.DBC != "" {
		b, err := os.ReadFile(p.Bench.DBC)
		if err != nil {
			return nil, err
		}
		if db, err = bench.Parse(p.Bench.DBC, b); err != nil {
			return nil, err
		}
	}
	tree, err := vss.Default()
	if err != nil {
		return nil, err
	}
	return m, m.Bind(db, tree)
}

// vissPaths makes the section's paths absolute against base.
func (c *VISSConfig) absolute(base string) {
	files := []*string{&c.RootCAFile, &c.Map, &c.Access.SecretFile, &c.Access.Purposes}
	for _, s := range c.Servers {
		if m := s.MQTT; m != nil {
			files = append(files, &m.RootCAFile, &m.CertFile, &m.KeyFile)
		}
	}
	for _, f := range files {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(base, *f)
		}
	}
}

// prepareVISS fills r.VISS before the vehicle starts: the secret (a fresh
// one for a simulated DUT), the purposes, the map, the client TLS.
func (r *Run) prepareVISS() error {
	p := r.Profile
	c := p.VISS
	if len(c.Servers) == 0 || !p.Has("viss") {
		return nil
	}
	r.vissOn = true
	v := &r.VISS
	var err error
	if v.Map, err = p.vissMap(); err != nil {
		return fmt.Errorf("profile %s viss.map: %w", p.Source, err)
	}
	switch {
	case c.Access.SecretFile != "":
		if v.Secret, err = os.ReadFile(c.Access.SecretFile); err != nil {
			return fmt.Errorf("profile %s viss.access.secret_file: %w", p.Source, err)
		}
	case p.DUT.Simulated:
		v.Secret = make([]byte, 32)
		_, _ = rand.Read(v.Secret)
	}
	v.Purposes = viss.PurposesJSON()
	if c.Access.Purposes != "" {
		if v.Purposes, err = os.ReadFile(c.Access.Purposes); err != nil {
			return fmt.Errorf("profile %s viss.access.purposes: %w", p.Source, err)
		}
	}
	if v.PurposeList, err = parsePurposes(v.Purposes); err != nil {
		return fmt.Errorf("profile %s viss.access.purposes: %w", p.Source, err)
	}
	v.Read, v.Write = c.Access.Read, c.Access.Write
	if len(v.Read) == 0 && len(v.Write) == 0 {
		// The reference vehicle's selection (a simulated DUT's, and the
		// default of a profile that names none).
		if v.Read, v.Write, err = viss.AccessTags(); err != nil {
			return err
		}
	}
	v.SampleGap = c.SampleGap
	if v.SampleGap == 0 {
		v.SampleGap = vissspec.DefaultOptions().SampleGap
	}
	ca := c.RootCAFile
	if ca == "" {
		ca = p.DUT.RootCAFile
	}
	pool := x509.NewCertPool()
	if ca != "" {
		b, err := os.ReadFile(ca)
		if err != nil {
			return fmt.Errorf("profile %s viss.root_ca_file: %w", p.Source, err)
		}
		pool.AppendCertsFromPEM(b)
	}
	// The client's TLS secrets go to the evidence's key log, so the
	// capture of the VISS ports (CapturePorts) can be decrypted.
	v.TLS = &tls.Config{RootCAs: pool, ServerName: c.ServerName, MinVersion: tls.VersionTLS12, KeyLogWriter: r.KeyLogWriter()}
	if p.DUT.Simulated && v.TLS.ServerName == "" {
		v.TLS.ServerName = "viss.icoc.test"
	}
	if !p.DUT.Simulated {
		for _, s := range c.Servers {
			d, _ := s.load()
			v.Endpoints = append(v.Endpoints, VISSEndpoint{Dialect: d, WS: s.WS, HTTP: s.HTTP, Recorder: r.Recorder})
		}
	}
	return nil
}

// vissVehicleConfig sets the in-process reference vehicle's VISS servers.
func (r *Run) vissVehicleConfig(vc *vehicle.Config) {
	if !r.vissOn {
		return
	}
	for _, s := range r.Profile.VISS.Servers {
		vc.VISS.Servers = append(vc.VISS.Servers, viss.ServerConfig{Dialect: s.Dialect, Revision: s.Revision, Subprotocol: s.Subprotocol, Addr: "127.0.0.1:0", MQTT: s.MQTT != nil})
	}
	if root, err := RepoRoot(); err == nil {
		vc.VISS.CertFile = filepath.Join(root, "fixtures", "pki", "viss-server.chain.pem")
		vc.VISS.KeyFile = filepath.Join(root, "fixtures", "pki", "viss-server.key.pem")
	}
	vc.VISS.TokenSecret = r.VISS.Secret
}

// vissMQTT reports whether a VISS server is reached over MQTT through the
// harness's broker (which the run must then start).
func (r *Run) vissMQTT() bool {
	if !r.vissOn {
		return false
	}
	for _, s := range r.Profile.VISS.Servers {
		if s.MQTT != nil && s.MQTT.Broker == "" {
			return true
		}
	}
	return false
}

// vissMQTTEndpoints fills the MQTT endpoints of the servers reached over
// MQTT, once the brokers run.
func (r *Run) vissMQTTEndpoints() error {
	if !r.vissOn {
		return nil
	}
	p := r.Profile
	root, _ := RepoRoot()
	for _, s := range p.VISS.Servers {
		m := s.MQTT
		if m == nil {
			continue
		}
		d, _ := s.load()
		e := &VISSMQTTEndpoint{Broker: m.Broker, VID: m.VID, ClientID: m.ClientID}
		if e.VID == "" {
			e.VID = p.DUT.VIN
		}
		if e.ClientID == "" {
			e.ClientID = center.DefaultVISSClient
		}
		name := m.ServerName
		if e.Broker == "" {
			if r.MQTT == nil || r.MQTT.Broker == nil {
				return fmt.Errorf("profile %s viss.servers %s: mqtt without a broker: give mqtt.broker, or let the harness play the center", p.Source, d.Tag)
			}
			e.Broker = r.MQTT.Broker.Addr()
			if name == "" {
				name = p.Center.Host
			}
		}
		if name == "" {
			name, _, _ = net.SplitHostPort(e.Broker)
		}
		certFile, keyFile := m.CertFile, m.KeyFile
		if certFile == "" {
			certFile, keyFile = filepath.Join(root, "fixtures", "pki", "viss-client.chain.pem"), filepath.Join(root, "fixtures", "pki", "viss-client.key.pem")
		}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("profile %s viss mqtt client certificate: %w", p.Source, err)
		}
		ca := m.RootCAFile
		if ca == "" {
			ca = filepath.Join(root, "fixtures", "pki", "root.crt.pem")
		}
		pem, err := os.ReadFile(ca)
		if err != nil {
			return fmt.Errorf("profile %s viss mqtt root_ca_file: %w", p.Source, err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		e.TLS = &tls.Config{ServerName: name, RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"mqtt"}, KeyLogWriter: r.KeyLogWriter()}
		for i := range r.VISS.Endpoints {
			if r.VISS.Endpoints[i].Dialect.Name == d.Name {
				r.VISS.Endpoints[i].MQTT = e
			}
		}
	}
	return nil
}

// vissLearnInProcess takes the endpoints of an in-process vehicle.
func (r *Run) vissLearnInProcess(v *vehicle.Vehicle) {
	if v.VISS() == nil {
		return
	}
	for _, e := range v.VISS().Endpoints() {
		for _, s := range r.Profile.VISS.Servers {
			if d, _ := s.load(); string(d.Name) == e.Dialect {
				r.VISS.Endpoints = append(r.VISS.Endpoints, VISSEndpoint{Dialect: d, WS: e.WS, HTTP: e.HTTP, Recorder: r.Recorder})
			}
		}
	}
}

// vissArgs are cmd/vehicle's flags for the profile's servers, listening on
// host (127.0.0.1, or the vehicle's end of the veth); the secret goes
// through a file in dir.
func (r *Run) vissArgs(host, dir string) ([]string, error) {
	if !r.vissOn {
		return nil, nil
	}
	var args []string
	for _, s := range r.Profile.VISS.Servers {
		d, _ := s.load()
		switch d.Name {
		case vissspec.V3:
			args = append(args, "-viss-v3", net.JoinHostPort(host, "0"), "-viss-revision", d.Revision)
			if s.MQTT != nil {
				args = append(args, "-viss-mqtt")
			}
		case vissspec.Gen2:
			args = append(args, "-viss-gen2", net.JoinHostPort(host, "0"))
		}
	}
	if len(args) == 0 {
		return nil, nil
	}
	if root, err := RepoRoot(); err == nil {
		args = append(args, "-viss-cert", filepath.Join(root, "fixtures", "pki", "viss-server.chain.pem"),
			"-viss-key", filepath.Join(root, "fixtures", "pki", "viss-server.key.pem"))
	}
	f := filepath.Join(dir, fmt.Sprintf("icoc-viss-secret-%d", os.Getpid()))
	if err := os.WriteFile(f, r.VISS.Secret, 0o600); err != nil {
		return nil, err
	}
	return append(args, "-viss-token-secret", f), nil
}

// vissTap wraps the vehicle process's log: a "viss: <tag> server listening
// on <addr>" line tells where a server listens.
func (r *Run) vissTap(logf func(string, ...any)) func(string, ...any) {
	return func(format string, args ...any) {
		logf(format, args...)
		if len(args) < 2 {
			return
		}
		line, _ := args[len(args)-1].(string)
		i := strings.Index(line, "viss: ")
		if i < 0 {
			return
		}
		rest := line[i+len("viss: "):]
		tag, after, ok := strings.Cut(rest, " server listening on ")
		if !ok {
			return
		}
		addr, _, _ := strings.Cut(after, " ")
		r.VISS.mu.Lock()
		if r.VISS.learned == nil {
			r.VISS.learned = map[string]string{}
		}
		r.VISS.learned[tag] = addr
		r.VISS.mu.Unlock()
	}
}

// vissLearnFromLog takes the endpoints a vehicle process logged.
func (r *Run) vissLearnFromLog() error {
	r.VISS.mu.Lock()
	defer r.VISS.mu.Unlock()
	for _, s := range r.Profile.VISS.Servers {
		d, _ := s.load()
		addr, ok := r.VISS.learned[d.Tag]
		if !ok {
			return fmt.Errorf("reference vehicle: its %s server did not say where it listens", d.Tag)
		}
		r.VISS.Endpoints = append(r.VISS.Endpoints, VISSEndpoint{Dialect: d, WS: "wss://" + addr, HTTP: "https://" + addr, Recorder: r.Recorder})
	}
	return nil
}
