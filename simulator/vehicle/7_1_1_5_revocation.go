package vehicle

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/internal/revfetch"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/spec"
)

func init() {
	registerQuirk(QuirkInfo{Name: "ignore-revocation", Clause: "7.1.1.5, 7.1.1.7 Table 7-4 L", Breaks: "never checks revocation of the server chain"})
	registerQuirk(QuirkInfo{Name: "skip-revocation-without-url", Clause: "7.1.1.7 Table 7-4 F", Breaks: "accepts a certificate without CDP as not revoked"})
	registerQuirk(QuirkInfo{Name: "accept-expired-crl", Clause: "7.1.1.7 Table 7-4 K", Breaks: "uses an expired CRL/OCSP response"})
	registerQuirk(QuirkInfo{Name: "ignore-crl-signature", Clause: "7.1.1.7 Table 7-4 J", Breaks: "uses a CRL whose signature does not verify"})
	registerQuirk(QuirkInfo{Name: "tls-no-retry", Clause: "7.1.1.7 Table 7-4", Breaks: "does not retry in the given row (letter)", Arg: "string"})
	registerQuirk(QuirkInfo{Name: "tls-retry", Clause: "7.1.1.7 Table 7-4", Breaks: "retries once, 1 s later, in the given row (letter) that says Retry None", Arg: "string"})
	registerQuirk(QuirkInfo{Name: "tls-retry-interval-factor", Clause: "7.1.1.7 Table 7-4", Breaks: "waits the rows' 1 s retry interval times this factor", Arg: "float"})
	registerQuirk(QuirkInfo{Name: "ignore-must-staple", Clause: "7.1.1.5 (RFC 7633)", Breaks: "accepts a must-staple certificate without a stapled OCSP response"})
	registerQuirk(QuirkInfo{Name: "ignore-staple", Clause: "7.1.1.5", Breaks: "does not check a stapled OCSP response"})
	registerQuirk(QuirkInfo{Name: "no-revocation-cache", Clause: "7.1.1.5 (RFC 7234)", Breaks: "fetches the CRL for every handshake instead of caching it"})
	registerQuirk(QuirkInfo{Name: "no-revalidation", Clause: "7.1.1.5 (RFC 7232)", Breaks: "refreshes a stale CRL without If-None-Match/If-Modified-Since"})
	registerQuirk(QuirkInfo{Name: "drop-cache-on-refresh-failure", Clause: "7.1.1.5", Breaks: "drops a cached, unexpired CRL when its refresh fails"})
	registerQuirk(QuirkInfo{Name: "keep-cache-at-b-off", Clause: "7.1.1.5", Breaks: "keeps cached CRL/OCSP responses across +B OFF"})
	registerQuirk(QuirkInfo{Name: "dns-aaaa", Clause: "7.1.1.7 Table 7-4 G (I-322)", Variant: true, Breaks: "asks for AAAA records beside A records, in parallel, each time it resolves the CDP's host (as Go's and glibc's resolvers do)"})
	registerQuirk(QuirkInfo{Name: "first-dns-answer-only", Clause: "7.1.1.7 Table 7-4 G", Breaks: "connects only to the first of several DNS answers"})
	registerQuirk(QuirkInfo{Name: "leaf-only-revocation", Clause: "7.1.1.5", Breaks: "checks the revocation of the server's leaf certificate only"})
	registerQuirk(QuirkInfo{Name: "keep-older-crl", Clause: "7.1.1.5", Breaks: "keeps its cached CRL when a refresh brings a newer one"})
	registerQuirk(QuirkInfo{Name: "drop-cache-at-ig-off", Clause: "7.1.1.5", Breaks: "drops cached CRL/OCSP responses at IG-OFF (+B still on)"})
	registerQuirk(QuirkInfo{Name: "resume-skips-revocation", Clause: "7.1.1.5, 7.1.1.4 (I-321)", Breaks: "checks neither the chain nor its revocation when it resumes a TLS session: it talks to a center revoked since the session began"})
	registerPowerLossHook((*Vehicle).dropRevocationCache)
}

// RevocationConfig says how the vehicle reaches the CRL distribution points
// and OCSP responders named in the server chain (7.1.1.5).
type RevocationConfig struct {
	// Resolver is the DNS server (host:port, UDP) that resolves the CDP and
	// OCSP hosts (crl.icoc.test, ocsp.icoc.test); empty: the system's.
	Resolver string `yaml:"resolver"`
	// Addr, when set, is dialled for every fetch instead of the resolved
	// addresses (no DNS query is made).
	Addr string `yaml:"addr"`
	// Port, when non-zero, replaces the URLs' port (80) on resolved
	// addresses.
	Port int `yaml:"port"`
}

// serverChecker verifies the server chain and checks its revocation, with
// a cache of CRLs (7.1.1.5). Safe for concurrent use.
type serverChecker struct {
	cfg        Config
	q          Quirks
	roots      *x509.CertPool
	serverName string
	fetch      *revfetch.Fetcher
	cache      revfetch.Cache
	// sessions are the TLS sessions to resume (7.1.1.4); dropped at +B OFF.
	sessions *sessionCache
}

func newServerChecker(cfg Config, q Quirks, roots *x509.CertPool, serverName string) *serverChecker {
	return &serverChecker{
		cfg: cfg, q: q, roots: roots, serverName: serverName, sessions: newSessionCache(),
		fetch: &revfetch.Fetcher{Resolver: cfg.Revocation.Resolver, DialAddr: cfg.Revocation.Addr, Port: cfg.Revocation.Port, Scale: cfg.TimeScale, Logf: cfg.Logf,
			FirstAddressOnly: q.Has("first-dns-answer-only"), DualStack: q.Has("dns-aaaa")},
	}
}

func (c *serverChecker) logf(format string, args ...any) {
	if c.cfg.Logf != nil {
		c.cfg.Logf(format, args...)
	}
}

// dropRevocationCache empties the revocation cache and the TLS sessions at
// +B OFF (7.1.1.5, "discarded only when +B is turned OFF").
func (v *Vehicle) dropRevocationCache() {
	v.mu.Lock()
	ig := v.ignition
	v.mu.Unlock()
	drop := ig == bench.BOff && !v.quirks.Has("keep-cache-at-b-off") ||
		ig == bench.IGOff && v.quirks.Has("drop-cache-at-ig-off")
	if !drop {
		return
	}
	if chk, ok := checkers.Load(v.tls); ok {
		chk.(*serverChecker).cache.Clear()
		if ig == bench.BOff {
			chk.(*serverChecker).sessions.Clear()
		}
		v.logf("vehicle: %s: revocation cache and TLS sessions dropped", ig)
	}
}

// verify is the VerifyConnection of the vehicle: the chain (rows C, D, E,
// 6.2.3), must-staple and the staple (RFC 7633, 6066), then the revocation
// of every certificate of the chain but the trust anchor by CRL (Figure
// 7-2, "CRL shall be used for revocation check of server certificate
// issued by Toyota"). A resumed session is checked again (its certificates
// come from the ticket), so a certificate revoked since is caught; the
// cache keeps that cheap.
func (c *serverChecker) verify(cs tls.ConnectionState) error {
	if cs.DidResume && c.q.Has("resume-skips-revocation") {
		return nil
	}
	chain, err := c.verifyChain(cs)
	if err != nil {
		return err
	}
	if chain == nil || c.q.Has("ignore-revocation") {
		return nil
	}
	now := time.Now()
	if len(chain) >= 2 {
		leaf, issuer := chain[0], chain[1]
		if revfetch.MustStaple(leaf) && len(cs.OCSPResponse) == 0 && !c.q.Has("ignore-must-staple") {
			return rowErr("", errors.New("must-staple certificate without a stapled OCSP response (RFC 7633)"))
		}
		if len(cs.OCSPResponse) > 0 && !c.q.Has("ignore-staple") {
			verdict, _, err := revfetch.CheckOCSP(cs.OCSPResponse, leaf, issuer, now, c.checkOptions())
			switch verdict {
			case revfetch.Good:
			case revfetch.Revoked:
				return rowErr("L", fmt.Errorf("stapled OCSP: %w", err))
			case revfetch.Expired:
				return rowErr("K", fmt.Errorf("stapled OCSP: %w", err))
			case revfetch.BadSignature, revfetch.Untrusted:
				return rowErr("J", fmt.Errorf("stapled OCSP: %w", err))
			default:
				return rowErr("B", fmt.Errorf("stapled OCSP: %w", err))
			}
		}
	}
	ctx := context.Background()
	for i := 0; i+1 < len(chain); i++ {
		if i > 0 && c.q.Has("leaf-only-revocation") {
			break
		}
		if err := c.checkCRL(ctx, chain[i], chain[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (c *serverChecker) checkOptions() revfetch.CheckOptions {
	return revfetch.CheckOptions{SkipSignature: c.q.Has("ignore-crl-signature"), SkipExpiry: c.q.Has("accept-expired-crl")}
}

// retryOf is the retry count and interval (spec time) of a Table 7-4 row,
// as the quirks bend them.
func (c *serverChecker) retryOf(row string) (int, time.Duration) {
	doc, err := spec.Resolve(c.cfg.Spec) // row I's X is a reading (I-006)
	if err != nil {
		doc = spec.All()
	}
	sc, _ := doc.TLSScenarioFor("T7-4", row)
	n, iv := sc.RetryCount, sc.RetryInterval()
	if c.q.HasValue("tls-no-retry", row) {
		n = 0
	}
	if c.q.HasValue("tls-retry", row) && n == 0 {
		n, iv = 1, time.Second
	}
	return n, time.Duration(float64(iv) * c.q.Float("tls-retry-interval-factor", 1))
}

// checkCRL checks cert (issued by issuer) against the CRL of its first
// distribution point, from the cache while it is fresh, revalidating it
// when stale, and fetching it per Table 7-4 rows F..L otherwise.
func (c *serverChecker) checkCRL(ctx context.Context, cert, issuer *x509.Certificate) error {
	if len(cert.CRLDistributionPoints) == 0 {
		if c.q.Has("skip-revocation-without-url") {
			return nil
		}
		return rowErr("F", fmt.Errorf("%s has no CRL distribution point", cert.Subject.CommonName))
	}
	url := cert.CRLDistributionPoints[0]
	now := time.Now()
	if e, ok := c.cache.Get(url); ok && !c.q.Has("no-revocation-cache") {
		if e.Expired(now) && !c.q.Has("accept-expired-crl") {
			c.cache.Delete(url) // 7.1.1.5 (1): expired, obtain the latest
		} else {
			if !e.Fresh(now) {
				e = c.revalidate(ctx, url, e, cert, issuer)
			}
			return c.judge(e.Body, cert, issuer)
		}
	}
	for attempt := 0; ; attempt++ {
		row, err := c.fetchCRL(ctx, url, cert, issuer, nil)
		if err == nil || row == "L" {
			return err
		}
		retries, interval := c.retryOf(row)
		if attempt >= retries {
			c.logf("vehicle: CRL %s: %v; no more retries (Table 7-4 %s)", url, err, row)
			return err
		}
		c.logf("vehicle: CRL %s: %v; retry in %v (Table 7-4 %s)", url, err, interval, row)
		t := time.NewTimer(c.cfg.wall(interval))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// fetchCRL makes one attempt; on success the CRL is cached (unless the
// cache holds a newer one) and judged. It returns the Table 7-4 row of a
// failure.
func (c *serverChecker) fetchCRL(ctx context.Context, url string, cert, issuer *x509.Certificate, hdr http.Header) (string, error) {
	res, err := c.fetch.Get(ctx, url, hdr)
	switch revfetch.KindOf(err) {
	case revfetch.KindNoURL:
		return "F", rowErr("F", err)
	case revfetch.KindDNS:
		return "G", rowErr("G", err)
	case revfetch.KindConnect:
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout") {
			return "H", rowErr("H", err)
		}
		return "H", rowErr("H", err)
	case revfetch.KindStatus:
		return "I", rowErr("I", err)
	}
	if err != nil {
		return "H", rowErr("H", err)
	}
	now := time.Now()
	verdict, info, cerr := revfetch.CheckCRL(res.Body, cert, issuer, now, c.checkOptions())
	switch verdict {
	case revfetch.Good, revfetch.Revoked:
		e := revfetch.Entry{Body: res.Body, ThisUpdate: info.ThisUpdate, NextUpdate: info.NextUpdate,
			ETag: res.Header.Get("ETag"), LastModified: res.Header.Get("Last-Modified"),
			FreshUntil: revfetch.FreshUntil(res.Header, now, info.NextUpdate), Stored: now}
		if c.q.Has("accept-expired-crl") && !e.NextUpdate.After(now) {
			e.NextUpdate, e.FreshUntil = now.Add(time.Hour), now.Add(time.Hour)
		}
		c.cache.Put(url, e)
		if verdict == revfetch.Revoked {
			return "L", rowErr("L", cerr)
		}
		return "", nil
	case revfetch.BadSignature:
		return "J", rowErr("J", cerr)
	case revfetch.Expired:
		return "K", rowErr("K", cerr)
	}
	return "B", rowErr("B", cerr)
}

// revalidate refreshes a stale cached CRL with a conditional request (RFC
// 7232). A 304 renews its freshness; a newer valid CRL replaces it; a
// failed refresh keeps it, as long as it has not expired (7.1.1.5).
func (c *serverChecker) revalidate(ctx context.Context, url string, e revfetch.Entry, cert, issuer *x509.Certificate) revfetch.Entry {
	hdr := e.Conditional()
	if c.q.Has("no-revalidation") {
		hdr = nil
	}
	res, err := c.fetch.Get(ctx, url, hdr)
	now := time.Now()
	if err == nil && res.Status == http.StatusNotModified {
		e.FreshUntil = revfetch.FreshUntil(res.Header, now, e.NextUpdate)
		e.Stored = now
		c.cache.Put(url, e)
		return e
	}
	if err == nil && !c.q.Has("keep-older-crl") {
		verdict, info, _ := revfetch.CheckCRL(res.Body, cert, issuer, now, c.checkOptions())
		if verdict == revfetch.Good || verdict == revfetch.Revoked {
			ne := revfetch.Entry{Body: res.Body, ThisUpdate: info.ThisUpdate, NextUpdate: info.NextUpdate,
				ETag: res.Header.Get("ETag"), LastModified: res.Header.Get("Last-Modified"),
				FreshUntil: revfetch.FreshUntil(res.Header, now, info.NextUpdate), Stored: now}
			if c.cache.Put(url, ne) {
				return ne
			}
			return e
		}
	}
	c.logf("vehicle: CRL %s: refresh failed (%v); keeping the cached CRL until %s", url, err, e.NextUpdate.Format(time.RFC3339))
	if c.q.Has("drop-cache-on-refresh-failure") {
		c.cache.Delete(url)
		e.Body = nil
	}
	return e
}

// judge checks cert against a cached CRL.
func (c *serverChecker) judge(body []byte, cert, issuer *x509.Certificate) error {
	if body == nil {
		return rowErr("I", errors.New("no usable CRL"))
	}
	opts := c.checkOptions()
	verdict, _, err := revfetch.CheckCRL(body, cert, issuer, time.Now(), opts)
	switch verdict {
	case revfetch.Good:
		return nil
	case revfetch.Revoked:
		return rowErr("L", err)
	case revfetch.Expired:
		return rowErr("K", err)
	}
	return rowErr("B", err)
}
