// Package revfetch fetches CRLs and OCSP responses the way 7.1.1.5 and
// Tables 7-4/7-5 (clause 7.1.1.7) say, for both reference simulators: the
// responder's host is resolved through a configurable DNS server with a 1 s
// timeout (row G), every address of the answer is tried in turn, each
// connection attempt waits up to 5 s (row H), and the answer must start
// within 5 s of the request (row H, register I-047). Durations are spec
// time, converted by the Fetcher's time scale. It also holds the RFC
// 7234/7232 response cache both simulators use. One Get is one attempt;
// the rows' retries are the caller's.
package revfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Spec-time timeouts of Tables 7-4/7-5 (see the register, I-034, I-047).
const (
	// DNSTimeout is row G's "Wait for DNS response by 1 sec timeout".
	DNSTimeout = time.Second
	// ConnectTimeout is row H's "Attempt to connect by 5 sec timeout".
	ConnectTimeout = 5 * time.Second
	// ResponseTimeout bounds the wait for the responder's answer once
	// connected: row H's 5 s ("No response from CDP or OCSP responder",
	// register I-047).
	ResponseTimeout = 5 * time.Second
)

// Kind classifies why one attempt failed, so callers can follow the row
// that applies.
type Kind int

const (
	// KindNone: the attempt got an HTTP answer (any status).
	KindNone Kind = iota
	// KindNoURL: the certificate names no CDP/OCSP URL (row F).
	KindNoURL
	// KindDNS: the name did not resolve in time or at all (row G).
	KindDNS
	// KindConnect: no address accepted a connection in time, or the
	// connection failed before an answer (row H).
	KindConnect
	// KindStatus: the answer was an HTTP error status (row I).
	KindStatus
)

// String names the kind for messages.
func (k Kind) String() string {
	return [...]string{"ok", "no URL", "DNS", "no response", "error status"}[k]
}

// Error is a failed attempt: its Kind and the cause.
type Error struct {
	Kind   Kind
	Status int
	Err    error
}

// Error states the kind (or HTTP status) and the cause.
func (e *Error) Error() string {
	if e.Kind == KindStatus {
		return fmt.Sprintf("revocation fetch: HTTP %d", e.Status)
	}
	return fmt.Sprintf("revocation fetch: %s: %v", e.Kind, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err (KindNone for nil or foreign errors).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindNone
}

// Fetcher performs single fetch attempts. The zero value resolves with the
// system resolver in real time; set the fields before the first Get.
type Fetcher struct {
	// Resolver is the DNS server (host:port, UDP) used to resolve the URL's
	// host; empty: the system resolver.
	Resolver string
	// DialAddr, when set, is dialled instead of the resolved addresses
	// (host:port); no DNS query is made. For benches without DNS.
	DialAddr string
	// Port, when non-zero, replaces the URL's port on every resolved
	// address (the sim binds the responder on a free port).
	Port int
	// Scale is wall seconds per spec second; 0 means 1.
	Scale float64
	// DNSTimeout, ConnectTimeout and ResponseTimeout are spec time; zero
	// means the constants of this package.
	DNSTimeout, ConnectTimeout, ResponseTimeout time.Duration
	// FirstAddressOnly tries only the first address of a DNS answer (a
	// quirk of the reference vehicle; row G says to try them in turn).
	FirstAddressOnly bool
	// DualStack asks for AAAA records beside the A records, in parallel,
	// each time a name is resolved through Resolver, as Go's and glibc's
	// resolvers do (a variant of the reference simulators, register
	// I-322); the addresses are the A answer's, then the AAAA answer's.
	DualStack bool
	// Logf, when set, receives one line per attempt.
	Logf func(format string, args ...any)
}

func (f *Fetcher) wall(d, def time.Duration) time.Duration {
	if d == 0 {
		d = def
	}
	s := f.Scale
	if s <= 0 {
		s = 1
	}
	return time.Duration(float64(d) * s)
}

func (f *Fetcher) logf(format string, args ...any) {
	if f.Logf != nil {
		f.Logf(format, args...)
	}
}

// Result is one HTTP answer: status, headers, body (at most 1 MiB).
type Result struct {
	Status int
	Header http.Header
	Body   []byte
}

// Lookup resolves host to its addresses, in the order the DNS server gave
// them, waiting at most the DNS timeout.
func (f *Fetcher) Lookup(ctx context.Context, host string) ([]string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []string{host}, nil
	}
	timeout := f.wall(f.DNSTimeout, DNSTimeout)
	var addrs []string
	var err error
	if f.Resolver != "" {
		addrs, err = lookupA(ctx, f.Resolver, host, timeout, f.DualStack)
	} else {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		addrs, err = net.DefaultResolver.LookupHost(ctx, host)
	}
	if err != nil {
		return nil, &Error{Kind: KindDNS, Err: err}
	}
	if len(addrs) == 0 {
		return nil, &Error{Kind: KindDNS, Err: fmt.Errorf("%s: no address", host)}
	}
	return addrs, nil
}

// Get makes one attempt at rawURL with the extra request headers:
// resolve, connect to each address in turn, send, and wait for the answer.
// An HTTP error status (>= 400) is returned as a KindStatus Error together
// with the Result.
func (f *Fetcher) Get(ctx context.Context, rawURL string, hdr http.Header) (*Result, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, &Error{Kind: KindNoURL, Err: fmt.Errorf("bad URL %q", rawURL)}
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if f.Port != 0 {
		port = strconv.Itoa(f.Port)
	}
	var targets []string
	if f.DialAddr != "" {
		targets = []string{f.DialAddr}
	} else {
		addrs, err := f.Lookup(ctx, u.Hostname())
		if err != nil {
			f.logf("revocation: %s: %v", u.Hostname(), err)
			return nil, err
		}
		if f.FirstAddressOnly {
			addrs = addrs[:1]
		}
		for _, a := range addrs {
			targets = append(targets, net.JoinHostPort(a, port))
		}
	}
	var lastErr error
	for _, addr := range targets {
		res, err := f.getFrom(ctx, addr, u, hdr)
		if err == nil || KindOf(err) == KindStatus {
			return res, err
		}
		f.logf("revocation: %s via %s: %v", rawURL, addr, err)
		lastErr = err
	}
	return nil, lastErr
}

func (f *Fetcher) getFrom(ctx context.Context, addr string, u *url.URL, hdr http.Header) (*Result, error) {
	d := net.Dialer{Timeout: f.wall(f.ConnectTimeout, ConnectTimeout)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &Error{Kind: KindConnect, Err: err}
	}
	defer conn.Close()
	tr := &http.Transport{
		DialContext:       func(context.Context, string, string) (net.Conn, error) { return conn, nil },
		DisableKeepAlives: true,
		Proxy:             nil,
	}
	defer tr.CloseIdleConnections()
	rctx, cancel := context.WithTimeout(ctx, f.wall(f.ResponseTimeout, ResponseTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &Error{Kind: KindNoURL, Err: err}
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, &Error{Kind: KindConnect, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &Error{Kind: KindConnect, Err: err}
	}
	res := &Result{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if resp.StatusCode >= 400 {
		return res, &Error{Kind: KindStatus, Status: resp.StatusCode}
	}
	return res, nil
}

// Entry is one cached CRL or OCSP response (RFC 7234): the parsed
// validity of its content and the validators of its HTTP answer.
type Entry struct {
	// Body is the DER CRL or OCSP response.
	Body []byte
	// ThisUpdate and NextUpdate are from the content; NextUpdate is when
	// the entry expires (7.1.1.5: "until the expiration date indicated in
	// the CRL/OCSP Response").
	ThisUpdate, NextUpdate time.Time
	// ETag and LastModified are the validators (RFC 7232).
	ETag, LastModified string
	// FreshUntil is when HTTP says the entry must be revalidated
	// (Cache-Control max-age / Expires), never after NextUpdate.
	FreshUntil time.Time
	// Stored is when the entry was stored or last revalidated.
	Stored time.Time
}

// Expired reports whether the content's validity has ended at now.
func (e Entry) Expired(now time.Time) bool { return !e.NextUpdate.After(now) }

// Fresh reports whether the entry can be used without revalidation.
func (e Entry) Fresh(now time.Time) bool { return now.Before(e.FreshUntil) && !e.Expired(now) }

// Conditional returns the headers that revalidate e (If-None-Match,
// If-Modified-Since).
func (e Entry) Conditional() http.Header {
	h := http.Header{}
	if e.ETag != "" {
		h.Set("If-None-Match", e.ETag)
	}
	if e.LastModified != "" {
		h.Set("If-Modified-Since", e.LastModified)
	}
	return h
}

// FreshUntil computes the HTTP freshness lifetime of an answer received at
// now (RFC 7234 §4.2.1: max-age, else Expires), capped at nextUpdate. No
// cache header means fresh until nextUpdate.
func FreshUntil(h http.Header, now, nextUpdate time.Time) time.Time {
	until := nextUpdate
	cc := strings.ToLower(h.Get("Cache-Control"))
	found := false
	for _, d := range strings.Split(cc, ",") {
		d = strings.TrimSpace(d)
		if v, ok := strings.CutPrefix(d, "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				until, found = now.Add(time.Duration(n)*time.Second), true
			}
		}
		if d == "no-cache" || d == "no-store" {
			until, found = now, true
		}
	}
	if !found {
		if t, err := http.ParseTime(h.Get("Expires")); err == nil {
			until = t
		}
	}
	if until.After(nextUpdate) {
		until = nextUpdate
	}
	return until
}

// Cache holds one Entry per key (a CRL URL, or an OCSP responder URL plus
// certificate serial). Safe for concurrent use.
type Cache struct {
	mu      sync.Mutex
	entries map[string]Entry
}

// Get returns the entry for key.
func (c *Cache) Get(key string) (Entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e, ok
}

// Put stores e under key unless the cache holds a newer one (a later
// ThisUpdate): 7.1.1.5 "discarded and updated with the newly acquired".
// It reports whether e was stored.
func (c *Cache) Put(key string, e Entry) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]Entry{}
	}
	if old, ok := c.entries[key]; ok && old.ThisUpdate.After(e.ThisUpdate) {
		return false
	}
	c.entries[key] = e
	return true
}

// Delete drops key.
func (c *Cache) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

// Clear drops every entry (the vehicle at +B OFF).
func (c *Cache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}

// Len is the number of entries.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// lookupA sends one A query for name to server and waits at most timeout:
// one query on the wire is one attempt of Tables 7-4/7-5 row G.
func lookupA(ctx context.Context, server, name string, timeout time.Duration, dualStack bool) ([]string, error) {
	if !dualStack {
		return lookupType(ctx, server, name, dns.TypeA, timeout)
	}
	type answer struct {
		addrs []string
		err   error
	}
	aaaa := make(chan answer, 1)
	go func() {
		addrs, err := lookupType(ctx, server, name, dns.TypeAAAA, timeout)
		aaaa <- answer{addrs, err}
	}()
	addrs, err := lookupType(ctx, server, name, dns.TypeA, timeout)
	six := <-aaaa
	if err != nil && six.err != nil {
		return nil, err
	}
	return append(addrs, six.addrs...), nil
}

// lookupType makes one query of type qtype for name at server.
func lookupType(ctx context.Context, server, name string, qtype uint16, timeout time.Duration) ([]string, error) {
	c := &dns.Client{Net: "udp", Timeout: timeout}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := c.ExchangeContext(ctx, m, server)
	if err != nil {
		return nil, err
	}
	if r.Rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("%s: %s", name, dns.RcodeToString[r.Rcode])
	}
	var out []string
	for _, rr := range r.Answer {
		switch a := rr.(type) {
		case *dns.A:
			out = append(out, a.A.String())
		case *dns.AAAA:
			out = append(out, a.AAAA.String())
		}
	}
	return out, nil
}
