// Command center runs the reference center on its own, for a bench: the
// out-car side of the common specification over TLS 1.3 with mutual
// authentication, logging every connection and exchange. With no flags it
// is conformant (7.1.1): it serves the test PKI's ECDSA P-256 and RSA-3072
// certificates, refuses client keys other than those (I-080), and checks
// every client certificate by OCSP (7.1.1.5, Table 7-5) at its own CRL
// distribution point and OCSP responder for the test PKI, which it starts
// beside it. Every setting is a flag and a key of the -config file (YAML),
// listed by -h with its default. With -exve-addr it also serves the ISO
// 20078-2 ExVe offering party (HTTPS, TLS 1.2 or 1.3, bearer tokens) on a
// listener of its own, built from what the vehicles upload.
package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/simulator/exve"
	"go.yaml.in/yaml/v3"
)

// options are the settings of cmd/center: each is a flag and a key of the
// -config file. The zero value is not usable; start from defaults.
type options struct {
	Addr             string        `yaml:"addr"`
	GRPCAddr         string        `yaml:"grpc_addr"`
	PKI              string        `yaml:"pki"`
	Cert             string        `yaml:"cert"`
	Key              string        `yaml:"key"`
	AltCert          string        `yaml:"alt_cert"`
	AltKey           string        `yaml:"alt_key"`
	ClientCA         string        `yaml:"client_ca"`
	Staple           string        `yaml:"staple"`
	AltStaple        string        `yaml:"alt_staple"`
	ClientRevocation string        `yaml:"client_revocation"`
	Responder        string        `yaml:"responder"`
	OCSPAddr         string        `yaml:"ocsp_addr"`
	OCSPDNS          string        `yaml:"ocsp_dns"`
	OCSPPort         int           `yaml:"ocsp_port"`
	SessionLifetime  time.Duration `yaml:"session_lifetime"`
	ClientTimeout    time.Duration `yaml:"client_timeout"`
	RefuseUnknownSNI bool          `yaml:"refuse_unknown_sni"`
	TimeScale        float64       `yaml:"time_scale"`
	VehicleIDLength  int           `yaml:"vehicle_id_length"`
	ExVeAddr         string        `yaml:"exve_addr"`
	ExVeDemoFleet    int           `yaml:"exve_demo_fleet"`
	MQTTAddr         string        `yaml:"mqtt_addr"`
	MQTTOTP          bool          `yaml:"mqtt_otp"`
	Quiet            bool          `yaml:"quiet"`
}

func defaults() options {
	return options{
		Addr: "127.0.0.1:8443", GRPCAddr: "127.0.0.1:9080", PKI: "fixtures/pki", ClientRevocation: "ocsp", Responder: "127.0.0.1:0",
		SessionLifetime: 12 * time.Hour, ClientTimeout: time.Second, TimeScale: 1, VehicleIDLength: 17,
		ExVeDemoFleet: 24,
		MQTTAddr:      "127.0.0.1:8883",
	}
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "center:", err)
		os.Exit(1)
	}
}

// configPath finds -config in args before the flags are parsed, so the
// file's values become the flags' defaults and the command line wins.
func configPath(args []string) string {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, "config="); ok {
			return v
		}
		if a == "config" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func run(args []string) error {
	o := defaults()
	if p := configPath(args); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("-config: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&o); err != nil {
			return fmt.Errorf("-config %s: %w", p, err)
		}
	}
	fs := flag.NewFlagSet("center", flag.ContinueOnError)
	fs.String("config", "", "YAML file with any of the settings below as keys (flag name with _ for -); flags on the command line win")
	fs.StringVar(&o.Addr, "addr", o.Addr, "listen address (Appendix 2: 443 on a bench)")
	fs.StringVar(&o.GRPCAddr, "grpc-addr", o.GRPCAddr, "gRPC listen address (7.2.4; Appendix 2: 9080 on a bench); empty: no gRPC")
	fs.StringVar(&o.PKI, "pki", o.PKI, "directory of the test PKI (used for unset certificate settings and by the built-in responder)")
	fs.StringVar(&o.Cert, "cert", o.Cert, "server certificate chain, PEM (default <pki>/center-ecdsa.chain.pem: ECDSA P-256)")
	fs.StringVar(&o.Key, "key", o.Key, "server key, PEM (default <pki>/center-ecdsa.key.pem)")
	fs.StringVar(&o.AltCert, "alt-cert", o.AltCert, "second server certificate chain, PEM, chosen when the client's signature_algorithms refuse the first (default <pki>/center-rsa.chain.pem: RSA-3072, 7.1.1.2.3); none: serve one certificate")
	fs.StringVar(&o.AltKey, "alt-key", o.AltKey, "key of -alt-cert (default <pki>/center-rsa.key.pem)")
	fs.StringVar(&o.ClientCA, "client-ca", o.ClientCA, "OEM root CA for client chains, PEM (default <pki>/root.crt.pem)")
	fs.StringVar(&o.Staple, "staple", o.Staple, "OCSP response (DER) stapled with -cert (RFC 6066); auto: signed at start by the built-in responder; empty: no staple")
	fs.StringVar(&o.AltStaple, "alt-staple", o.AltStaple, "the same for -alt-cert")
	fs.StringVar(&o.ClientRevocation, "client-revocation", o.ClientRevocation, "ocsp: check every client certificate by OCSP (7.1.1.5, Table 7-5); off: no check (not conformant)")
	fs.StringVar(&o.Responder, "responder", o.Responder, "listen address of the built-in CRL distribution point and OCSP responder for the test PKI (http://crl.icoc.test/, http://ocsp.icoc.test/; on a bench 0.0.0.0:80); off: none")
	fs.StringVar(&o.OCSPAddr, "ocsp-addr", o.OCSPAddr, "host:port every OCSP request is sent to, no DNS (default: the built-in responder; with -responder off, the host of the certificate's OCSP URL)")
	fs.StringVar(&o.OCSPDNS, "ocsp-dns", o.OCSPDNS, "DNS server (host:port) resolving the OCSP URL's host when -ocsp-addr is not used (default: the system's)")
	fs.IntVar(&o.OCSPPort, "ocsp-port", o.OCSPPort, "TCP port instead of the OCSP URL's (80) when -ocsp-addr is not used")
	fs.DurationVar(&o.SessionLifetime, "session-lifetime", o.SessionLifetime, "TLS session lifetime (7.1.1.4: 12h), also the ticket_lifetime announced")
	fs.DurationVar(&o.ClientTimeout, "client-timeout", o.ClientTimeout, "bound of each wait for the client during the handshake (Table 7-5 B: 1s); 0: none")
	fs.BoolVar(&o.RefuseUnknownSNI, "refuse-unknown-sni", o.RefuseUnknownSNI, "refuse a server_name the certificates do not cover with alert unrecognized_name (default: carry on, RFC 6066 §3)")
	fs.Float64Var(&o.TimeScale, "time-scale", o.TimeScale, "wall seconds per spec second for the session lifetime and the Table 7-5 timers (1: real time)")
	fs.IntVar(&o.VehicleIDLength, "vehicle-id-length", o.VehicleIDLength, "length of the vehicle_id header (17 for a VIN; see spec/INTERPRETATIONS.md)")
	fs.StringVar(&o.ExVeAddr, "exve-addr", o.ExVeAddr, "listen address of the ISO 20078-2 ExVe offering party, e.g. 127.0.0.1:9443; empty: none")
	fs.IntVar(&o.ExVeDemoFleet, "exve-demo-fleet", o.ExVeDemoFleet, "demo vehicles the ExVe offering party puts into the store")
	fs.StringVar(&o.MQTTAddr, "mqtt-addr", o.MQTTAddr, "listen address of the MQTT v5 broker (7.2.5; Appendix 2: 8883 on a bench); off: none")
	fs.BoolVar(&o.MQTTOTP, "mqtt-otp", o.MQTTOTP, "require at MQTT CONNECT username = VIN and a one-time password from GET /otp (7.2.5.7)")
	fs.BoolVar(&o.Quiet, "quiet", o.Quiet, "log no line per handshake and exchange (load tests)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, time.Now().Format(time.RFC3339Nano)+" "+format+"\n", args...)
	}
	s, rs, err := start(o, logf)
	if err != nil {
		return err
	}
	if o.ExVeAddr != "" {
		op, err := startExVe(o, s, logf)
		if err != nil {
			_ = s.Close()
			return fmt.Errorf("exve: %w", err)
		}
		defer op.Close()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = s.Close()
	if rs != nil {
		_ = rs.Close()
	}
	return nil
}

// start builds and starts the responder (unless off) and the center from o.
func start(o options, logf func(string, ...any)) (*center.Server, *center.RevocationServer, error) {
	def := func(v *string, name string) {
		if *v == "" {
			*v = filepath.Join(o.PKI, name)
		}
	}
	def(&o.Cert, "center-ecdsa.chain.pem")
	def(&o.Key, "center-ecdsa.key.pem")
	def(&o.AltCert, "center-rsa.chain.pem")
	def(&o.AltKey, "center-rsa.key.pem")
	def(&o.ClientCA, "root.crt.pem")
	if o.AltCert == "none" {
		o.AltCert, o.AltKey = "", ""
	}
	var rs *center.RevocationServer
	if o.Responder != "off" && o.Responder != "" {
		rc := center.PKIRevocationConfig(o.PKI, o.Responder)
		rc.Logf = logf
		var err error
		if rs, err = center.NewRevocationServer(rc); err != nil {
			return nil, nil, fmt.Errorf("-responder: %w", err)
		}
		if err := rs.Start(); err != nil {
			return nil, nil, fmt.Errorf("-responder: %w", err)
		}
		logf("center: CRL distribution point and OCSP responder of the test PKI on http://%s (the certificates name http://crl.icoc.test/ and http://ocsp.icoc.test/, port 80)", rs.Addr())
	}
	cfg := center.NewDefaultConfig()
	cfg.Addr, cfg.CertFile, cfg.KeyFile, cfg.ClientCAFile = o.Addr, o.Cert, o.Key, o.ClientCA
	cfg.GRPCAddr = o.GRPCAddr
	cfg.VehicleIDLength = o.VehicleIDLength
	cfg.TLS.AltCertFile, cfg.TLS.AltKeyFile = o.AltCert, o.AltKey
	cfg.TLS.SessionLifetime = o.SessionLifetime
	cfg.TLS.ClientResponseTimeout = o.ClientTimeout
	cfg.TLS.RefuseUnknownServerName = o.RefuseUnknownSNI
	cfg.TLS.TimeScale = o.TimeScale
	switch o.ClientRevocation {
	case "ocsp":
		cr := center.ClientRevocation{Enabled: true, Addr: o.OCSPAddr, Resolver: o.OCSPDNS, Port: o.OCSPPort}
		if cr.Addr == "" && rs != nil && o.OCSPDNS == "" && o.OCSPPort == 0 {
			cr.Addr = rs.Addr()
		}
		cfg.TLS.ClientRevocation = cr
		where := cr.Addr
		if where == "" {
			where = "the OCSP URL of each certificate"
		}
		logf("center: client certificates checked by OCSP at %s (7.1.1.5)", where)
	case "off":
		logf("center: WARNING: client revocation off: revoked vehicle certificates are accepted (not conformant to 7.1.1.5)")
	default:
		return nil, nil, fmt.Errorf("-client-revocation %q: want ocsp or off", o.ClientRevocation)
	}
	var err error
	if cfg.TLS.StapleFile, err = stapleFile(o.Staple, o.Cert, rs); err != nil {
		return nil, nil, fmt.Errorf("-staple: %w", err)
	}
	if o.AltCert != "" {
		if cfg.TLS.AltStapleFile, err = stapleFile(o.AltStaple, o.AltCert, rs); err != nil {
			return nil, nil, fmt.Errorf("-alt-staple: %w", err)
		}
	}
	cfg.Logf = logf
	s, err := center.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	if !o.Quiet {
		s.AddHook(&logHook{logf: logf})
	}
	if err := s.Start(); err != nil {
		return nil, nil, err
	}
	if o.MQTTAddr != "" && o.MQTTAddr != "off" {
		mc := cfg.MQTT
		mc.Addr, mc.OTP = o.MQTTAddr, o.MQTTOTP
		b, err := s.StartMQTT(mc)
		if err != nil {
			return nil, nil, fmt.Errorf("-mqtt-addr: %w", err)
		}
		logf("center: MQTT v5 broker on %s (one-time password %v)", b.Addr(), o.MQTTOTP)
	}
	certs := o.Cert
	if o.AltCert != "" {
		certs += " and " + o.AltCert
	}
	logf("center: serving %s", certs)
	logf("center: listening on %s", s.Addr())
	if g := s.GRPCAddr(); g != "" {
		logf("center: gRPC (7.2.4) on %s", g)
	}
	return s, rs, nil
}

// startExVe mounts the ExVe offering party on center s.
func startExVe(o options, s *center.Server, logf func(string, ...any)) (*exve.OfferingParty, error) {
	or := func(v, name string) string {
		if v == "" {
			return filepath.Join(o.PKI, name)
		}
		return v
	}
	oc := exve.NewDefaultConfig()
	oc.Addr = o.ExVeAddr
	oc.CertFile, oc.KeyFile = or(o.Cert, "center-ecdsa.chain.pem"), or(o.Key, "center-ecdsa.key.pem")
	oc.RootCAFiles = []string{or(o.ClientCA, "root.crt.pem")}
	oc.DemoFleet = o.ExVeDemoFleet
	oc.TimeScale = o.TimeScale
	oc.Logf = logf
	op, err := exve.New(oc, s)
	if err != nil {
		return nil, err
	}
	if err := op.Start(); err != nil {
		return nil, err
	}
	var clients []string
	for _, c := range oc.Clients {
		clients = append(clients, c.ID+":"+c.Secret)
	}
	logf("center: ExVe offering party at %s (token endpoint %s; test clients %s)", op.BaseURI(), op.TokenEndpoint(), strings.Join(clients, ", "))
	return op, nil
}

// stapleFile returns the staple file to use for the chain in certFile: v
// itself, or for "auto" a fresh good response signed by the responder,
// written to a temporary file.
func stapleFile(v, certFile string, rs *center.RevocationServer) (string, error) {
	if v != "auto" {
		return v, nil
	}
	if rs == nil {
		return "", errors.New("auto needs the built-in responder (-responder)")
	}
	b, err := os.ReadFile(certFile)
	if err != nil {
		return "", err
	}
	var chain []*x509.Certificate
	for blk, rest := pem.Decode(b); blk != nil; blk, rest = pem.Decode(rest) {
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			chain = append(chain, c)
		}
	}
	if len(chain) < 2 {
		return "", fmt.Errorf("%s: want the certificate and its issuer", certFile)
	}
	der, err := rs.SignOCSP(chain[0], chain[1], false, 7*24*time.Hour)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "icoc-staple-*.der")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(der); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// logHook prints one line per handshake and per answered request.
type logHook struct {
	center.HookBase
	logf func(string, ...any)
}

func (h *logHook) ID() string { return "log" }

func (h *logHook) Provides(e center.Event) bool {
	return e == center.OnHandshake || e == center.OnAnswer
}

func (h *logHook) OnHandshake(i center.HandshakeInfo) {
	if i.Err != nil {
		return // the server logs failed handshakes itself
	}
	cn := ""
	if len(i.PeerCertificates) > 0 {
		cn = i.PeerCertificates[0].Subject.CommonName
	}
	h.logf("conn %d from %s: TLS ok, client %q, SNI %q, ALPN %q, group %v, resumed %v", i.Conn.ID, i.Conn.RemoteAddr, cn, i.SNI, i.ALPN, i.Group, i.Resumed)
}

func (h *logHook) OnAnswer(x *center.Exchange, a center.Answer, _ time.Time) {
	if x.Protocol == center.ProtoGRPC {
		h.logf("conn %d: gRPC %s (%d message(s), %d bytes) -> HTTP %d, grpc-status %d, status %d by %s", x.Conn.ID, x.Path, len(x.Messages), x.RawBodyLen, a.Status, a.Code, a.AppStatus, a.By)
		return
	}
	if x.Protocol == center.ProtoMQTT {
		h.logf("conn %d: MQTT %s %s %s (%d bytes) -> 0x%02X by %s", x.Conn.ID, x.Header.Get(center.MQTTDirection), x.Method, x.Path, len(x.Body), a.Code, a.By)
		return
	}
	h.logf("conn %d: %s %s (%d bytes) -> %d by %s", x.Conn.ID, x.Method, x.Path, len(x.Body), a.Status, a.By)
}
