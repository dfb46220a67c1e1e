// Package center is the reference center: the out-car side of the common
// specification. It serves the APIs of 7.2 over TLS 1.3 with mutual
// authentication and can be extended through hooks (a recorder, a fault
// plan). It runs in-process for the conformance suite and as cmd/center on a
// bench; it never imports the harness.
package center

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/icoc-dev/icoc/spec"
)

// Server is one running reference center. Its methods are safe for
// concurrent use.
type Server struct {
	cfg Config
	tls *tls.Config
	// fileNames are Appendix 1 §2's rules under cfg.Spec.
	fileNames spec.FileNameRules
	mux       *http.ServeMux
	store     *Store
	calls     callLog
	offers    offers
	push      pushHub

	mu     sync.RWMutex
	hooks  []Hook
	mounts []*mount
	mqtt   *Broker  // the MQTT broker (7_2_5_mqtt.go), guarded by mu; nil until StartMQTT
	otps   otpStore // the one-time passwords of 7.2.5.7 (7_2_5_7_otp.go)

	alpn atomic.Pointer[[]string]
	// noTickets: no session ticket issued or accepted (SetSessionTickets).
	noTickets atomic.Bool
	// apiQuirks are the quirks of the API layer (api.go); the TLS layer
	// keeps its own.
	apiQuirks Quirks

	ln      net.Listener
	http    *http.Server
	conns   sync.Map // *tls.Conn -> *handshakedConn, while the connection is open
	connSeq atomic.Uint64
	reqSeq  atomic.Uint64
	closed  chan struct{}

	grpcMu sync.Mutex
	grpc   *grpcFrontend // the gRPC port (7_2_4_grpc.go); nil when not started
}

// New checks cfg, loads its certificates and returns a Server that is not
// yet listening. The error names the field or file at fault.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("center config: %w", err)
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("center config: %w", err)
	}
	doc, err := spec.Resolve(cfg.Spec)
	if err != nil {
		return nil, fmt.Errorf("center config: spec: %w", err)
	}
	s := &Server{cfg: cfg, tls: tc, fileNames: doc.FileName, mux: http.NewServeMux(), store: NewStore(), closed: make(chan struct{})}
	s.apiQuirks, _ = ParseQuirks(cfg.Quirks)
	s.SetALPN(cfg.ALPN...)
	s.offerALPN()
	s.routes()
	return s, nil
}

// SetALPN sets the application protocols the center offers in ALPN (RFC
// 7301), most preferred first: "h2", "http/1.1". It applies to handshakes
// that start afterwards, and open connections that negotiated a protocol no
// longer offered are closed (the center stopped speaking it).
func (s *Server) SetALPN(protos ...string) {
	p := append([]string(nil), protos...)
	s.alpn.Store(&p)
	s.conns.Range(func(k, v any) bool {
		hc := v.(*handshakedConn)
		if !slices.Contains(p, hc.hs.ALPN) && !(hc.hs.ALPN == "" && slices.Contains(p, "http/1.1")) {
			_ = hc.Conn.Close()
			s.conns.Delete(k)
		}
		return true
	})
}

// SetSessionTickets switches TLS session tickets (7.1.1.4 resumption) on
// or off for handshakes that start afterwards; they are on from the start.
// Off, the center issues no ticket and resumes no session, so every
// handshake is a full one with the server certificate: the harness turns
// them off where a spec judges what a client does with the certificate
// (checking its revocation, caching the CRL), which a resumed handshake
// would not show.
func (s *Server) SetSessionTickets(on bool) { s.noTickets.Store(!on) }

// ALPN returns the protocols the center offers now.
func (s *Server) ALPN() []string { return append([]string(nil), *s.alpn.Load()...) }

// offerALPN makes every handshake use the ALPN list in force at its start,
// on top of whatever per-client configuration the TLS set-up has.
func (s *Server) offerALPN() {
	base := s.tls.GetConfigForClient
	s.tls.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		var c *tls.Config
		if base != nil {
			var err error
			if c, err = base(h); err != nil {
				return nil, err
			}
		}
		if c == nil {
			c = s.tls.Clone()
			c.GetConfigForClient = nil
		} else {
			c = c.Clone()
		}
		c.NextProtos = append(s.ALPN(), PushALPN)
		if s.noTickets.Load() {
			c.SessionTicketsDisabled = true
		}
		if w, ok := h.Conn.(*wireConn); ok {
			if c.KeyLogWriter != nil { // Config.KeyLogWriter (evidence) gets the secrets too
				c.KeyLogWriter = io.MultiWriter(c.KeyLogWriter, w.stream.KeyLog())
			} else {
				c.KeyLogWriter = w.stream.KeyLog()
			}
		}
		return c, nil
	}
}

// AddHook appends h to the hooks; it may be called while serving.
func (s *Server) AddHook(h Hook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks = append(s.hooks, h)
}

// RemoveHook removes every hook with the same ID as h.
func (s *Server) RemoveHook(h Hook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.hooks[:0]
	for _, k := range s.hooks {
		if k.ID() != h.ID() {
			kept = append(kept, k)
		}
	}
	s.hooks = kept
}

func (s *Server) hooksFor(e Event) []Hook {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Hook
	for _, h := range s.hooks {
		if h.Provides(e) {
			out = append(out, h)
		}
	}
	return out
}

// Store returns the store of files the center has accepted.
func (s *Server) Store() *Store { return s.store }

// Start listens on the configured address and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("center listen on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	hl := newHandshakeListener(ln, s, s.tls)
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: time.Minute,
		// The RFC 9113 default frame size (Go announces 1 MiB): a peer that
		// assumes the default, as h2spec 4.2/3 does, is held to it.
		HTTP2: &http.HTTP2Config{MaxReadFrameSize: 16384, CountError: s.h2StackError},
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if hc, ok := s.conns.Load(c); ok {
				return context.WithValue(ctx, connKey{}, hc)
			}
			return ctx
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateClosed || st == http.StateHijacked {
				s.conns.Delete(c)
			}
		},
		ErrorLog: nil,
	}
	go func() { _ = s.http.Serve(hl) }()
	if s.cfg.GRPCAddr != "" {
		return s.StartGRPC(s.cfg.GRPCAddr)
	}
	return nil
}

// Addr is the address the server listens on; valid after Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops serving and closes every connection.
func (s *Server) Close() error {
	select {
	case <-s.closed:
		return nil
	default:
		close(s.closed)
	}
	s.closeGRPC()
	s.closeMounts()
	if b := s.MQTT(); b != nil {
		b.close()
	}
	if s.http == nil {
		return nil
	}
	return s.http.Close()
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

type connKey struct{}

// ServeHTTP reads the whole request, offers it to the hooks, and else to the
// API; then writes the answer and tells the hooks.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r, nil) }

// serve is ServeHTTP for the vehicle APIs (svc nil) and for a mounted
// service: the same hooks, then the API or the service.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, svc Service) {
	hc, _ := r.Context().Value(connKey{}).(*handshakedConn)
	if hc != nil && hc.h1 != nil {
		hc.h1.startRequest()
	}
	x := &Exchange{
		Protocol:   ProtoHTTP,
		Seq:        s.reqSeq.Add(1),
		ReceivedAt: time.Now(),
		Method:     r.Method,
		Path:       r.URL.Path,
		Proto:      r.Proto,
		Header:     r.Header.Clone(),
		Host:       r.Host,
	}
	if svc != nil {
		x.Service = svc.Name()
		if r.Host != "" {
			x.Header.Set("Host", r.Host)
		}
	}
	if hc != nil {
		x.Conn = hc.info
		x.TLS = hc.hs
		if len(hc.hs.PeerCertificates) > 0 {
			x.VIN = hc.hs.PeerCertificates[0].Subject.CommonName
		}
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	x.RawBodyLen = len(raw)
	var a Answer
	switch {
	case err != nil:
		a = resultAnswer(http.StatusBadRequest, "body: "+err.Error())
	case int64(len(raw)) > s.cfg.MaxBodyBytes:
		a = resultAnswer(http.StatusRequestEntityTooLarge, "body larger than the center accepts")
	}
	x.Body = raw
	if a.Status == 0 && strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		body, derr := gunzip(raw, s.cfg.MaxBodyBytes)
		if derr != nil {
			x.DecodeErr = "Content-Encoding gzip: " + derr.Error()
		}
		switch {
		case derr == nil:
			x.Body = body
		case !s.apiQuirks.Has("ignore-bad-gzip"):
			a = resultAnswer(http.StatusBadRequest, "Content-Encoding gzip: "+derr.Error()+" (Appendix 1 §1)")
		}
	}
	// Every request reaches the hooks, so the recorder sees it even when the
	// center has already refused it (unreadable body, bad gzip); the first
	// hook that answers decides, unless the center already has.
	if ha := s.Decide(x); a.Status == 0 {
		a = ha
	}
	switch {
	case a.Status == 0 && !a.Drop && svc != nil:
		a = svc.Serve(x, r)
	case a.Status == 0 && !a.Drop:
		a = s.api(x, r)
	case svc != nil:
		if rs, ok := svc.(Reshaper); ok {
			a = rs.Reshape(x, a)
		}
	}
	s.write(w, r, x, a)
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, x *Exchange, a Answer) {
	if a.Withhold && a.Stall <= 0 {
		a.Stall = 24 * time.Hour // until the client goes away
	}
	if a.Stall > 0 {
		t := time.NewTimer(a.Stall)
		select {
		case <-t.C:
		case <-r.Context().Done():
			x.Abandoned = true // the client gave up (7.2.2.5) or reset the stream
		case <-s.closed:
		}
		t.Stop()
	}
	if a.Status != 0 && r.ProtoMajor == 2 && x.Service == "" {
		s.stickySession(r, &a)
	}
	if len(x.ReplyHeader) > 0 {
		h := a.Header.Clone()
		if h == nil {
			h = http.Header{}
		}
		for k, vs := range x.ReplyHeader {
			if len(h.Values(k)) == 0 {
				h[k] = append([]string(nil), vs...)
			}
		}
		a.Header = h
	}
	if a.By == "api" && s.apiQuirks.Has("no-result-body") {
		a.Body, a.Header = nil, nil
	}
	// The answer's time is taken before it is written: the DUT cannot react
	// earlier, so a delay of the center's own goroutine can only lengthen
	// the gap to the DUT's next attempt, never shorten it.
	at := time.Now()
	var abort bool
	switch {
	case a.Drop || a.Status == 0:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
			}
		} else {
			abort = true // HTTP/2: reset the stream
		}
	case a.Reason != "" && r.ProtoMajor == 1:
		writeRawHTTP1(w, a)
	default:
		for k, vs := range a.Header {
			if vs == nil {
				w.Header()[k] = nil // suppress the header net/http would add
			}
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(a.Status)
		_, _ = w.Write(a.Body)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	s.Answered(x, a, at)
	if abort {
		panic(http.ErrAbortHandler)
	}
}

// writeRawHTTP1 writes an HTTP/1.1 response with the answer's own reason
// phrase (net/http always writes the standard one), then closes the
// connection.
func writeRawHTTP1(w http.ResponseWriter, a Answer) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	c, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %03d %s\r\n", a.Status, a.Reason)
	h := a.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Length", strconv.Itoa(len(a.Body)))
	h.Set("Connection", "close")
	_ = h.Write(buf)
	buf.WriteString("\r\n")
	buf.Write(a.Body)
	_ = buf.Flush()
}

// stickySession gives an HTTP/2 client a session cookie when it has none
// (7.2.3.7: sticky sessions by Cookie behind an ALB). HTTP/1.1 keeps no
// session (7.2.2.7), so it never gets one.
func (s *Server) stickySession(r *http.Request, a *Answer) {
	if _, err := r.Cookie(SessionCookie); err == nil {
		return
	}
	for _, c := range (&http.Response{Header: a.Header}).Cookies() {
		if c.Name == SessionCookie {
			return // the answer sets one already (a fault plan's)
		}
	}
	if a.Header == nil {
		a.Header = http.Header{}
	} else {
		a.Header = a.Header.Clone()
	}
	id := fmt.Sprintf("icoc-%d-%d", s.connSeq.Load(), s.reqSeq.Load())
	a.Header.Add("Set-Cookie", (&http.Cookie{Name: SessionCookie, Value: id, Path: "/", Secure: true, HttpOnly: true}).String())
}

// SessionCookie is the name of the sticky-session cookie (the seed's
// cookie parameter session_id; see the register, I-003).
var SessionCookie = spec.All().SessionCookieName

func gunzip(b []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, errors.New("decompressed body larger than the center accepts")
	}
	return out, nil
}
