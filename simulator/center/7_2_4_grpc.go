package center

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // gzip for requests and answers (Appendix 1 §1)

	"github.com/icoc-dev/icoc/spec"
)

// The gRPC frontend of the reference center (7.2.4): the four services of
// 7.2.4.4 on a port of their own (Appendix 2: 9080 on a bench), with the
// center's TLS 1.3 mutual authentication, certificates, revocation checks
// and hooks. Each call is an Exchange (Protocol ProtoGRPC): the whole
// request stream is read first, each length-prefixed message noted as it
// crossed the wire (compressed flag, wire length, serialized length), and
// the hooks decide (the recorder notes it, the fault plan may answer it);
// then grpc-go serves the call (grpc.Server.ServeHTTP on golang.org/x/net's
// HTTP/2 server), unless a fault answers below gRPC: a raw HTTP status
// without grpc-status, RST_STREAM, a dropped connection.

func init() {
	registerQuirk(QuirkInfo{Name: "grpc-case-sensitive-content-type", Clause: "7.2.4.3", Breaks: "refuses a gRPC content-type in another letter case (Application/GRPC+Proto) with HTTP 415, as grpc-go does"})
	registerQuirk(QuirkInfo{Name: "grpc-no-gzip", Clause: "Appendix 1 §1, 7.2.4", Breaks: "refuses gzip-compressed gRPC messages with UNIMPLEMENTED"})
	registerQuirk(QuirkInfo{Name: "grpc-unimplemented", Clause: "7.2.4.4", Breaks: "answers every call of the given method (its :path) UNIMPLEMENTED, as a center without that service", Arg: "string"})
	registerQuirk(QuirkInfo{Name: "grpc-unknown-method-http404", Clause: "7.2.4.5", Breaks: "answers a call of an unknown method with HTTP 404 and no grpc-status (a code outside Table 7-20)"})
}

// grpcRules are the gRPC rules of 7.2.4, read once (spec hands out copies).
var grpcRules = spec.GRPCRulesOf()

// GRPCALPN is the only protocol the gRPC port offers in ALPN.
const GRPCALPN = "h2"

// grpcFrontend is the running gRPC port of a Server.
type grpcFrontend struct {
	ln    net.Listener
	srv   *grpc.Server
	h2    *http2.Server
	mu    sync.Mutex
	conns map[net.Conn]bool
	push  grpcPushHub
}

// StartGRPC listens for gRPC on addr (host:port, port 0 picks one) with the
// center's TLS configuration and serves in the background. Start calls it
// when Config.GRPCAddr is set.
func (s *Server) StartGRPC(addr string) error {
	ln, err := s.ListenTLS(addr, GRPCALPN)
	if err != nil {
		return err
	}
	g := &grpcFrontend{ln: ln, conns: map[net.Conn]bool{},
		// Windows as large as grpc-go's own dynamic ones may grow (16 MB), so a
		// streamed upload is not held to 1 MB in flight.
		h2: &http2.Server{MaxUploadBufferPerConnection: 16 << 20, MaxUploadBufferPerStream: 16 << 20}}
	g.srv = grpc.NewServer(
		grpc.MaxRecvMsgSize(int(s.cfg.MaxBodyBytes)),
		grpc.MaxSendMsgSize(int(s.cfg.MaxBodyBytes)),
		grpc.ChainUnaryInterceptor(s.grpcUnary),
		grpc.ChainStreamInterceptor(s.grpcStream),
	)
	s.registerGRPCServices(g.srv)
	s.grpcMu.Lock()
	s.grpc = g
	s.grpcMu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serveGRPCConn(g, c)
		}
	}()
	return nil
}

// GRPCAddr is the address the gRPC port listens on, or "" when none.
func (s *Server) GRPCAddr() string {
	g := s.grpcFront()
	if g == nil {
		return ""
	}
	return g.ln.Addr().String()
}

func (s *Server) grpcFront() *grpcFrontend {
	s.grpcMu.Lock()
	defer s.grpcMu.Unlock()
	return s.grpc
}

// closeGRPC stops the gRPC port and closes its connections.
func (s *Server) closeGRPC() {
	g := s.grpcFront()
	if g == nil {
		return
	}
	_ = g.ln.Close()
	g.mu.Lock()
	for c := range g.conns {
		_ = c.Close()
	}
	g.mu.Unlock()
}

func (s *Server) serveGRPCConn(g *grpcFrontend, c net.Conn) {
	g.mu.Lock()
	g.conns[c] = true
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.conns, c)
		g.mu.Unlock()
		_ = c.Close()
		s.ForgetConn(c)
	}()
	g.h2.ServeConn(c, &http2.ServeConnOpts{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveGRPC(g, w, r, c) }),
	})
}

// grpcCall is what the frontend hands the interceptors and services of one
// call through its context: the Exchange, the hooks' decision, and the
// time the answer was taken.
type grpcCall struct {
	x        *Exchange
	decided  Answer
	mu       sync.Mutex
	answered time.Time
	app      Answer // the application status the service answered with
}

type grpcCallKey struct{}

func callOf(ctx context.Context) *grpcCall {
	c, _ := ctx.Value(grpcCallKey{}).(*grpcCall)
	return c
}

func (c *grpcCall) stamp(a Answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answered.IsZero() {
		c.answered = time.Now()
		c.app = a
	}
}

// serveGRPC serves one gRPC call: see the comment at the top of the file.
func (s *Server) serveGRPC(g *grpcFrontend, w http.ResponseWriter, r *http.Request, c net.Conn) {
	x := s.NewExchange(ProtoGRPC, c)
	x.Method, x.Path, x.Proto, x.Header = r.Method, r.URL.Path, r.Proto, r.Header.Clone()
	replay, rawLen, digest, rerr := s.readGRPCRequest(r, x)
	// The messages are not kept on the exchange (Body stays nil): a
	// streamed upload may be 64 MB; Messages and the key describe them.
	x.RawBodyLen = rawLen
	x.Key = x.Path + " " + hex.EncodeToString(digest[:8])

	ct := r.Header.Get("Content-Type")
	if spec.IsGRPCContentType(ct) && !s.apiQuirks.Has("grpc-case-sensitive-content-type") {
		// 7.2.4.3: the media type is matched case-insensitively (RFC 6838);
		// grpc-go itself compares "application/grpc" case-sensitively.
		r.Header.Set("Content-Type", strings.ToLower(ct))
	}
	a := s.Decide(x)
	if !a.Decided() {
		switch {
		case rerr != nil:
			a = Answer{Code: 13, Message: "request stream: " + rerr.Error(), By: "api"}
		case s.apiQuirks.Has("grpc-no-gzip") && strings.EqualFold(r.Header.Get("grpc-encoding"), "gzip"):
			a = Answer{Code: 12, Message: "grpc-encoding gzip is not supported", By: "api"}
		case s.apiQuirks.HasValue("grpc-unimplemented", x.Path):
			a = Answer{Code: 12, Message: "unknown service (quirk)", By: "api"}
		case s.apiQuirks.Has("grpc-unknown-method-http404") && !s.knownGRPCPath(x.Path):
			a = Answer{Status: http.StatusNotFound, Message: "no such method", By: "api"}
		}
	}
	if a.Stall > 0 {
		t := time.NewTimer(a.Stall)
		select {
		case <-t.C:
		case <-r.Context().Done():
			x.Abandoned = true
		case <-s.closed:
		}
		t.Stop()
	}
	s.grpcSession(r, w, a)
	for k, vs := range a.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if a.GoAway {
		// x/net/http2 answers "Connection: close" with GOAWAY and closes
		// the connection once its streams are done.
		w.Header().Set("Connection", "close")
	}
	switch {
	case x.Abandoned:
		s.Answered(x, a, time.Now())
		return
	case a.Drop:
		s.Answered(x, a, time.Now())
		_ = c.Close()
		panic(http.ErrAbortHandler)
	case a.Reset:
		s.Answered(x, a, time.Now())
		panic(http.ErrAbortHandler) // x/net/http2 resets the stream
	case a.Status != 0 && a.Status != http.StatusOK:
		// A raw HTTP answer without grpc-status (a proxy's, say).
		at := time.Now()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(a.Status)
		_, _ = io.WriteString(w, a.Message+"\n")
		s.Answered(x, a, at)
		return
	}

	call := &grpcCall{x: x, decided: a}
	r2 := r.WithContext(context.WithValue(r.Context(), grpcCallKey{}, call))
	r2.Body = io.NopCloser(replay)
	rw := &grpcWriter{ResponseWriter: w}
	g.srv.ServeHTTP(rw, r2)

	out := Answer{Status: rw.status, By: a.By}
	if out.By == "" {
		out.By = "api"
	}
	if gs := w.Header().Get("Grpc-Status"); gs != "" {
		out.Code, _ = strconv.Atoi(gs)
		out.Message = w.Header().Get("Grpc-Message")
	}
	call.mu.Lock()
	at, app := call.answered, call.app
	call.mu.Unlock()
	out.AppStatus, out.RetryAfterSec, out.GoAway = app.AppStatus, app.RetryAfterSec, a.GoAway
	if at.IsZero() {
		at = time.Now()
	}
	// The answer's END_STREAM goes out when this handler returns: a
	// request context ended before is the client's reset (or its
	// connection's end) before the answer was complete.
	if r.Context().Err() != nil {
		x.Abandoned = true
	}
	s.Answered(x, out, at)
}

// grpcWriter notes the HTTP status grpc-go writes; it passes Flush on, as
// gRPC needs it.
type grpcWriter struct {
	http.ResponseWriter
	status int
}

func (w *grpcWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *grpcWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *grpcWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.ResponseWriter.(http.Flusher).Flush()
}

// readGRPCRequest reads the whole request stream of a call, noting each
// length-prefixed message on x as it arrives (7.2.4.1, PROTOCOL-HTTP2:
// a compressed flag byte and a 4-byte big-endian length, then the
// message). It returns a reader that replays the stream as it came, its
// length, and a digest of the messages as serialized (decompressed) one
// after the other. A stream that breaks the framing is returned as far as
// it was read, with the error.
func (s *Server) readGRPCRequest(r *http.Request, x *Exchange) (replay io.Reader, rawLen int, digest []byte, err error) {
	limit := s.cfg.MaxBodyBytes
	var parts []io.Reader // prefix, payload, prefix, payload ... as on the wire
	h := sha256.New()
	enc := r.Header.Get("grpc-encoding")
	defer func() {
		replay, digest = io.MultiReader(parts...), h.Sum(nil)
	}()
	for {
		hdr := make([]byte, 5)
		if _, err := io.ReadFull(r.Body, hdr); err != nil {
			if err == io.EOF {
				return nil, rawLen, nil, nil
			}
			return nil, rawLen, nil, fmt.Errorf("message prefix: %w", err)
		}
		parts = append(parts, bytes.NewReader(hdr))
		rawLen += 5
		n := binary.BigEndian.Uint32(hdr[1:])
		if int64(rawLen)+int64(n) > limit+5 {
			return nil, rawLen, nil, fmt.Errorf("message of %d bytes: larger than the center accepts", n)
		}
		payload := make([]byte, n)
		got, err := io.ReadFull(r.Body, payload)
		parts = append(parts, bytes.NewReader(payload[:got]))
		rawLen += got
		if err != nil {
			return nil, rawLen, nil, fmt.Errorf("message of %d bytes: %w", n, err)
		}
		m := Message{At: time.Now(), Len: int(n), Compressed: hdr[0]&1 == 1, Size: int(n)}
		if m.Compressed && strings.EqualFold(enc, "gzip") {
			if p, derr := gunzip(payload, limit); derr == nil {
				m.Size = len(p)
				payload = p
			} else {
				err = fmt.Errorf("message %d: gzip: %w", len(x.Messages)+1, derr)
			}
		}
		h.Write(payload)
		x.Messages = append(x.Messages, m)
		if err != nil {
			return nil, rawLen, nil, err
		}
	}
}

// knownGRPCPath reports whether path is a method the center serves.
func (s *Server) knownGRPCPath(path string) bool {
	for _, sv := range grpcRules.Services {
		if sv.Path == path {
			return true
		}
	}
	return path == dlAliasPath
}

// grpcSession gives a gRPC client the sticky-session cookie when its call
// carries none and the answer sets none (7.2.4.6, I-111), as the response
// metadata set-cookie.
func (s *Server) grpcSession(r *http.Request, w http.ResponseWriter, a Answer) {
	if _, err := r.Cookie(SessionCookie); err == nil {
		return
	}
	for _, c := range (&http.Response{Header: a.Header}).Cookies() {
		if c.Name == SessionCookie {
			return
		}
	}
	id := fmt.Sprintf("icoc-grpc-%d-%d", s.connSeq.Load(), s.reqSeq.Load())
	w.Header().Add("Set-Cookie", (&http.Cookie{Name: SessionCookie, Value: id, Path: "/", Secure: true, HttpOnly: true}).String())
}

// grpcUnary applies the hooks' decision to a unary call and stamps the
// answer's time (before grpc-go writes it).
func (s *Server) grpcUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	c := callOf(ctx)
	if c != nil && c.decided.Code != 0 {
		c.stamp(Answer{})
		return nil, grpcStatus(c.decided.Code, c.decided.Message)
	}
	resp, err := h(ctx, req)
	if c != nil {
		c.stamp(appAnswer(resp))
	}
	return resp, err
}

// grpcStream is grpcUnary for streaming calls; a server stream (push) is
// stamped when its handler returns.
func (s *Server) grpcStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	c := callOf(ss.Context())
	if c != nil && c.decided.Code != 0 {
		c.stamp(Answer{})
		return grpcStatus(c.decided.Code, c.decided.Message)
	}
	err := h(srv, ss)
	if c != nil {
		c.stamp(Answer{})
	}
	return err
}

// errNoCall says a service was reached without the frontend (a bug).
var errNoCall = errors.New("center: gRPC call without its exchange")
