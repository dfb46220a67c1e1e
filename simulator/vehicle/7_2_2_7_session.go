package vehicle

import (
	"context"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

func init() {
	registerQuirk(QuirkInfo{Name: "h1-keep-alive", Clause: "7.2.2.7", Breaks: "keeps HTTP/1.1 connections open between exchanges"})
	registerQuirk(QuirkInfo{Name: "h1-cookie", Clause: "7.2.2.7", Breaks: "keeps and returns cookies over HTTP/1.1"})
	registerQuirk(QuirkInfo{Name: "h2-new-connection", Clause: "6.1.1, 7.2.3.7", Breaks: "opens a new HTTP/2 connection per exchange"})
	registerQuirk(QuirkInfo{Name: "h2-no-cookie", Clause: "7.2.3.7", Breaks: "does not return the sticky-session cookie over HTTP/2"})
	registerQuirk(QuirkInfo{Name: "no-h2", Clause: "7.1.1.1, 6.1.1", Breaks: "offers only http/1.1 in ALPN although it speaks HTTP/2"})
	registerQuirk(QuirkInfo{Name: "response-timeout", Clause: "7.2.2.5", Breaks: "gives up waiting for an answer after this many spec seconds instead of 60", Arg: "int"})
}

// session is the vehicle's HTTP state towards the center. It offers h2 and
// http/1.1 in ALPN and speaks what the center chose:
//   - HTTP/1.1 (7.2.2.7): a connection per exchange, no session, no cookie;
//   - HTTP/2 (6.1.1, 7.2.3.7): one connection reused by every application,
//     and the sticky-session cookie the center set is sent back.
//
// The 7.2.2.5 response timeout runs from the end of the request, so
// connection set-up does not count.
type session struct {
	v      *Vehicle
	tr     *http.Transport
	client *http.Client

	mu     sync.Mutex
	cookie *http.Cookie // from an HTTP/2 answer; nil after an HTTP/1.x one
}

func newSession(v *Vehicle) *session {
	dialer := v.cfg.dialer(v.cfg.wall(5 * time.Second))
	tc := v.tls.Clone()
	tc.NextProtos = []string{"http/1.1"}
	if v.cfg.HTTP2 && !v.quirks.Has("no-h2") {
		tc.NextProtos = []string{"h2", "http/1.1"}
	}
	tr := &http.Transport{
		TLSClientConfig:       tc,
		ForceAttemptHTTP2:     v.cfg.HTTP2 && !v.quirks.Has("no-h2"),
		ResponseHeaderTimeout: v.cfg.wall(time.Duration(v.quirks.Int("response-timeout", int(v.doc.HTTPResponseTimeout()/time.Second))) * time.Second),
		DisableKeepAlives:     v.quirks.Has("h2-new-connection"),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if v.cfg.CenterAddr != "" {
				addr = v.cfg.CenterAddr
			}
			return dialer.DialContext(ctx, network, addr)
		},
		// Table 7-4 rows A..C (TLS set-up retries): 7_1_1_7_dial.go.
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return v.dialTLS(ctx, network, addr, tc)
		},
	}
	return &session{v: v, tr: tr, client: &http.Client{Transport: tr}}
}

// do sends req and keeps the session rules for the protocol the answer came
// over.
func (s *session) do(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	if s.cookie != nil {
		req.AddCookie(s.cookie)
	}
	s.mu.Unlock()
	resp, err := s.roundTrip(req)
	if err != nil {
		s.tr.CloseIdleConnections()
		return nil, err
	}
	h2 := resp.ProtoMajor == 2
	s.mu.Lock()
	switch {
	case h2 && !s.v.quirks.Has("h2-no-cookie"), !h2 && s.v.quirks.Has("h1-cookie"):
		for _, c := range resp.Cookies() {
			if c.Name == s.v.doc.SessionCookieName {
				s.cookie = &http.Cookie{Name: c.Name, Value: c.Value}
			}
		}
	case !h2:
		s.cookie = nil
	}
	s.mu.Unlock()
	return resp, nil
}

// roundTrip sends req once. A kept connection that the center closed while
// it was idle fails before any answer; then the request goes once more on a
// fresh connection, at once, as the same attempt (7.1.1.4: re-establishing
// a connection must not fail on a closed socket). A timeout is an answer
// that did not come, never a dead connection: it is not repeated here.
func (s *session) roundTrip(req *http.Request) (*http.Response, error) {
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	resp, err := s.client.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err == nil || !reused || isTimeout(err) || req.GetBody == nil || req.Context().Err() != nil {
		return resp, err
	}
	body, gerr := req.GetBody()
	if gerr != nil {
		return nil, err
	}
	s.tr.CloseIdleConnections()
	again := req.Clone(req.Context())
	again.Body = body
	return s.client.Do(again)
}

// done is called once the answer's body has been read and closed: an
// HTTP/1.1 connection is closed now, as 7.2.2.7 keeps no session.
func (s *session) done(resp *http.Response) {
	if resp.ProtoMajor == 1 && !s.v.quirks.Has("h1-keep-alive") {
		s.tr.CloseIdleConnections()
	}
}
