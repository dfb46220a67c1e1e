package center

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/icoc-dev/icoc/internal/tls13suites" // Table 7-1: no TLS_AES_128_GCM_SHA256 (I-046)
	"github.com/icoc-dev/icoc/spec"
)

func init() {
	registerQuirk(QuirkInfo{Name: "accept-expired-client-cert", Clause: "7.1.1.7 Table 7-5 E", Breaks: "accepts a client certificate outside its validity period"})
	registerQuirk(QuirkInfo{Name: "ignore-client-key-usage", Clause: "7.1.1.7 Table 7-5 D", Breaks: "accepts a client certificate without digitalSignature key usage"})
	registerQuirk(QuirkInfo{Name: "no-resumption", Clause: "7.1.1.4", Breaks: "never resumes a session (always a full handshake)"})
	registerQuirk(QuirkInfo{Name: "client-timeout-factor", Clause: "7.1.1.7 Table 7-5 B", Breaks: "waits the 1 s client response timeout times this factor", Arg: "float"})
	registerQuirk(QuirkInfo{Name: "accept-no-client-cert", Clause: "7.1.1.3, Table 7-5 A", Breaks: "accepts a client that sends no certificate"})
	registerQuirk(QuirkInfo{Name: "accept-partial-chain", Clause: "7.1.1.3, Table 7-5 A", Breaks: "accepts a client chain without its intermediate CA (trusts the intermediate as an anchor)"})
	registerQuirk(QuirkInfo{Name: "accept-bad-client-signature", Clause: "7.1.1.7 Table 7-5 C", Breaks: "accepts a client certificate whose signature does not verify"})
	registerQuirk(QuirkInfo{Name: "ignore-client-eku", Clause: "7.1.1.7 Table 7-5 D", Breaks: "accepts a client certificate without EKU clientAuth"})
	registerQuirk(QuirkInfo{Name: "accept-untrusted-client", Clause: "6.2.3, 7.1.1.3", Breaks: "accepts a client chain that does not end at the OEM root"})
	registerQuirk(QuirkInfo{Name: "accept-p256", Clause: "7.1.1.2.2", Breaks: "accepts ECDHE P-256 (256 bits)"})
	registerQuirk(QuirkInfo{Name: "accept-weak-client-key", Clause: "7.1.1.2.3 (I-080)", Breaks: "accepts a client certificate whose key is neither ECDSA P-256 nor RSA of 3072 bits or more"})
	registerQuirk(QuirkInfo{Name: "accept-p384-client", Clause: "7.1.1.2.3 (I-080)", Breaks: "accepts a client certificate whose key is ECDSA on P-384 (the other keys it refuses as before)"})
	registerQuirk(QuirkInfo{Name: "refuse-rsa-client", Clause: "7.1.1.2.3", Breaks: "refuses a client certificate with an RSA-3072 key"})
	registerQuirk(QuirkInfo{Name: "ecdsa-only-server", Clause: "7.1.1.2.3", Breaks: "serves its ECDSA certificate only, never the RSA-3072 one"})
	registerQuirk(QuirkInfo{Name: "internal-error-alerts", Clause: "7.1.1.1 (RFC 8446 §4.1.1, RFC 6066 §3, I-082)", Breaks: "answers a client with no common signature scheme, or an unknown server name, with alert internal_error"})
	registerQuirk(QuirkInfo{Name: "refuse-unknown-sni", Clause: "7.1.1.1 (RFC 6066 §3, I-082)", Variant: true, Breaks: "refuses a server name its certificates do not cover with alert unrecognized_name (the default carries on with its certificate)"})
}

// Client certificate keys of 7.1.1.2.3 (register I-080): ECDSA on P-256, or
// RSA of at least MinClientRSABits bits.
const MinClientRSABits = 3072

// ClientKeyAllowed says why a client leaf's key is not one 7.1.1.2.3
// allows (ECDSA P-256, RSA of 3072 bits or more), nil when it is.
func ClientKeyAllowed(c *x509.Certificate) error {
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return nil
		}
		return fmt.Errorf("client certificate key is ECDSA %s; 7.1.1.2.3 allows ECDSA P-256 and RSA of %d bits or more (I-080)", k.Curve.Params().Name, MinClientRSABits)
	case *rsa.PublicKey:
		if k.N.BitLen() >= MinClientRSABits {
			return nil
		}
		return fmt.Errorf("client certificate key is RSA-%d; 7.1.1.2.3 allows ECDSA P-256 and RSA of %d bits or more (I-080)", k.N.BitLen(), MinClientRSABits)
	}
	return fmt.Errorf("client certificate key is %v; 7.1.1.2.3 allows ECDSA P-256 and RSA of %d bits or more (I-080)", c.PublicKeyAlgorithm, MinClientRSABits)
}

// isP384 reports whether a certificate's key is ECDSA on P-384.
func isP384(c *x509.Certificate) bool {
	k, ok := c.PublicKey.(*ecdsa.PublicKey)
	return ok && k.Curve == elliptic.P384()
}

// TLSPolicy is the center's side of 7.1.1 beyond the certificate files of
// Config: stapling, session lifetime and client-certificate revocation.
// The zero value staples nothing, keeps sessions 12 h of real time and does
// not check client revocation; start from DefaultTLSPolicy.
type TLSPolicy struct {
	// AltCertFile and AltKeyFile, when set, are a second server
	// certificate (e.g. RSA-3072 next to ECDSA P-256, 7.1.1.2.3); crypto/tls
	// picks the first one the client's signature_algorithms accept.
	AltCertFile string `yaml:"alt_cert_file"`
	AltKeyFile  string `yaml:"alt_key_file"`
	// StapleFile, when set, is a DER OCSP response about the server
	// certificate, stapled in every handshake that asks for it (RFC 6066
	// status_request, 7.1.1.5); Server.SetStaple switches it while serving.
	StapleFile string `yaml:"staple_file"`
	// AltStapleFile is the same for the second certificate (AltCertFile).
	AltStapleFile string `yaml:"alt_staple_file"`
	// SessionLifetime is how long (spec time) a session ticket may be used
	// to resume (7.1.1.4: 12 h). Resumption is stateless (the ticket
	// carries the state), PSK with (EC)DHE, 1-RTT; 0-RTT is never accepted.
	SessionLifetime time.Duration `yaml:"session_lifetime"`
	// PartialChainCAFile is the intermediate CA the accept-partial-chain
	// quirk trusts as an anchor (self-test only).
	PartialChainCAFile string `yaml:"partial_chain_ca_file"`
	// TimeScale is wall seconds per spec second for SessionLifetime and
	// the client-revocation timers; 1 on a bench.
	TimeScale float64 `yaml:"time_scale"`
	// ClientRevocation configures the check of client certificates by
	// OCSP (7.1.1.5, Table 7-5).
	ClientRevocation ClientRevocation `yaml:"client_revocation"`
	// ClientResponseTimeout (spec time) bounds each wait for the client
	// during the handshake (Table 7-5 B: 1 s); 0: no bound.
	ClientResponseTimeout time.Duration `yaml:"client_response_timeout"`
	// RefuseUnknownServerName makes the center refuse a server_name its
	// certificates do not cover with alert unrecognized_name; false (the
	// default) carries on with its certificate. RFC 6066 §3 allows both
	// (register I-082).
	RefuseUnknownServerName bool `yaml:"refuse_unknown_server_name"`
}

// DefaultTLSPolicy is the policy of 7.1.1: 12 h sessions and a 1 s client
// response timeout in real time, no staple; client revocation is off until
// ClientRevocation says where the OCSP responder is reached.
func DefaultTLSPolicy() TLSPolicy {
	return TLSPolicy{SessionLifetime: spec.TLSSessionTimeout, TimeScale: 1, ClientResponseTimeout: time.Second}
}

func (p TLSPolicy) wall(d time.Duration) time.Duration {
	s := p.TimeScale
	if s <= 0 {
		s = 1
	}
	return time.Duration(float64(d) * s)
}

// tlsState is what can change while the center serves: the certificates
// and the staple. Invariant: certs is never empty once built.
type tlsState struct {
	mu     sync.RWMutex
	certs  []tls.Certificate
	staple []byte
	// altStaple is stapled with the second certificate.
	altStaple []byte
	quirks    Quirks
	policy    TLSPolicy
	// lifetime is SessionLifetime in wall time.
	lifetime time.Duration
	// clientWait is the wall-time bound of each wait for the client.
	clientWait time.Duration
	noResume   bool
	checker    *clientChecker
	onHello    []func(ClientHello)
	// refuseSNI refuses an unknown server_name (unrecognized_name).
	refuseSNI bool
}

// ticketLifetime is the ticket_lifetime the center announces (wall time):
// its session lifetime, or 0 (crypto/tls's 7 days) under a quirk.
func (st *tlsState) ticketLifetime() time.Duration {
	if st.quirks.Has("ticket-lifetime-7d") {
		return 0
	}
	return st.lifetime
}

// ClientHello is what a client offered, as the center saw it: the facts
// 7.1.1 judges a client by (versions, suites, groups, signature schemes,
// SNI, ALPN, extensions).
type ClientHello struct {
	At                time.Time
	RemoteAddr        string
	ServerName        string
	SupportedVersions []uint16
	CipherSuites      []uint16
	SupportedCurves   []tls.CurveID
	SignatureSchemes  []tls.SignatureScheme
	ALPN              []string
	// Extensions are the extension code points in the order sent
	// (5 = status_request, 42 = early_data, 41 = pre_shared_key).
	Extensions []uint16
}

// OnClientHello registers f to be called with every ClientHello the
// center receives, before it answers; f must not block.
func (s *Server) OnClientHello(f func(ClientHello)) {
	st := s.tlsState()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.onHello = append(st.onHello, f)
}

// tlsStates maps a Server's base *tls.Config to its tlsState, so the
// Server's TLS methods find it without a field in Server.
var tlsStates sync.Map // *tls.Config -> *tlsState

// tlsConfig builds the server side of 7.1.1: TLS 1.3 only (7.1.1.1);
// Table 7-1 suites only (package tls13suites, I-046); ECDHE P-384/P-521
// only (7.1.1.2.2, I-022); mutual authentication with client chains that
// end at the OEM root (6.2.3, 7.1.1.3) and whose leaf may sign
// (digitalSignature, Table 7-5 D); client revocation by OCSP without
// stapling (7.1.1.5); stateless 1-RTT resumption for SessionLifetime, no
// 0-RTT (7.1.1.4); OCSP stapling of the server's own certificate.
func (c Config) tlsConfig() (*tls.Config, error) {
	q, err := ParseQuirks(c.Quirks)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("server certificate %s / %s: %w", c.CertFile, c.KeyFile, err)
	}
	st := &tlsState{certs: []tls.Certificate{cert}, quirks: q, policy: c.TLS}
	var extraAnchors []byte
	if c.TLS.AltCertFile != "" {
		alt, err := tls.LoadX509KeyPair(c.TLS.AltCertFile, c.TLS.AltKeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.alt_cert_file %s / %s: %w", c.TLS.AltCertFile, c.TLS.AltKeyFile, err)
		}
		st.certs = append(st.certs, alt)
	}
	if c.TLS.StapleFile != "" {
		if st.staple, err = os.ReadFile(c.TLS.StapleFile); err != nil {
			return nil, fmt.Errorf("tls.staple_file: %w", err)
		}
	}
	if c.TLS.AltStapleFile != "" {
		if st.altStaple, err = os.ReadFile(c.TLS.AltStapleFile); err != nil {
			return nil, fmt.Errorf("tls.alt_staple_file: %w", err)
		}
	}
	lifetime := c.TLS.SessionLifetime
	if lifetime <= 0 {
		lifetime = spec.TLSSessionTimeout
	}
	st.lifetime = c.TLS.wall(lifetime)
	st.noResume = q.Has("no-resumption")
	st.refuseSNI = c.TLS.RefuseUnknownServerName || q.Has("refuse-unknown-sni")
	st.clientWait = c.TLS.wall(time.Duration(float64(c.TLS.ClientResponseTimeout) * q.Float("client-timeout-factor", 1)))
	if q.Has("accept-partial-chain") {
		if ib, err := os.ReadFile(c.TLS.PartialChainCAFile); err == nil {
			extraAnchors = ib
		}
	}

	pem, err := os.ReadFile(c.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("client CA %s: no PEM certificate in it", c.ClientCAFile)
	}
	if extraAnchors != nil {
		pool.AppendCertsFromPEM(extraAnchors)
	}
	if c.TLS.ClientRevocation.Enabled {
		st.checker = newClientChecker(c.TLS.ClientRevocation, c.TLS, q, c.Logf)
	}
	curves := []tls.CurveID{tls.CurveP384, tls.CurveP521}
	if q.Has("accept-p256") {
		curves = append(curves, tls.CurveP256)
	}
	clientAuth := tls.RequireAnyClientCert
	if q.Has("accept-no-client-cert") {
		clientAuth = tls.RequestClientCert
	}
	tc := &tls.Config{
		MinVersion:       tls.VersionTLS13,
		MaxVersion:       tls.VersionTLS13,
		GetCertificate:   st.getCertificate,
		ClientAuth:       clientAuth,
		CurvePreferences: curves,
		NextProtos:       []string{"http/1.1"},
		KeyLogWriter:     c.KeyLogWriter,
	}
	tc.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		ch := ClientHello{At: time.Now(), ServerName: h.ServerName, SupportedVersions: h.SupportedVersions,
			CipherSuites: h.CipherSuites, SupportedCurves: h.SupportedCurves, SignatureSchemes: h.SignatureSchemes,
			ALPN: h.SupportedProtos, Extensions: h.Extensions}
		if h.Conn != nil {
			ch.RemoteAddr = h.Conn.RemoteAddr().String()
		}
		st.mu.RLock()
		fs := st.onHello
		st.mu.RUnlock()
		for _, f := range fs {
			f(ch)
		}
		return nil, nil
	}
	tc.VerifyConnection = func(cs tls.ConnectionState) error { return st.verifyClient(cs, pool) }
	tc.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano())))
		return tc.EncryptTicket(cs, ss)
	}
	tc.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := tc.DecryptTicket(identity, cs)
		if err != nil || ss == nil || st.noResume {
			return nil, nil // unusable ticket: a full handshake, no error
		}
		if len(ss.Extra) == 0 || len(ss.Extra[len(ss.Extra)-1]) != 8 {
			return nil, nil
		}
		issued := time.Unix(0, int64(binary.BigEndian.Uint64(ss.Extra[len(ss.Extra)-1])))
		if time.Since(issued) > st.lifetime {
			return nil, nil // 7.1.1.4: older than the session timeout
		}
		return ss, nil
	}
	tlsStates.Store(tc, st)
	return tc, nil
}

// getCertificate picks the first certificate the client's
// signature_algorithms accept (7.1.1.2.3: ECDSA P-256 or RSA-3072). A
// server_name none of the certificates covers is refused with
// unrecognized_name when the policy says so, else served like no SNI (RFC
// 6066 §3). When no certificate suits the client it returns the first one,
// so that crypto/tls refuses with handshake_failure (RFC 8446 §4.1.1),
// never internal_error (register I-082).
func (st *tlsState) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if len(st.certs) == 0 {
		return nil, errors.New("no server certificate")
	}
	if hello.ServerName != "" && !st.covers(hello.ServerName) {
		switch {
		case st.quirks.Has("internal-error-alerts"):
			return nil, fmt.Errorf("unknown server name %q", hello.ServerName)
		case st.refuseSNI:
			return nil, nil // crypto/tls: no certificate, alert unrecognized_name
		}
	}
	certs := st.certs
	if st.quirks.Has("ecdsa-only-server") {
		certs = certs[:1]
	}
	var firstErr error
	for i := range certs {
		c := certs[i]
		if err := hello.SupportsCertificate(&c); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if i == 0 {
			c.OCSPStaple = st.staple
		} else if i == 1 {
			c.OCSPStaple = st.altStaple
		}
		return &c, nil
	}
	if st.quirks.Has("internal-error-alerts") {
		return nil, firstErr
	}
	c := certs[0]
	return &c, nil // unsuitable: crypto/tls answers handshake_failure
}

// covers reports whether one of the certificates is issued to name.
func (st *tlsState) covers(name string) bool {
	for _, c := range st.certs {
		if c.Leaf != nil && c.Leaf.VerifyHostname(name) == nil {
			return true
		}
	}
	return false
}

// verifyClient checks the client chain: it must be present, verify to the
// OEM root as a client certificate (6.2.3, 7.1.1.3, Table 7-5 C, E), have
// digitalSignature usage (Table 7-5 D), and not be revoked (Table 7-5 F..M).
// A resumed session was checked when it was made.
func (st *tlsState) verifyClient(cs tls.ConnectionState, roots *x509.CertPool) error {
	if cs.DidResume {
		return nil
	}
	if len(cs.PeerCertificates) == 0 {
		if st.quirks.Has("accept-no-client-cert") {
			return nil
		}
		return errors.New("tls: client sent no certificate (7.1.1.3)")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if st.quirks.Has("ignore-client-eku") {
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	if st.quirks.Has("accept-expired-client-cert") && time.Now().After(leaf.NotAfter) {
		opts.CurrentTime = leaf.NotAfter.Add(-time.Minute)
	}
	chains, err := leaf.Verify(opts)
	if err != nil {
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) && (st.quirks.Has("accept-bad-client-signature") || st.quirks.Has("accept-untrusted-client")) {
			return nil
		}
		return fmt.Errorf("client certificate: %w", err)
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 && !st.quirks.Has("ignore-client-key-usage") {
		return errors.New("client certificate: key usage lacks digitalSignature (Table 7-5 D)")
	}
	if err := ClientKeyAllowed(leaf); err != nil && !st.quirks.Has("accept-weak-client-key") && !(isP384(leaf) && st.quirks.Has("accept-p384-client")) {
		return err
	}
	if leaf.PublicKeyAlgorithm == x509.RSA && st.quirks.Has("refuse-rsa-client") {
		return errors.New("quirk: RSA client certificate refused")
	}
	if st.checker != nil {
		return st.checker.check(chains[0])
	}
	return nil
}

// clientResponseTimeout is the wall-time bound of each wait for the client
// during a handshake.
func (s *Server) clientResponseTimeout() time.Duration {
	st := s.tlsState()
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.clientWait
}

// SetClientResponseTimeout sets the bound of each wait for the client
// during a handshake (spec time, Table 7-5 B); 0 removes it. The harness's
// own center has none, so that a vehicle DUT may take its time checking
// revocation inside the handshake.
func (s *Server) SetClientResponseTimeout(d time.Duration) {
	st := s.tlsState()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.clientWait = st.policy.wall(d)
}

func (s *Server) tlsState() *tlsState {
	v, _ := tlsStates.Load(s.tls)
	st, _ := v.(*tlsState)
	return st
}

// SetCertificates replaces the server certificates (chain and key PEM
// files, in preference order) for handshakes that start afterwards; the
// harness uses it to present the broken certificates of Table 7-4.
func (s *Server) SetCertificates(files ...[2]string) error {
	var certs []tls.Certificate
	for _, f := range files {
		c, err := tls.LoadX509KeyPair(f[0], f[1])
		if err != nil {
			return fmt.Errorf("server certificate %s / %s: %w", f[0], f[1], err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return errors.New("SetCertificates: no certificate")
	}
	st := s.tlsState()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.certs = certs
	return nil
}

// SetStaple sets the DER OCSP response stapled from now on; nil switches
// stapling off (7.1.1.5, RFC 6066).
func (s *Server) SetStaple(der []byte) {
	st := s.tlsState()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.staple = der
}

// handshakeFaults is the listener's fault plan per Server (Table 7-4 A, B).
var handshakeFaults sync.Map // *Server -> *atomic.Value(HandshakeFault)

// HandshakeFault breaks the center's side of the TLS handshake for every
// connection accepted while it is set (Table 7-4 rows A and B).
type HandshakeFault int

const (
	// HandshakeNormal is no fault.
	HandshakeNormal HandshakeFault = iota
	// HandshakeClose closes each connection as soon as the ClientHello has
	// arrived: the client never obtains the server certificate (7-4 A).
	HandshakeClose
	// HandshakeSilent reads the ClientHello and never answers (7-4 B, no
	// response); the connection stays open until the client closes it.
	HandshakeSilent
	// HandshakeGarbage answers the ClientHello with bytes that are not TLS
	// (7-4 B, incorrect content).
	HandshakeGarbage
)

// String describes the fault.
func (f HandshakeFault) String() string {
	return [...]string{"none", "close after ClientHello", "silent after ClientHello", "garbage after ClientHello"}[f]
}

// SetHandshakeFault sets the fault for connections accepted from now on.
func (s *Server) SetHandshakeFault(f HandshakeFault) {
	v, _ := handshakeFaults.LoadOrStore(s, new(atomic.Int32))
	v.(*atomic.Int32).Store(int32(f))
}

func (s *Server) handshakeFault() HandshakeFault {
	v, ok := handshakeFaults.Load(s)
	if !ok {
		return HandshakeNormal
	}
	return HandshakeFault(v.(*atomic.Int32).Load())
}
