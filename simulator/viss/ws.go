package viss

import (
	"bufio"
	"context"
	"crypto/tls"

	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// serve answers wss and https on the server's listener. The first byte of
// a connection tells TLS (a handshake record, 0x16) from plain text; plain
// text reaches a WebSocket only under the plain-ws-accepted quirk, and is
// otherwise handed to TLS, whose handshake fails: ws is refused
// (Gen2 T5.2.1.1, v3 T4.1.1.1).
func (srv *Server) serve() {
	tlsLn := newChanListener(srv.ln.Addr())
	plainLn := newChanListener(srv.ln.Addr())
	h := http.HandlerFunc(srv.handleHTTP)
	// Each server its own TLS config (http.Server changes it); HTTP/1.1
	// only, as a WebSocket upgrade needs it.
	srv.https = &http.Server{Handler: h, TLSConfig: srv.svc.tls.Clone(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog(),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	srv.plain = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog()}
	srv.wg.Add(3)
	go func() {
		defer srv.wg.Done()
		_ = srv.https.ServeTLS(tlsLn, "", "")
	}()
	go func() {
		defer srv.wg.Done()
		_ = srv.plain.Serve(plainLn)
	}()
	go func() {
		defer srv.wg.Done()
		defer tlsLn.Close()
		defer plainLn.Close()
		for {
			c, err := srv.ln.Accept()
			if err != nil {
				return
			}
			go func() {
				br := bufio.NewReader(c)
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				b, err := br.Peek(1)
				_ = c.SetReadDeadline(time.Time{})
				if err != nil {
					c.Close()
					return
				}
				pc := &peekedConn{Conn: c, r: br}
				if b[0] != 0x16 && srv.svc.quirks.Has("plain-ws-accepted") {
					plainLn.put(pc)
					return
				}
				tlsLn.put(pc)
			}()
		}
	}()
}

// handleHTTP sends WebSocket upgrades to the WebSocket transport and
// everything else to the HTTPS transport.
func (srv *Server) handleHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		srv.serveWS(w, r)
		return
	}
	srv.serveHTTPS(w, r)
}

// serveWS runs one WebSocket connection: one session.
func (srv *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true}
	if !srv.svc.quirks.Has("subprotocol-ignored") {
		opts.Subprotocols = []string{srv.d.Subprotocol}
	}
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		return
	}
	c.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := srv.newSession(func(m []byte) error {
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		return c.Write(wctx, websocket.MessageText, m)
	})
	defer s.close()
	defer c.CloseNow()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		srv.receive(s, msg)
	}
}

// serveHTTPS answers one HTTPS request (GET: get, POST: set; no
// subscriptions, Gen2 T5.1, v3 T4.2).
func (srv *Server) serveHTTPS(w http.ResponseWriter, r *http.Request) {
	req, e := srv.codec.parseHTTP(r)
	var res *result
	if e == nil {
		res, e = srv.execute(nil, req)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	status := http.StatusOK
	if e != nil && !srv.svc.quirks.Has("http-status-200") {
		status = e.code.Number
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(srv.codec.httpBody(req, res, e))
}

// peekedConn is a connection whose first bytes were peeked.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

// Read reads the peeked bytes first.
func (c *peekedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// chanListener is a net.Listener fed by put.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn
	once sync.Once
	done chan struct{}
}

func newChanListener(a net.Addr) *chanListener {
	return &chanListener{addr: a, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) put(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

// Accept returns the next connection put.
func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept.
func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr is the real listener's address.
func (l *chanListener) Addr() net.Addr { return l.addr }
