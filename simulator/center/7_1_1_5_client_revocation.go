package center

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/internal/revfetch"
	"github.com/icoc-dev/icoc/spec"
	"golang.org/x/crypto/ocsp"
)

func init() {
	registerQuirk(QuirkInfo{Name: "dns-aaaa", Clause: "7.1.1.7 Table 7-5 G (I-322)", Variant: true, Breaks: "asks for AAAA records beside A records, in parallel, each time it resolves the OCSP responder's host (as Go's and glibc's resolvers do)"})
	registerQuirk(QuirkInfo{Name: "ignore-client-revocation", Clause: "7.1.1.5, 7.1.1.7 Table 7-5 M", Breaks: "never checks the revocation of client certificates"})
	registerQuirk(QuirkInfo{Name: "client-ocsp-no-retry", Clause: "7.1.1.7 Table 7-5", Breaks: "does not retry in the given row (letter)", Arg: "string"})
	registerQuirk(QuirkInfo{Name: "accept-untrusted-ocsp", Clause: "7.1.1.7 Table 7-5 K", Breaks: "accepts an OCSP response signed by an unauthorised responder"})
	registerQuirk(QuirkInfo{Name: "accept-expired-ocsp", Clause: "7.1.1.7 Table 7-5 L", Breaks: "accepts an expired OCSP response"})
	registerQuirk(QuirkInfo{Name: "ignore-ocsp-signature", Clause: "7.1.1.7 Table 7-5 J", Breaks: "accepts an OCSP response whose signature does not verify"})
	registerQuirk(QuirkInfo{Name: "first-dns-answer-only", Clause: "7.1.1.7 Table 7-5 G", Breaks: "connects only to the first of several DNS answers for the OCSP responder"})
	registerQuirk(QuirkInfo{Name: "accept-client-without-ocsp-url", Clause: "7.1.1.7 Table 7-5 F", Breaks: "accepts a client certificate without OCSP URL"})
}

// ClientRevocation configures the center's OCSP check of client
// certificates (7.1.1.5 server side, Table 7-5). The center never relies on
// a staple from the client (7.1.1.5: "the server shall not support OCSP
// stapling").
type ClientRevocation struct {
	// Enabled switches the check on.
	Enabled bool `yaml:"enabled"`
	// Resolver is the DNS server (host:port) for the OCSP host; empty: the
	// system's.
	Resolver string `yaml:"resolver"`
	// Addr, when set, is dialled for every OCSP request (no DNS query).
	Addr string `yaml:"addr"`
	// Port, when non-zero, replaces the URL's port on resolved addresses.
	Port int `yaml:"port"`
}

// clientChecker asks the OCSP responder of each client certificate (and of
// the intermediate CA) whether it is revoked, following Table 7-5, with a
// cache (7.1.1.5, common to both sides).
type clientChecker struct {
	q     Quirks
	fetch *revfetch.Fetcher
	cache revfetch.Cache
	scale float64
	logf  func(string, ...any)
}

func newClientChecker(cr ClientRevocation, p TLSPolicy, q Quirks, logf func(string, ...any)) *clientChecker {
	scale := p.TimeScale
	if scale <= 0 {
		scale = 1
	}
	return &clientChecker{q: q, scale: scale, logf: logf,
		fetch: &revfetch.Fetcher{Resolver: cr.Resolver, DialAddr: cr.Addr, Port: cr.Port, Scale: scale, Logf: logf,
			FirstAddressOnly: q.Has("first-dns-answer-only"), DualStack: q.Has("dns-aaaa")}}
}

func (c *clientChecker) log(format string, args ...any) {
	if c.logf != nil {
		c.logf(format, args...)
	}
}

// rowErr is a client-authentication failure under a row of Table 7-5.
type rowError struct {
	Row string
	Err error
}

func (e *rowError) Error() string { return fmt.Sprintf("Table 7-5 %s: %v", e.Row, e.Err) }
func (e *rowError) Unwrap() error { return e.Err }

// check runs the OCSP check for every certificate of the verified chain
// but the trust anchor.
func (c *clientChecker) check(chain []*x509.Certificate) error {
	if c.q.Has("ignore-client-revocation") {
		return nil
	}
	for i := 0; i+1 < len(chain); i++ {
		if err := c.checkOne(chain[i], chain[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (c *clientChecker) retryOf(row string) (int, time.Duration) {
	sc, _ := spec.All().TLSScenarioFor("T7-5", row)
	n := sc.RetryCount
	if c.q.HasValue("client-ocsp-no-retry", row) {
		n = 0
	}
	return n, sc.RetryInterval()
}

func (c *clientChecker) checkOne(cert, issuer *x509.Certificate) error {
	if len(cert.OCSPServer) == 0 {
		if c.q.Has("accept-client-without-ocsp-url") {
			return nil
		}
		return &rowError{"F", fmt.Errorf("%s has no OCSP responder URL", cert.Subject.CommonName)}
	}
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		return &rowError{"L", err}
	}
	url := strings.TrimSuffix(cert.OCSPServer[0], "/") + "/" + base64.StdEncoding.EncodeToString(req)
	key := cacheKey(cert)
	now := time.Now()
	if e, ok := c.cache.Get(key); ok && e.Fresh(now) {
		return c.judge(e.Body, cert, issuer, nil)
	}
	ctx := context.Background()
	for attempt := 0; ; attempt++ {
		res, err := c.fetch.Get(ctx, url, nil)
		row := ""
		switch revfetch.KindOf(err) {
		case revfetch.KindDNS:
			row = "G"
		case revfetch.KindConnect:
			row = "H"
		case revfetch.KindStatus:
			row = "I"
		case revfetch.KindNoURL:
			row = "F"
		}
		if err == nil {
			if jerr := c.judge(res.Body, cert, issuer, res.Header); jerr != nil {
				return jerr
			}
			return nil
		}
		retries, interval := c.retryOf(row)
		if attempt >= retries {
			return &rowError{row, err}
		}
		c.log("center: OCSP %s: %v; retry in %v (Table 7-5 %s)", cert.Subject.CommonName, err, interval, row)
		time.Sleep(time.Duration(float64(interval) * c.scale))
	}
}

// judge checks one OCSP response (rows J, K, L, M) and, when it came with
// the HTTP header hdr (nil: from the cache), caches a good or revoked one
// as long as the header allows (RFC 7234) and nextUpdate.
func (c *clientChecker) judge(der []byte, cert, issuer *x509.Certificate, hdr http.Header) error {
	store := hdr != nil
	now := time.Now()
	opts := revfetch.CheckOptions{SkipSignature: c.q.Has("ignore-ocsp-signature"), SkipExpiry: c.q.Has("accept-expired-ocsp")}
	verdict, resp, err := revfetch.CheckOCSP(der, cert, issuer, now, opts)
	if verdict == revfetch.BadSignature && c.q.Has("ignore-ocsp-signature") {
		verdict, err = revfetch.Good, nil
	}
	if verdict == revfetch.Untrusted && c.q.Has("accept-untrusted-ocsp") {
		if r, perr := ocsp.ParseResponse(der, nil); perr == nil && r.Status == ocsp.Good {
			verdict, resp, err = revfetch.Good, r, nil
		}
	}
	if store && resp != nil && (verdict == revfetch.Good || verdict == revfetch.Revoked) {
		next := resp.NextUpdate
		if opts.SkipExpiry && !next.After(now) {
			next = now.Add(time.Hour)
		}
		c.cache.Put(cacheKey(cert), revfetch.Entry{Body: der, ThisUpdate: resp.ThisUpdate, NextUpdate: next, FreshUntil: revfetch.FreshUntil(hdr, now, next), Stored: now})
	}
	switch verdict {
	case revfetch.Good:
		return nil
	case revfetch.Revoked:
		return &rowError{"M", err}
	case revfetch.BadSignature:
		return &rowError{"J", err}
	case revfetch.Untrusted:
		return &rowError{"K", err}
	}
	if err == nil {
		err = errors.New("OCSP response unusable")
	}
	return &rowError{"L", err}
}

func cacheKey(cert *x509.Certificate) string {
	return fmt.Sprintf("%x/%x", cert.RawIssuer, cert.SerialNumber)
}
