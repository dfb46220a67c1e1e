package exve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/simulator/center"
)

// ServiceName names the offering party in the center's hooks
// (Exchange.Service).
const ServiceName = "exve"

const serviceName = ServiceName

func init() {
	q("plain-http", "REQ_04_01_01", "also serves plain HTTP (no TLS) on its port")
	q("tls10", "REQ_04_01_03", "accepts TLS 1.0 and 1.1")
	variant("tls13-only", "REQ_04_01_03", "accepts TLS 1.3 only (1.2 refused)")
	q("http10-served", "REQ_04_01_02", "serves HTTP/1.0 requests")
	variant("http10-400", "REQ_04_01_02", "refuses HTTP/1.0 with 400 instead of 505")
	q("http-version-ignored", "REQ_04_10_02", "serves a request line of HTTP/3.0 as HTTP/1.1 instead of answering 505")
	q("unknown-method-400", "REQ_04_10_02", "answers a method it does not recognise with 400 instead of 501")
	q("set-cookie", "REQ_04_01_05", "sets a session cookie")
	q("rate-limit-403", "REQ_04_08_06", "answers a request over the rate limit with 403 instead of 429")
	q("no-limit-header", "REQ_04_08_02", "leaves out X-Rate-Limit-Limit")
	q("remaining-constant", "REQ_04_08_03", "writes X-Rate-Limit-Remaining as the limit on every answer")
	q("reset-relative", "REQ_04_08_04", "writes X-Rate-Limit-Reset as the seconds left instead of a Unix time")
}

// OfferingParty is the reference offering party. Create it with New, mount
// it with Start; it is safe for concurrent use.
type OfferingParty struct {
	cfg    Config
	q      Quirks
	cat    Catalogue
	center *center.Server
	fleet  *Fleet
	tokens *issuer
	limits sync.Map // resource name -> *center.RateWindow

	async      asyncStore
	subs       subStore
	containers containerStore

	staleMu sync.Mutex
	stale   map[string]staleFile // quirk stale-upload: the upload held back

	pushHTTP *http.Client
	base     *url.URL
	addr     string
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// New checks cfg and returns an offering party for center c (whose store
// it serves and whose hooks its requests pass). Nothing listens yet.
func New(cfg Config, c *center.Server) (*OfferingParty, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("exve offering party config: %w", err)
	}
	if c == nil {
		return nil, fmt.Errorf("exve offering party: no center to mount on")
	}
	qs, _ := ParseQuirks(cfg.Quirks)
	roots, err := cfg.clientRoots()
	if err != nil {
		return nil, fmt.Errorf("exve offering party config: %w", err)
	}
	op := &OfferingParty{cfg: cfg, q: qs, cat: DefaultCatalogue(), center: c, fleet: NewFleet(), stale: map[string]staleFile{}}
	op.ctx, op.cancel = context.WithCancel(context.Background())
	op.pushHTTP = &http.Client{
		Timeout: cfg.wall(cfg.PushTimeout),
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 16,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	op.async.init()
	op.subs.init()
	op.containers.init()
	op.applyCatalogueQuirks()
	return op, nil
}

// Start mounts the offering party on its center, takes in what the center
// already stored, keeps taking in every upload the center accepts, and
// puts the demo fleet into the store.
func (op *OfferingParty) Start() error {
	tc, err := op.cfg.serverTLS(op.q)
	if err != nil {
		return fmt.Errorf("exve offering party: %w", err)
	}
	mo := center.MountOptions{Addr: op.cfg.Addr, TLS: tc, PlainHTTP: op.q.Has("plain-http")}
	if op.q.Has("http-version-ignored") {
		mo.WrapConn = func(c net.Conn) net.Conn { return &versionBender{Conn: c} }
	}
	addr, err := op.center.Mount(op, mo)
	if err != nil {
		return err
	}
	op.addr = addr
	host := op.cfg.PublicHost
	if host == "" {
		host = addr
	}
	op.base = &url.URL{Scheme: "https", Host: host, Path: op.cfg.BasePath}
	op.tokens = newIssuer(op.cfg, op.base.String())
	op.center.AddHook(&ingestHook{op: op})
	for _, f := range op.center.Store().Files() {
		op.ingest(f.VehicleID, f.Name, f.Data, f.Last)
	}
	op.seedDemoFleet()
	op.wg.Add(1)
	go func() {
		defer op.wg.Done()
		op.subs.expiryLoop(op)
	}()
	op.logf("exve: offering party at %s (quirks: %s)", op.base, op.q.Names())
	return nil
}

// Close stops the offering party's workers; the center closes its listener.
func (op *OfferingParty) Close() {
	op.cancel()
	op.wg.Wait()
}

// Name is the service's name in the center's hooks: "exve".
func (op *OfferingParty) Name() string { return serviceName }

// BaseURI is the base URI of the web services (REQ_04_02_03).
func (op *OfferingParty) BaseURI() string { return op.base.String() }

// TokenEndpoint is the URL of the token endpoint.
func (op *OfferingParty) TokenEndpoint() string { return op.base.String() + TokenPath }

// Addr is the listener's address.
func (op *OfferingParty) Addr() string { return op.addr }

// Catalogue is what the offering party declares.
func (op *OfferingParty) Catalogue() Catalogue { return op.cat }

// Fleet is the offering party's index of the center's store.
func (op *OfferingParty) Fleet() *Fleet { return op.fleet }

// Config returns the offering party's configuration.
func (op *OfferingParty) Config() Config { return op.cfg }

func (op *OfferingParty) logf(format string, args ...any) {
	if op.cfg.Logf != nil {
		op.cfg.Logf(format, args...)
	}
}

type staleFile struct {
	name string
	data []byte
	at   time.Time
}

// ingestHook takes in every upload the center accepted (POST
// /files/{name} answered 200 by the API).
type ingestHook struct {
	center.HookBase
	op *OfferingParty
}

// ID returns "exve-ingest".
func (h *ingestHook) ID() string { return "exve-ingest" }

// Provides returns true for OnAnswer only.
func (h *ingestHook) Provides(e center.Event) bool { return e == center.OnAnswer }

// OnAnswer takes in an upload the API accepted.
func (h *ingestHook) OnAnswer(x *center.Exchange, a center.Answer, _ time.Time) {
	if x.Service != "" || x.Method != http.MethodPost || !strings.HasPrefix(x.Path, "/files/") || a.Status != http.StatusOK || a.By != "api" {
		return
	}
	vin := x.Header.Get(h.op.cfg.VehicleIDHeader)
	name, _ := url.PathUnescape(path.Base(x.Path))
	h.op.ingest(vin, name, x.Body, x.ReceivedAt)
}

// ingest takes one stored file into the fleet and tells the asynchronous
// requests, the subscriptions and the containers what arrived.
func (op *OfferingParty) ingest(vin, name string, data []byte, at time.Time) {
	if vin == "" {
		return
	}
	if op.q.Has("stale-upload") && !strings.HasPrefix(vin, "ICOCDEMO") {
		// Each upload is taken in only when the next one arrives.
		op.staleMu.Lock()
		prev, had := op.stale[vin]
		op.stale[vin] = staleFile{name, data, at}
		op.staleMu.Unlock()
		if !had {
			return
		}
		name, data, at = prev.name, prev.data, prev.at
	}
	in, fresh, err := op.fleet.Ingest(vin, name, data, at)
	if err != nil {
		op.logf("exve: %v", err)
		return
	}
	if !fresh {
		return
	}
	op.async.uploaded(op, in)
	op.subs.uploaded(op, in)
	op.containers.uploaded(op, in)
}

// seedDemoFleet puts DemoFleet synthetic vehicles into the center's store
// as if they had uploaded, and takes them in.
func (op *OfferingParty) seedDemoFleet() {
	end := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	for i := 1; i <= op.cfg.DemoFleet; i++ {
		vin := DemoVIN(i)
		name, data := DemoFile(i, end)
		op.center.Store().Put(vin, name, data, end)
		op.ingest(vin, name, data, end)
	}
}

// req is one request being served.
type req struct {
	x     *center.Exchange
	r     *http.Request
	g     grant
	parts []string // path elements below the base path
	query url.Values
}

// Serve answers one request of the mounted service.
func (op *OfferingParty) Serve(x *center.Exchange, r *http.Request) center.Answer {
	a := op.serve(x, r)
	if op.q.Has("set-cookie") {
		a.Header = a.Header.Clone()
		if a.Header == nil {
			a.Header = http.Header{}
		}
		a.Header.Add("Set-Cookie", "EXVESESSION="+strconv.FormatUint(x.Seq, 10)+"; Path=/; Secure; HttpOnly")
	}
	return a
}

func (op *OfferingParty) serve(x *center.Exchange, r *http.Request) center.Answer {
	// REQ_04_01_02: HTTP/1.1 or later only (I-207).
	if r.ProtoMajor == 1 && r.ProtoMinor == 0 && !op.q.Has("http10-served") {
		if op.q.Has("http10-400") {
			return op.errorAnswer(r, errf(http.StatusBadRequest, "HTTP_VERSION", "HTTP/1.0 is not served; use HTTP/1.1 or later (REQ_04_01_02)"))
		}
		return op.errorAnswer(r, errf(http.StatusHTTPVersionNotSupported, "HTTP_VERSION", "HTTP/1.0 is not served; use HTTP/1.1 or later (REQ_04_01_02)"))
	}
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions:
	default:
		if op.q.Has("unknown-method-400") {
			return op.errorAnswer(r, errf(http.StatusBadRequest, "BAD_REQUEST", "bad request"))
		}
		return op.errorAnswer(r, errf(http.StatusNotImplemented, "NOT_IMPLEMENTED", "method %s is not implemented by this web service (I-201)", r.Method))
	}
	rel, ok := strings.CutPrefix(x.Path, op.cfg.BasePath)
	if !ok || rel != "" && rel[0] != '/' {
		return op.errorAnswer(r, errf(http.StatusNotFound, "NOT_FOUND", "%s is not below the base URI %s", x.Path, op.base))
	}
	if rel == TokenPath {
		return op.serveToken(x, r)
	}
	g, e := op.authenticate(r)
	if e != nil {
		return op.errorAnswer(r, e)
	}
	rq := &req{x: x, r: r, g: g, query: r.URL.Query()}
	for _, p := range strings.Split(strings.Trim(rel, "/"), "/") {
		if p != "" {
			rq.parts = append(rq.parts, p)
		}
	}
	limitHeader, e := op.rateLimit(rq)
	if e != nil {
		a := op.errorAnswer(r, e)
		mergeHeader(&a, limitHeader)
		return a
	}
	a := op.route(rq)
	mergeHeader(&a, limitHeader)
	return a
}

func mergeHeader(a *center.Answer, h http.Header) {
	if len(h) == 0 {
		return
	}
	if a.Header == nil {
		a.Header = http.Header{}
	}
	for k, vs := range h {
		a.Header[k] = vs
	}
}

// Reshape writes an answer the center's hooks gave (a fault plan's) as an
// ExVe error body; a drop stays a drop.
func (op *OfferingParty) Reshape(x *center.Exchange, a center.Answer) center.Answer {
	if a.Drop || a.Status < 400 {
		return a
	}
	msg := http.StatusText(a.Status)
	if len(a.Body) > 0 {
		msg = "the web service refused the request (" + msg + ")"
	}
	out := op.errorAnswer(nil, errf(a.Status, strconv.Itoa(a.Status), "%s", msg))
	for k, vs := range a.Header {
		if k != "Content-Type" {
			out.Header[k] = vs
		}
	}
	out.Stall, out.Reason, out.By = a.Stall, a.Reason, a.By
	return out
}

// resourceName is what a request is rate-limited by: the resource's name.
func (rq *req) resourceName() string {
	switch {
	case len(rq.parts) == 0:
		return ""
	case rq.parts[0] == "vehicles" && len(rq.parts) >= 3:
		return rq.parts[2]
	case rq.parts[0] == "vehicles" && len(rq.parts) == 2 && rq.parts[1] == "vehicleSpeeds":
		return "vehicleSpeeds"
	}
	return rq.parts[0]
}

// rateLimit counts the request against its resource's limit (4.8, I-223).
func (op *OfferingParty) rateLimit(rq *req) (http.Header, *apiError) {
	name := rq.resourceName()
	lim, ok := op.cfg.RateLimits[name]
	if !ok {
		lim = op.cfg.DefaultRateLimit
	}
	if lim.Limit <= 0 {
		return nil, nil
	}
	w, _ := op.limits.LoadOrStore(name, &center.RateWindow{Limit: lim.Limit, Window: op.cfg.wall(lim.Window)})
	h, within := w.(*center.RateWindow).Take(rq.g.client, time.Now())
	if op.q.Has("no-limit-header") {
		h.Del("X-Rate-Limit-Limit")
	}
	if op.q.Has("remaining-constant") {
		h.Set("X-Rate-Limit-Remaining", strconv.Itoa(lim.Limit))
	}
	if op.q.Has("reset-relative") {
		if n, err := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64); err == nil {
			h.Set("X-Rate-Limit-Reset", strconv.FormatInt(max(n-time.Now().Unix(), 0), 10))
		}
	}
	if within {
		return h, nil
	}
	status := http.StatusTooManyRequests
	if op.q.Has("rate-limit-403") {
		status = http.StatusForbidden
	}
	return h, errf(status, "RATE_LIMIT", "more than %d requests to %s within %v; wait for X-Rate-Limit-Reset", lim.Limit, name, lim.Window)
}

// readJSON decodes the request body into v; an empty body is an error when
// required.
func readJSON(rq *req, v any, required bool) *apiError {
	b := bytes.TrimSpace(rq.x.Body)
	if len(b) == 0 {
		if required {
			return errf(http.StatusBadRequest, "BODY_MISSING", "the request needs a JSON body")
		}
		return nil
	}
	if err := jsonUnmarshal(b, v); err != nil {
		return errf(http.StatusBadRequest, "MALFORMED_JSON", "the body is not valid JSON: %v", err)
	}
	return nil
}

// versionBender rewrites a request line's HTTP/3.0 to HTTP/1.1 before the
// HTTP server reads it (quirk http-version-ignored).
type versionBender struct {
	net.Conn
	once sync.Once
	r    io.Reader
}

func (c *versionBender) Read(p []byte) (int, error) {
	c.once.Do(func() {
		br := bufio.NewReader(c.Conn)
		line, err := br.ReadString('\n')
		line = strings.Replace(line, " HTTP/3.0\r", " HTTP/1.1\r", 1)
		rest := io.MultiReader(strings.NewReader(line), br)
		if err != nil {
			rest = io.MultiReader(strings.NewReader(line), errReader{err})
		}
		c.r = rest
	})
	return c.r.Read(p)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
