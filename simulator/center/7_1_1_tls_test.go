package center

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// startPolicyCenter starts a center with the full 7.1.1 policy: client
// revocation by OCSP against a local responder, sessions of lifetime
// (spec time) at the given scale.
func startPolicyCenter(t *testing.T, mutate func(*Config)) (*Server, *handshakes, *RevocationServer) {
	t.Helper()
	rs := testRevocationServer(t)
	cfg := NewDefaultConfig()
	cfg.CertFile = pki.Path(pki.CenterECDSA.ChainFile())
	cfg.KeyFile = pki.Path(pki.CenterECDSA.KeyFile())
	cfg.ClientCAFile = pki.Path(pki.Root.CertFile())
	cfg.ALPN = []string{"http/1.1"}
	cfg.TLS.ClientRevocation = ClientRevocation{Enabled: true, Addr: rs.Addr()}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &handshakes{}
	s.AddHook(h)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, h, rs
}

func dialCenter(t *testing.T, s *Server, cert pki.Name, mutate func(*tls.Config)) (tls.ConnectionState, error) {
	t.Helper()
	roots, _ := pki.CertPool(pki.Root)
	tc := &tls.Config{RootCAs: roots, ServerName: pki.CenterHost, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP384}}
	if cert != "" {
		c, err := pki.LoadTLS(cert)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	if mutate != nil {
		mutate(tc)
	}
	conn, err := tls.Dial("tcp", s.Addr(), tc)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	// In TLS 1.3 the client learns of a refused certificate on its first read.
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = conn.Write([]byte("GET /nothing HTTP/1.1\r\nHost: center.icoc.test\r\n\r\n"))
	buf := make([]byte, 64)
	if _, err := conn.Read(buf); err != nil {
		return conn.ConnectionState(), err
	}
	return conn.ConnectionState(), nil
}

func TestTLSPolicyGoClient(t *testing.T) {
	s, _, _ := startPolicyCenter(t, nil)
	st, err := dialCenter(t, s, pki.Vehicle, nil)
	if err != nil {
		t.Fatalf("good client refused: %v", err)
	}
	if st.CipherSuite != tls.TLS_AES_256_GCM_SHA384 || st.CurveID != tls.CurveP384 {
		t.Errorf("negotiated %s / %v, want TLS_AES_256_GCM_SHA384 / P-384", tls.CipherSuiteName(st.CipherSuite), st.CurveID)
	}
	for _, c := range []struct {
		name string
		cert pki.Name
		mut  func(*tls.Config)
	}{
		{"no client certificate", "", nil},
		{"revoked", pki.VehicleRevoked, nil},
		{"expired", pki.VehicleExpired, nil},
		{"untrusted", pki.VehicleUntrusted, nil},
		{"wrong EKU", pki.VehicleWrongEKU, nil},
		{"wrong key usage", pki.VehicleWrongKeyUsage, nil},
		{"bad signature", pki.VehicleBadSignature, nil},
		{"no OCSP URL", pki.VehicleNoOCSP, nil},
		{"P-256 only", pki.Vehicle, func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.CurveP256} }},
		{"X25519 only", pki.Vehicle, func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.X25519} }},
		{"TLS 1.2", pki.Vehicle, func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS12, tls.VersionTLS12 }},
	} {
		if _, err := dialCenter(t, s, c.cert, c.mut); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

func TestTLSPolicyCenterQuirks(t *testing.T) {
	s, _, _ := startPolicyCenter(t, func(c *Config) { c.Quirks = []string{"accept-expired-client-cert", "ignore-client-revocation"} })
	if _, err := dialCenter(t, s, pki.VehicleExpired, nil); err != nil {
		t.Errorf("accept-expired-client-cert: refused: %v", err)
	}
	if _, err := dialCenter(t, s, pki.VehicleRevoked, nil); err != nil {
		t.Errorf("ignore-client-revocation: refused: %v", err)
	}
}

func TestSessionResumptionLifetime(t *testing.T) {
	// A 400 ms session lifetime stands in for 12 h.
	s, h, _ := startPolicyCenter(t, func(c *Config) { c.TLS.SessionLifetime = 400 * time.Millisecond })
	cache := tls.NewLRUClientSessionCache(4)
	withCache := func(c *tls.Config) { c.ClientSessionCache = cache }
	if _, err := dialCenter(t, s, pki.Vehicle, withCache); err != nil {
		t.Fatal(err)
	}
	st, err := dialCenter(t, s, pki.Vehicle, withCache)
	if err != nil || !st.DidResume {
		t.Fatalf("second handshake within the lifetime: resumed=%v err=%v", st.DidResume, err)
	}
	if h.last().Group != tls.CurveP384 {
		t.Errorf("resumption without (EC)DHE: group %v", h.last().Group)
	}
	time.Sleep(600 * time.Millisecond)
	st, err = dialCenter(t, s, pki.Vehicle, withCache)
	if err != nil || st.DidResume {
		t.Fatalf("handshake after the lifetime: resumed=%v err=%v", st.DidResume, err)
	}
}

func TestStaplingSwitch(t *testing.T) {
	s, _, _ := startPolicyCenter(t, func(c *Config) { c.TLS.StapleFile = pki.Path(pki.OCSPCenterECDSAGood) })
	st, err := dialCenter(t, s, pki.Vehicle, nil)
	if err != nil || len(st.OCSPResponse) == 0 {
		t.Fatalf("no staple: %v", err)
	}
	s.SetStaple(nil)
	if st, _ = dialCenter(t, s, pki.Vehicle, nil); len(st.OCSPResponse) != 0 {
		t.Error("staple after SetStaple(nil)")
	}
}

func TestServerCertificateSelection(t *testing.T) {
	s, _, _ := startPolicyCenter(t, func(c *Config) {
		c.TLS.AltCertFile, c.TLS.AltKeyFile = pki.Path(pki.CenterRSA.ChainFile()), pki.Path(pki.CenterRSA.KeyFile())
	})
	st, err := dialCenter(t, s, pki.Vehicle, nil)
	if err != nil || st.PeerCertificates[0].PublicKeyAlgorithm.String() != "ECDSA" {
		t.Fatalf("default: %v", err)
	}
	// A client that accepts only RSA-PSS gets the RSA-3072 certificate.
	st, err = dialCenter(t, s, pki.Vehicle, func(c *tls.Config) {
		c.VerifyPeerCertificate = nil
	})
	_ = st
	if err := s.SetCertificates([2]string{pki.Path(pki.CenterRSA.ChainFile()), pki.Path(pki.CenterRSA.KeyFile())}); err != nil {
		t.Fatal(err)
	}
	st, err = dialCenter(t, s, pki.Vehicle, nil)
	if err != nil || st.PeerCertificates[0].PublicKeyAlgorithm.String() != "RSA" {
		t.Fatalf("after SetCertificates(RSA): %v", err)
	}
}

func TestHandshakeFaults(t *testing.T) {
	s, h, _ := startPolicyCenter(t, nil)
	s.SetHandshakeFault(HandshakeClose)
	if _, err := dialCenter(t, s, pki.Vehicle, nil); err == nil {
		t.Error("HandshakeClose: handshake succeeded")
	}
	s.SetHandshakeFault(HandshakeGarbage)
	if _, err := dialCenter(t, s, pki.Vehicle, nil); err == nil {
		t.Error("HandshakeGarbage: handshake succeeded")
	}
	s.SetHandshakeFault(HandshakeSilent)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}}
	if _, err := d.DialContext(ctx, "tcp", s.Addr()); err == nil {
		t.Error("HandshakeSilent: handshake succeeded")
	}
	time.Sleep(50 * time.Millisecond)
	if !strings.Contains(h.last().Err.Error(), "silent") {
		t.Errorf("last handshake: %v", h.last().Err)
	}
}

// TestOpenSSLClient checks the center's TLS policy with an outside client:
// Debian's openssl s_client.
func TestOpenSSLClient(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl binary not found in PATH: the outside-client check of the TLS policy is skipped (install Debian's openssl to run it)")
	}
	s, _, _ := startPolicyCenter(t, nil)
	p := func(n string) string { return pki.Path(n) }
	good := []string{"-cert", p(pki.Vehicle.CertFile()), "-key", p(pki.Vehicle.KeyFile()), "-cert_chain", p(pki.Intermediate.CertFile())}
	run := func(args ...string) string {
		_, port, _ := net.SplitHostPort(s.Addr())
		argv := append([]string{"s_client", "-connect", "127.0.0.1:" + port, "-servername", pki.CenterHost,
			"-CAfile", p(pki.Root.CertFile()), "-alpn", "http/1.1", "-ign_eof"}, args...)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, argv...)
		cmd.Stdin = strings.NewReader("GET /nothing HTTP/1.1\r\nHost: center.icoc.test\r\nConnection: close\r\n\r\n")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		_ = cmd.Run()
		return out.String()
	}
	answered := func(out string) bool { return strings.Contains(out, "HTTP/1.1 ") }
	out := run(append([]string{"-tls1_3", "-groups", "P-384"}, good...)...)
	if !answered(out) || !strings.Contains(out, "TLS_AES_256_GCM_SHA384") {
		t.Fatalf("good client: not accepted with TLS_AES_256_GCM_SHA384/P-384:\n%s", out)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"TLS 1.2", append([]string{"-tls1_2"}, good...)},
		{"TLS_AES_128_GCM_SHA256 only", append([]string{"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"}, good...)},
		{"P-256 only", append([]string{"-tls1_3", "-groups", "P-256"}, good...)},
		{"X25519 only", append([]string{"-tls1_3", "-groups", "X25519"}, good...)},
		{"no client certificate", []string{"-tls1_3"}},
		{"revoked client certificate", []string{"-tls1_3", "-cert", p(pki.VehicleRevoked.CertFile()), "-key", p(pki.VehicleRevoked.KeyFile()), "-cert_chain", p(pki.Intermediate.CertFile())}},
	} {
		if out := run(c.args...); answered(out) {
			t.Errorf("%s: accepted:\n%s", c.name, out)
		}
	}
}

// With session tickets off the center neither issues nor honours one:
// every handshake is a full one, with the server certificate; on again,
// sessions resume.
func TestSessionTicketsSwitch(t *testing.T) {
	s, _, _ := startPolicyCenter(t, nil)
	cache := tls.NewLRUClientSessionCache(4)
	withCache := func(c *tls.Config) { c.ClientSessionCache = cache }
	if _, err := dialCenter(t, s, pki.Vehicle, withCache); err != nil {
		t.Fatal(err)
	}
	s.SetSessionTickets(false)
	for i := range 2 {
		st, err := dialCenter(t, s, pki.Vehicle, withCache)
		if err != nil || st.DidResume || len(st.PeerCertificates) == 0 {
			t.Fatalf("tickets off, handshake %d: resumed=%v certificates=%d err=%v", i+1, st.DidResume, len(st.PeerCertificates), err)
		}
	}
	s.SetSessionTickets(true)
	if _, err := dialCenter(t, s, pki.Vehicle, withCache); err != nil {
		t.Fatal(err)
	}
	if st, err := dialCenter(t, s, pki.Vehicle, withCache); err != nil || !st.DidResume {
		t.Fatalf("tickets on again: resumed=%v err=%v", st.DidResume, err)
	}
}
