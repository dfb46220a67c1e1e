package vehicle

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/icoc-dev/icoc/internal/tls13suites" // Table 7-1: no TLS_AES_128_GCM_SHA256 (I-046)
)

func init() {
	registerQuirk(QuirkInfo{Name: "accept-expired-server-cert", Clause: "7.1.1.7 Table 7-4 E", Breaks: "accepts a server certificate outside its validity period"})
	registerQuirk(QuirkInfo{Name: "ignore-server-key-usage", Clause: "7.1.1.7 Table 7-4 D", Breaks: "accepts a server certificate without digitalSignature key usage"})
	registerQuirk(QuirkInfo{Name: "accept-untrusted-server", Clause: "6.2.3", Breaks: "accepts a server chain that does not end at the OEM root"})
	registerQuirk(QuirkInfo{Name: "offer-tls12", Clause: "7.1.1.1", Breaks: "offers TLS 1.2 besides TLS 1.3"})
	registerQuirk(QuirkInfo{Name: "no-sni", Clause: "7.1.1.1", Breaks: "sends no server_name (SNI)"})
	registerQuirk(QuirkInfo{Name: "no-alpn", Clause: "7.1.1.1 (RFC 7301)", Breaks: "offers no application protocol (ALPN)"})
	registerQuirk(QuirkInfo{Name: "offer-aes128", Clause: "7.1.1.2.1 Table 7-1", Breaks: "offers TLS_AES_128_GCM_SHA256, first (process-wide)"})
	registerQuirk(QuirkInfo{Name: "offer-x25519", Clause: "7.1.1.2.2", Breaks: "offers X25519 and P-256 key shares"})
	registerQuirk(QuirkInfo{Name: "refuse-rsa-server", Clause: "7.1.1.2.3", Breaks: "refuses an RSA-3072 server certificate"})
	registerQuirk(QuirkInfo{Name: "no-session-resumption", Clause: "7.1.1.4", Breaks: "never resumes a TLS session"})
	registerQuirk(QuirkInfo{Name: "ignore-server-name", Clause: "7.1.1.7 Table 7-4 D (I-081)", Breaks: "accepts a trusted server certificate issued to any name"})
	registerQuirk(QuirkInfo{Name: "server-name-cn-fallback", Clause: "7.1.1.7 Table 7-4 D (I-081)", Breaks: "matches the server name against the subject CN of a certificate without SAN"})
	registerQuirk(QuirkInfo{Name: "accept-wildcard-server", Clause: "7.1.1.7 Table 7-4 D (I-081)", Breaks: "accepts a wildcard server certificate although wildcard_server_names is off"})
	registerQuirk(QuirkInfo{Name: "strongest-only", Clause: "7.1.1.2.1 Table 7-1, 7.1.1.2.2 (I-010, I-022)", Variant: true,
		Breaks: "offers only TLS_AES_256_GCM_SHA384 (no ChaCha20, process-wide) and only secp521r1, instead of both allowed suites and secp384r1 first"})
}

// checkServerName is the server-identity part of Table 7-4 D (register
// I-081): the leaf must carry the center's host name as a DNS SAN (RFC
// 6125 §6.4, RFC 9525: the subject CN is not used); a wildcard SAN
// matches only when the configuration allows wildcards.
func (c *serverChecker) checkServerName(leaf *x509.Certificate) error {
	name := strings.ToLower(strings.TrimSuffix(c.serverName, "."))
	if name == "" || c.q.Has("ignore-server-name") {
		return nil
	}
	for _, san := range leaf.DNSNames {
		if strings.ToLower(strings.TrimSuffix(san, ".")) == name {
			return nil
		}
	}
	if leaf.VerifyHostname(name) == nil { // only a wildcard SAN matches
		if c.cfg.WildcardServerNames || c.q.Has("accept-wildcard-server") {
			return nil
		}
		return fmt.Errorf("server certificate matches %s only by a wildcard SAN %v; wildcards are not allowed (wildcard_server_names)", name, leaf.DNSNames)
	}
	if len(leaf.DNSNames) == 0 && c.q.Has("server-name-cn-fallback") && strings.EqualFold(leaf.Subject.CommonName, name) {
		return nil
	}
	return fmt.Errorf("server certificate is not issued to %s (DNS SANs %v, CN %q; the CN is not used)", name, leaf.DNSNames, leaf.Subject.CommonName)
}

// quirkedHello applies the quirks that change what the vehicle offers in
// its ClientHello to a copy of tc.
func (v *Vehicle) quirkedHello(tc *tls.Config) *tls.Config {
	q := v.quirks
	if !q.Has("offer-tls12") && !q.Has("no-sni") && !q.Has("no-alpn") && !q.Has("offer-x25519") && !q.Has("no-session-resumption") {
		return tc
	}
	tc = tc.Clone()
	if q.Has("offer-tls12") {
		tc.MinVersion = tls.VersionTLS12
	}
	if q.Has("no-sni") {
		tc.ServerName = ""
	}
	if q.Has("no-alpn") {
		tc.NextProtos = nil
	}
	if q.Has("offer-x25519") {
		tc.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}
	}
	if q.Has("no-session-resumption") {
		tc.ClientSessionCache = nil
	}
	return tc
}

// checkers maps the vehicle's base *tls.Config to its server checker, so
// the vehicle finds its revocation cache (e.g. to drop it at +B OFF)
// without a field in Vehicle.
var checkers sync.Map // *tls.Config -> *serverChecker

// tlsConfig builds the vehicle's side of 7.1.1: TLS 1.3 only, Table 7-1
// suites only (I-046), ECDHE P-384/P-521 (I-022), the client certificate
// issued by the OEM (6.2.2), and its own verification of the server chain
// in VerifyConnection: the chain must end at the OEM root (6.2.3), be
// valid now (Table 7-4 E), carry intact signatures (C) and the right
// usages (D), have a staple when a certificate demands one (RFC 7633), and
// no certificate of it may be revoked (7.1.1.5, rows F..L). serverName is
// the center's host name (SNI).
func tlsConfig(cfg Config, serverName string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("client certificate %s / %s: %w", cfg.CertFile, cfg.KeyFile, err)
	}
	pem, err := os.ReadFile(cfg.RootCAFile)
	if err != nil {
		return nil, fmt.Errorf("root CA: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("root CA %s: no PEM certificate in it", cfg.RootCAFile)
	}
	q, _ := ParseQuirks(cfg.Quirks)
	if q.Has("offer-aes128") {
		tls13suites.EnableAES128()
	}
	curves := []tls.CurveID{tls.CurveP384, tls.CurveP521}
	if q.Has("strongest-only") {
		tls13suites.OnlyAES256()
		curves = []tls.CurveID{tls.CurveP521}
	}
	chk := newServerChecker(cfg, q, roots, serverName)
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      roots,
		ServerName:   serverName,
		// The chain is verified in VerifyConnection (below), which also
		// runs the revocation check; crypto/tls's own check is off so that
		// the rows of Table 7-4 can be told apart.
		InsecureSkipVerify: true,
		VerifyConnection:   chk.verify,
		CurvePreferences:   curves,
		NextProtos:         []string{"http/1.1"},
		// 7.1.1.4: stateless resumption (tickets), 1-RTT; crypto/tls never
		// sends early data over TCP.
		ClientSessionCache: chk.sessions,
	}
	checkers.Store(tc, chk)
	return tc, nil
}

// authError is a server-authentication failure and the Table 7-4 row it
// falls under ("" when none does, e.g. an untrusted chain, 6.2.3).
type authError struct {
	Row string
	Err error
}

func (e *authError) Error() string {
	if e.Row == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("Table 7-4 %s: %v", e.Row, e.Err)
}

func (e *authError) Unwrap() error { return e.Err }

func rowErr(row string, err error) error { return &authError{Row: row, Err: err} }

// rowOf returns the Table 7-4 row of a handshake error, "" when none.
func rowOf(err error) string {
	var ae *authError
	if errors.As(err, &ae) {
		return ae.Row
	}
	return ""
}

// verifyChain is the certificate part of the check: rows C, D, E and
// clause 6.2.3. It returns the verified chain, leaf first (nil, under a
// quirk, for a chain accepted without verification).
func (c *serverChecker) verifyChain(cs tls.ConnectionState) ([]*x509.Certificate, error) {
	certs := cs.PeerCertificates
	if len(certs) == 0 {
		return nil, rowErr("A", errors.New("the server sent no certificate"))
	}
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, ic := range certs[1:] {
		inter.AddCert(ic)
	}
	// Row C: a certificate whose issuer was sent (or is the root) but whose
	// signature does not verify is corrupted.
	for i, ce := range certs {
		for _, is := range certs[i+1:] {
			if string(is.RawSubject) == string(ce.RawIssuer) {
				if err := ce.CheckSignatureFrom(is); err != nil {
					return nil, rowErr("C", fmt.Errorf("signature of %s does not verify: %w", ce.Subject.CommonName, err))
				}
			}
		}
	}
	opts := x509.VerifyOptions{Roots: c.roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if c.q.Has("accept-expired-server-cert") {
		opts.CurrentTime = leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
	}
	chains, err := leaf.Verify(opts)
	if err != nil {
		var inv x509.CertificateInvalidError
		var ua x509.UnknownAuthorityError
		switch {
		case errors.As(err, &inv) && inv.Reason == x509.Expired:
			return nil, rowErr("E", err)
		case errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage:
			return nil, rowErr("D", err)
		case errors.As(err, &ua) && c.q.Has("accept-untrusted-server"):
			return nil, nil // accepted as is, nothing to check further
		}
		return nil, rowErr("", err)
	}
	if err := c.checkServerName(leaf); err != nil {
		return nil, rowErr("D", err)
	}
	if c.q.Has("refuse-rsa-server") && leaf.PublicKeyAlgorithm == x509.RSA {
		return nil, rowErr("", errors.New("quirk: RSA server certificate refused"))
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 && !c.q.Has("ignore-server-key-usage") {
		return nil, rowErr("D", errors.New("server certificate: key usage lacks digitalSignature"))
	}
	return chains[0], nil
}

// sessionCache is the vehicle's TLS session (ticket) cache: an LRU cache
// that +B OFF empties, as it empties everything volatile. Safe for
// concurrent use.
type sessionCache struct {
	mu    sync.Mutex
	inner tls.ClientSessionCache
}

func newSessionCache() *sessionCache { return &sessionCache{inner: tls.NewLRUClientSessionCache(8)} }

// Get returns the session stored for key.
func (c *sessionCache) Get(key string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inner.Get(key)
}

// Put stores a session for key.
func (c *sessionCache) Put(key string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inner.Put(key, cs)
}

// Clear forgets every session.
func (c *sessionCache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inner = tls.NewLRUClientSessionCache(8)
}
