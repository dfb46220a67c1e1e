package center

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// This file is the center's CRL distribution point and OCSP responder
// (7.1.1.5): the places the CDP and AIA URLs of the OEM certificates point
// to (http://crl.icoc.test/..., http://ocsp.icoc.test/). Both are served by
// one plain-HTTP server, with the cache headers of RFC 7234/7232
// (Cache-Control max-age up to nextUpdate, ETag, Last-Modified, 304 on
// revalidation), and can be broken by RevocationFaults (Table 7-4 rows
// B, H, I, J, K, L; Table 7-5 rows H..M).

// RevocationCA is one CA whose revocation the server publishes. The CA
// signs its own CRL; OCSP responses about the certificates it issued are
// signed by the delegated responder when the responder was issued by this
// CA, else by the CA itself.
type RevocationCA struct {
	// CertFile and KeyFile are the CA's certificate and private key (PEM).
	CertFile string
	KeyFile  string
	// CRLPath is the URL path of its CRL, e.g. "/intermediate.crl".
	CRLPath string
	// CRLFile, when set, is a DER CRL served as is until the CRL is
	// re-published; its entries are the CA's initial revoked serials.
	CRLFile string
}

// RevocationConfig configures a RevocationServer.
type RevocationConfig struct {
	// Addr is the TCP listen address; port 0 picks a free one.
	Addr string
	// CAs are the CAs whose CRLs and OCSP answers are served.
	CAs []RevocationCA
	// ResponderCertFile and ResponderKeyFile are the delegated OCSP
	// responder (EKU OCSPSigning).
	ResponderCertFile, ResponderKeyFile string
	// RogueResponderCertFile and RogueResponderKeyFile sign the answers of
	// the WrongResponder fault; optional.
	RogueResponderCertFile, RogueResponderKeyFile string
	// Logf, when set, receives one line per fetch.
	Logf func(format string, args ...any)
}

// Fetch is one HTTP request the revocation server received and what it
// answered. Times are wall times.
type Fetch struct {
	// At is when the request arrived; Done when the answer was written (or
	// the connection dropped).
	At, Done time.Time
	// Kind is "crl" or "ocsp".
	Kind string
	Host string
	Path string
	// Conditional is true when the request carried If-None-Match or
	// If-Modified-Since.
	Conditional bool
	// Status is the HTTP status answered; 0 when the connection was dropped.
	Status int
	// Serial is the certificate serial an OCSP request asked about (hex).
	Serial string
	// Fault describes the fault applied, "" when none.
	Fault string
	// RemoteAddr is the client's address.
	RemoteAddr string
}

// RevocationFault is one step of the revocation server's fault plan: the
// next Times matching requests (negative: all until reset) are broken as
// stated. At most one of Status, Drop, Corrupt, Expired, WrongResponder is
// meant to be set; Stall combines with any.
type RevocationFault struct {
	Times int
	// Kind limits the step to "crl" or "ocsp" requests; "" matches both.
	Kind string
	// Status answers with this HTTP status and no body.
	Status int
	// Stall holds the request this long (wall time) before answering.
	Stall time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// Corrupt inverts the last byte of the signature (Table 7-4 J, 7-5 J).
	Corrupt bool
	// Expired serves a CRL/response whose nextUpdate has passed (7-4 K, 7-5 L).
	Expired bool
	// WrongResponder signs the OCSP answer by the rogue responder (7-5 K).
	WrongResponder bool
}

// String describes the step for logs and the fetch log.
func (f RevocationFault) String() string {
	var parts []string
	if f.Kind != "" {
		parts = append(parts, f.Kind)
	}
	switch {
	case f.Drop:
		parts = append(parts, "drop")
	case f.Status != 0:
		parts = append(parts, fmt.Sprintf("status %d", f.Status))
	case f.Corrupt:
		parts = append(parts, "corrupt signature")
	case f.Expired:
		parts = append(parts, "expired")
	case f.WrongResponder:
		parts = append(parts, "wrong responder")
	}
	if f.Stall > 0 {
		parts = append(parts, fmt.Sprintf("stall %v", f.Stall))
	}
	return strings.Join(parts, " ")
}

type signer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// revCA is the live state of one CA.
type revCA struct {
	signer
	path    string
	revoked map[string]time.Time // serial (hex) -> revocation time
	number  int64
	// current published CRL
	der        []byte
	thisUpdate time.Time
	nextUpdate time.Time
	// ocspLifetime is how long an OCSP answer signed now is valid; 0:
	// until the CRL's nextUpdate.
	ocspLifetime time.Duration
	ocspCache    map[string]ocspEntry
	keyHash      []byte // SHA-1 of the subject public key (OCSP issuerKeyHash)
}

type ocspEntry struct {
	der                    []byte
	thisUpdate, nextUpdate time.Time
}

// RevocationServer is a running CDP and OCSP responder. Its methods are
// safe for concurrent use. Invariant: every request it receives is in
// Fetches, in arrival order, with what was answered.
type RevocationServer struct {
	cfg       RevocationConfig
	responder signer
	rogue     *signer

	mu      sync.Mutex
	cas     []*revCA
	faults  []RevocationFault
	fetches []Fetch
	maxAge  time.Duration // 0: max-age runs to nextUpdate

	ln   net.Listener
	http *http.Server
	done chan struct{}
}

func loadSigner(certFile, keyFile string) (signer, error) {
	kp, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return signer{}, fmt.Errorf("%s / %s: %w", certFile, keyFile, err)
	}
	c, err := x509.ParseCertificate(kp.Certificate[0])
	if err != nil {
		return signer{}, fmt.Errorf("%s: %w", certFile, err)
	}
	k, ok := kp.PrivateKey.(crypto.Signer)
	if !ok {
		return signer{}, fmt.Errorf("%s: key cannot sign", keyFile)
	}
	return signer{cert: c, key: k}, nil
}

// NewRevocationServer loads the CAs and responders; it does not listen yet.
func NewRevocationServer(cfg RevocationConfig) (*RevocationServer, error) {
	s, err := newRevocationServer(cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Reset brings the published CRLs, the revoked serials, the OCSP lifetime,
// the max-age override and the fault plan back to their state at
// construction; the fetch log is kept.
func (s *RevocationServer) Reset() error {
	fresh, err := newRevocationServer(s.cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cas, s.faults, s.maxAge = fresh.cas, nil, 0
	return nil
}

// SetMaxAge caps the Cache-Control max-age of every answer at d (wall
// time), so a client must revalidate long before nextUpdate; 0 removes the
// cap; a negative d sends max-age=0 (revalidate every time).
func (s *RevocationServer) SetMaxAge(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxAge = d
}

// SignOCSP returns a fresh OCSP response about cert, issued by the CA whose
// certificate is issuer, saying revoked or good, valid for lifetime (wall
// time): a staple the harness can hand to its center.
func (s *RevocationServer) SignOCSP(cert, issuer *x509.Certificate, revoked bool, lifetime time.Duration) ([]byte, error) {
	sg := s.responder
	if s.responder.cert.CheckSignatureFrom(issuer) != nil {
		s.mu.Lock()
		found := false
		for _, ca := range s.cas {
			if ca.cert.Equal(issuer) {
				sg, found = ca.signer, true
			}
		}
		s.mu.Unlock()
		if !found {
			return nil, fmt.Errorf("revocation server: no key for issuer %s", issuer.Subject)
		}
	}
	now := time.Now().Truncate(time.Second)
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: cert.SerialNumber, ThisUpdate: now, NextUpdate: now.Add(lifetime)}
	if revoked {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, now.Add(-time.Minute), ocsp.KeyCompromise
	}
	if sg.cert != issuer && !sg.cert.Equal(issuer) {
		tmpl.Certificate = sg.cert
	}
	return ocsp.CreateResponse(issuer, sg.cert, tmpl, sg.key)
}

func newRevocationServer(cfg RevocationConfig) (*RevocationServer, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	s := &RevocationServer{cfg: cfg, done: make(chan struct{})}
	var err error
	if s.responder, err = loadSigner(cfg.ResponderCertFile, cfg.ResponderKeyFile); err != nil {
		return nil, fmt.Errorf("revocation server: responder: %w", err)
	}
	if cfg.RogueResponderCertFile != "" {
		r, err := loadSigner(cfg.RogueResponderCertFile, cfg.RogueResponderKeyFile)
		if err != nil {
			return nil, fmt.Errorf("revocation server: rogue responder: %w", err)
		}
		s.rogue = &r
	}
	for _, c := range cfg.CAs {
		sg, err := loadSigner(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("revocation server: CA: %w", err)
		}
		ca := &revCA{signer: sg, path: c.CRLPath, revoked: map[string]time.Time{}, ocspCache: map[string]ocspEntry{}}
		ca.keyHash = keyHash(sg.cert)
		if c.CRLFile != "" {
			der, err := os.ReadFile(c.CRLFile)
			if err != nil {
				return nil, fmt.Errorf("revocation server: %w", err)
			}
			rl, err := x509.ParseRevocationList(der)
			if err != nil {
				return nil, fmt.Errorf("revocation server: %s: %w", c.CRLFile, err)
			}
			for _, e := range rl.RevokedCertificateEntries {
				ca.revoked[serialHex(e.SerialNumber)] = e.RevocationTime
			}
			ca.der, ca.thisUpdate, ca.nextUpdate = der, rl.ThisUpdate, rl.NextUpdate
			if rl.Number != nil {
				ca.number = rl.Number.Int64()
			}
		} else if err := s.publishLocked(ca, 365*24*time.Hour); err != nil {
			return nil, err
		}
		s.cas = append(s.cas, ca)
	}
	return s, nil
}

// keyHash is the OCSP issuerKeyHash of c: SHA-1 of the subjectPublicKey
// BIT STRING of its SubjectPublicKeyInfo (RFC 6960 4.1.1).
func keyHash(c *x509.Certificate) []byte {
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil
	}
	h := sha1.Sum(spki.PublicKey.RightAlign())
	return h[:]
}

func serialHex(n *big.Int) string { return strings.ToLower(n.Text(16)) }

// Start listens and serves in the background.
func (s *RevocationServer) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("revocation server listen on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: time.Minute}
	go func() { _ = s.http.Serve(ln) }()
	return nil
}

// Addr is the listen address; valid after Start.
func (s *RevocationServer) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops serving.
func (s *RevocationServer) Close() error {
	select {
	case <-s.done:
		return nil
	default:
		close(s.done)
	}
	if s.http == nil {
		return nil
	}
	return s.http.Close()
}

// SetFaults replaces the fault plan.
func (s *RevocationServer) SetFaults(steps ...RevocationFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append([]RevocationFault(nil), steps...)
}

// ResetFaults removes every fault step.
func (s *RevocationServer) ResetFaults() { s.SetFaults() }

// Fetches returns the requests received at or after since (all when zero).
func (s *RevocationServer) Fetches(since time.Time) []Fetch {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Fetch
	for _, f := range s.fetches {
		if !f.At.Before(since) {
			out = append(out, f)
		}
	}
	return out
}

func (s *RevocationServer) caByPath(p string) *revCA {
	for _, ca := range s.cas {
		if ca.path == p {
			return ca
		}
	}
	return nil
}

// Publish re-signs the CRL of the CA at crlPath now, with the next CRL
// number, valid for lifetime (wall time); it also invalidates the OCSP
// answers cached for that CA, and later answers are valid as long (the OCSP
// lifetime). Use it to make responses that expire within a test.
func (s *RevocationServer) Publish(crlPath string, lifetime time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ca := s.caByPath(crlPath)
	if ca == nil {
		return fmt.Errorf("revocation server: no CA publishes %s", crlPath)
	}
	ca.ocspLifetime = lifetime
	return s.publishLocked(ca, lifetime)
}

// Revoke adds serial to the CA at crlPath's revoked certificates and
// re-publishes its CRL with the same lifetime as the current one.
func (s *RevocationServer) Revoke(crlPath string, serial *big.Int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ca := s.caByPath(crlPath)
	if ca == nil {
		return fmt.Errorf("revocation server: no CA publishes %s", crlPath)
	}
	ca.revoked[serialHex(serial)] = time.Now().Add(-time.Minute)
	lifetime := max(ca.nextUpdate.Sub(ca.thisUpdate), time.Minute)
	return s.publishLocked(ca, lifetime)
}

func (s *RevocationServer) publishLocked(ca *revCA, lifetime time.Duration) error {
	now := time.Now().Truncate(time.Second)
	der, err := ca.signCRL(now, now.Add(lifetime), ca.number+1)
	if err != nil {
		return err
	}
	ca.number++
	ca.der, ca.thisUpdate, ca.nextUpdate = der, now, now.Add(lifetime)
	clear(ca.ocspCache)
	return nil
}

func (ca *revCA) signCRL(thisUpdate, nextUpdate time.Time, number int64) ([]byte, error) {
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(number),
		ThisUpdate: thisUpdate,
		NextUpdate: nextUpdate,
	}
	for sn, at := range ca.revoked {
		n, _ := new(big.Int).SetString(sn, 16)
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at, ReasonCode: 1})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.cert, ca.key)
	if err != nil {
		return nil, fmt.Errorf("revocation server: signing CRL of %s: %w", ca.cert.Subject.CommonName, err)
	}
	return der, nil
}

// takeFault returns the first step matching kind, using one of its Times.
func (s *RevocationServer) takeFault(kind string) (RevocationFault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.Times == 0 || (f.Kind != "" && f.Kind != kind) {
			continue
		}
		if f.Times > 0 {
			f.Times--
		}
		return *f, true
	}
	return RevocationFault{}, false
}

// ServeHTTP answers CRL requests (GET of a CA's CRLPath) and OCSP requests
// (GET /{base64 request} or POST / with an application/ocsp-request body).
func (s *RevocationServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := Fetch{At: time.Now(), Host: r.Host, Path: r.URL.Path, RemoteAddr: r.RemoteAddr,
		Conditional: r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != ""}
	f.Kind = "ocsp"
	if strings.HasSuffix(r.URL.Path, ".crl") {
		f.Kind = "crl"
	}
	var ocspReq *ocsp.Request
	if f.Kind == "ocsp" {
		ocspReq = parseOCSPRequest(r)
		if ocspReq != nil {
			f.Serial = serialHex(ocspReq.SerialNumber)
		}
	}
	fault, faulted := s.takeFault(f.Kind)
	if faulted {
		f.Fault = fault.String()
	}
	defer func() {
		f.Done = time.Now()
		s.mu.Lock()
		s.fetches = append(s.fetches, f)
		s.mu.Unlock()
		if s.cfg.Logf != nil {
			s.cfg.Logf("revocation: %s %s%s -> %d %s", r.Method, r.Host, r.URL.Path, f.Status, f.Fault)
		}
	}()
	if fault.Stall > 0 {
		t := time.NewTimer(fault.Stall)
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-s.done:
		}
		t.Stop()
	}
	if fault.Drop || r.Context().Err() != nil {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
			}
		}
		return
	}
	if fault.Status != 0 {
		f.Status = fault.Status
		w.WriteHeader(fault.Status)
		return
	}
	var (
		body                   []byte
		thisUpdate, nextUpdate time.Time
		err                    error
		ctype                  string
	)
	switch f.Kind {
	case "crl":
		ctype = "application/pkix-crl"
		body, thisUpdate, nextUpdate, err = s.crl(r.URL.Path, fault)
	default:
		ctype = "application/ocsp-response"
		if ocspReq == nil {
			f.Status = http.StatusBadRequest
			http.Error(w, "not an OCSP request", http.StatusBadRequest)
			return
		}
		body, thisUpdate, nextUpdate, err = s.ocspAnswer(ocspReq, fault)
	}
	if errors.Is(err, errNotFound) {
		f.Status = http.StatusNotFound
		http.NotFound(w, r)
		return
	}
	if err != nil {
		f.Status = http.StatusInternalServerError
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	maxAge := s.maxAge
	s.mu.Unlock()
	f.Status = writeCacheable(w, r, ctype, body, thisUpdate, nextUpdate, maxAge)
}

var errNotFound = errors.New("not found")

// writeCacheable writes body with the RFC 7234/7232 headers derived from the
// response's validity, or 304 when the request's validators match. It
// returns the status written.
func writeCacheable(w http.ResponseWriter, r *http.Request, ctype string, body []byte, thisUpdate, nextUpdate time.Time, maxAgeCap time.Duration) int {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	h := w.Header()
	maxAge := int(time.Until(nextUpdate) / time.Second)
	if maxAgeCap < 0 {
		maxAge = 0
	}
	if maxAgeCap > 0 && maxAge > int(maxAgeCap/time.Second) {
		maxAge = int(maxAgeCap / time.Second)
	}
	if maxAge < 0 {
		maxAge = 0
	}
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d, no-transform", maxAge))
	h.Set("ETag", etag)
	h.Set("Last-Modified", thisUpdate.UTC().Format(http.TimeFormat))
	h.Set("Expires", nextUpdate.UTC().Format(http.TimeFormat))
	notModified := false
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			if t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/")); t == etag || t == "*" {
				notModified = true
			}
		}
	} else if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !thisUpdate.Truncate(time.Second).After(t) {
			notModified = true
		}
	}
	if notModified {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return http.StatusOK
}

func (s *RevocationServer) crl(path string, fault RevocationFault) ([]byte, time.Time, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ca := s.caByPath(path)
	if ca == nil {
		return nil, time.Time{}, time.Time{}, errNotFound
	}
	if fault.Expired {
		now := time.Now().Truncate(time.Second)
		der, err := ca.signCRL(now.Add(-2*time.Hour), now.Add(-time.Hour), ca.number)
		return der, now.Add(-2 * time.Hour), now.Add(-time.Hour), err
	}
	der := ca.der
	if fault.Corrupt {
		der = corruptSignature(der)
	}
	return der, ca.thisUpdate, ca.nextUpdate, nil
}

func (s *RevocationServer) ocspAnswer(req *ocsp.Request, fault RevocationFault) ([]byte, time.Time, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ca *revCA
	for _, c := range s.cas {
		if bytes.Equal(c.keyHash, req.IssuerKeyHash) {
			ca = c
		}
	}
	if ca == nil {
		return ocsp.UnauthorizedErrorResponse, time.Now(), time.Now(), nil
	}
	sn := serialHex(req.SerialNumber)
	if e, ok := ca.ocspCache[sn]; ok && !fault.Expired && !fault.WrongResponder && time.Now().Before(e.nextUpdate) {
		der := e.der
		if fault.Corrupt {
			der = corruptSignature(der)
		}
		return der, e.thisUpdate, e.nextUpdate, nil
	}
	now := time.Now().Truncate(time.Second)
	thisUpdate, nextUpdate := now, ca.nextUpdate
	if ca.ocspLifetime > 0 {
		nextUpdate = now.Add(ca.ocspLifetime)
	}
	if fault.Expired {
		thisUpdate, nextUpdate = now.Add(-2*time.Hour), now.Add(-time.Hour)
	}
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
	if at, revoked := ca.revoked[sn]; revoked {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at, ocsp.KeyCompromise
	}
	sg := ca.signer
	if s.responder.cert.CheckSignatureFrom(ca.cert) == nil {
		sg = s.responder
		tmpl.Certificate = s.responder.cert
	}
	if fault.WrongResponder && s.rogue != nil {
		sg = *s.rogue
		tmpl.Certificate = s.rogue.cert
	}
	der, err := ocsp.CreateResponse(ca.cert, sg.cert, tmpl, sg.key)
	if err != nil {
		return nil, now, now, fmt.Errorf("signing OCSP response: %w", err)
	}
	if !fault.Expired && !fault.WrongResponder {
		ca.ocspCache[sn] = ocspEntry{der: der, thisUpdate: thisUpdate, nextUpdate: nextUpdate}
	}
	if fault.Corrupt {
		der = corruptSignature(der)
	}
	return der, thisUpdate, nextUpdate, nil
}

// corruptSignature inverts the last byte of the signature of a DER CRL or
// OCSP response (the signature is found by parsing, so embedded
// certificates after it are left alone).
func corruptSignature(der []byte) []byte {
	var sig []byte
	if rl, err := x509.ParseRevocationList(der); err == nil {
		sig = rl.Signature
	} else if resp, err := ocsp.ParseResponse(der, nil); err == nil {
		sig = resp.Signature
	}
	out := bytes.Clone(der)
	if i := bytes.Index(out, sig); len(sig) > 0 && i >= 0 {
		out[i+len(sig)-1] ^= 0xFF
	} else if len(out) > 0 {
		out[len(out)-1] ^= 0xFF
	}
	return out
}

func parseOCSPRequest(r *http.Request) *ocsp.Request {
	var raw []byte
	switch r.Method {
	case http.MethodPost:
		raw, _ = io.ReadAll(io.LimitReader(r.Body, 1<<16))
	case http.MethodGet:
		p, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/"))
		if err != nil {
			return nil
		}
		raw, err = base64.StdEncoding.DecodeString(p)
		if err != nil {
			return nil
		}
	}
	req, err := ocsp.ParseRequest(raw)
	if err != nil {
		return nil
	}
	return req
}

// PKIRevocationConfig is the RevocationConfig of the test PKI whose
// files are in dir (fixtures/pki, named as package pki names them): the
// root's and the intermediate's CRLs at the paths of their CDP URLs
// (/root.crl, /intermediate.crl), OCSP answers by the delegated responder,
// the rogue responder for the WrongResponder fault. addr is the listen
// address (the URLs name port 80 of crl.icoc.test and ocsp.icoc.test).
func PKIRevocationConfig(dir, addr string) RevocationConfig {
	p := func(f string) string { return filepath.Join(dir, f) }
	return RevocationConfig{
		Addr: addr,
		CAs: []RevocationCA{
			{CertFile: p("intermediate.crt.pem"), KeyFile: p("intermediate.key.pem"), CRLPath: "/intermediate.crl", CRLFile: p("intermediate.crl")},
			{CertFile: p("root.crt.pem"), KeyFile: p("root.key.pem"), CRLPath: "/root.crl", CRLFile: p("root.crl")},
		},
		ResponderCertFile: p("ocsp-responder.crt.pem"), ResponderKeyFile: p("ocsp-responder.key.pem"),
		RogueResponderCertFile: p("rogue-ocsp-responder.crt.pem"), RogueResponderKeyFile: p("rogue-ocsp-responder.key.pem"),
	}
}
