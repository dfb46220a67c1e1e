package center

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"
)

// handshakeListener accepts TCP connections, runs each TLS handshake in its
// own goroutine (so that a slow or broken client cannot hold up others), and
// hands only finished handshakes to the HTTP server. Every connection and
// every handshake, good or bad, is reported to the hooks.
type handshakeListener struct {
	inner net.Listener
	srv   *Server
	conf  *tls.Config // the center's, or a frontend's (ListenTLS)
	ready chan net.Conn
	done  chan struct{}
	once  sync.Once
	errMu sync.Mutex
	err   error // the inner listener's Accept error; guarded by errMu
}

// handshakedConn is a TLS connection whose handshake has finished, with the
// facts the hooks were told. The HTTP server receives the *tls.Conn itself
// (so that it sees TLS and can speak HTTP/2); the facts are looked up in
// Server.conns by that pointer.
type handshakedConn struct {
	*tls.Conn
	info ConnInfo
	hs   HandshakeInfo
	// h1 is the connection net/http serves for HTTP/1.1 (nil for HTTP/2).
	h1 *h1Conn
}

func newHandshakeListener(inner net.Listener, s *Server, conf *tls.Config) *handshakeListener {
	l := &handshakeListener{inner: inner, srv: s, conf: conf, ready: make(chan net.Conn), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *handshakeListener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			l.errMu.Lock()
			l.err = err
			l.errMu.Unlock()
			l.Close()
			return
		}
		info := ConnInfo{
			ID:         l.srv.connSeq.Add(1),
			RemoteAddr: c.RemoteAddr().String(),
			LocalAddr:  c.LocalAddr().String(),
			AcceptedAt: time.Now(),
		}
		for _, h := range l.srv.hooksFor(OnConnect) {
			h.OnConnect(info)
		}
		go l.handshake(c, info)
	}
}

func (l *handshakeListener) handshake(raw net.Conn, info ConnInfo) {
	if f := l.srv.handshakeFault(); f != HandshakeNormal {
		l.faultHandshake(raw, info, f)
		return
	}
	wait := &clientWaitConn{Conn: raw, timeout: l.srv.clientResponseTimeout()}
	wire := newWireConn(wait, l.srv.tlsState().ticketLifetime())
	tc := tls.Server(wire, l.conf)
	hs := HandshakeInfo{Conn: info, Started: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), l.srv.cfg.HandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	wait.handshakeDone()
	hs.Done = time.Now()
	st := tc.ConnectionState()
	hs.Err = err
	hs.Version = st.Version
	hs.CipherSuite = st.CipherSuite
	hs.Group = st.CurveID
	hs.Resumed = st.DidResume
	hs.ALPN = st.NegotiatedProtocol
	hs.SNI = st.ServerName
	hs.PeerCertificates = st.PeerCertificates
	hs.Alert, hs.TicketLifetime = wire.sent()
	for _, h := range l.srv.hooksFor(OnHandshake) {
		h.OnHandshake(hs)
	}
	if err != nil {
		if hs.Alert != "" {
			err = fmt.Errorf("%w (the center sent alert %s)", err, hs.Alert)
		}
		l.srv.logf("center: conn %d from %s: TLS handshake failed: %v", info.ID, info.RemoteAddr, err)
		_ = tc.Close()
		return
	}
	if hs.ALPN == PushALPN {
		l.srv.attachPush(tc, hs)
		return
	}
	hc := &handshakedConn{Conn: tc, info: info, hs: hs}
	var served net.Conn = tc                    // HTTP/2 and the frontends: the *tls.Conn itself
	if hs.ALPN != "h2" && l.conf == l.srv.tls { // HTTP/1.1 on the center's own listener
		hc.h1 = &h1Conn{Conn: tc, srv: l.srv, hc: hc}
		served = hc.h1
	}
	l.srv.conns.Store(served, hc)
	select {
	case l.ready <- served:
	case <-l.done:
		l.srv.conns.Delete(served)
		_ = tc.Close()
	}
}

// Accept returns the next connection whose handshake has finished.
func (l *handshakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		l.errMu.Lock()
		err := l.err
		l.errMu.Unlock()
		if err != nil {
			return nil, err
		}
		return nil, net.ErrClosed
	}
}

func (l *handshakeListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

func (l *handshakeListener) Addr() net.Addr { return l.inner.Addr() }

// faultHandshake plays a broken server for Table 7-4 rows A and B: it reads
// the ClientHello, then closes, stays silent until the client gives up (or
// the handshake timeout), or answers with bytes that are not TLS. The hooks
// get a HandshakeInfo whose Done is when the connection ended and whose
// Err names the fault and how the client ended it.
func (l *handshakeListener) faultHandshake(raw net.Conn, info ConnInfo, f HandshakeFault) {
	hs := HandshakeInfo{Conn: info, Started: time.Now()}
	_ = raw.SetDeadline(time.Now().Add(l.srv.cfg.HandshakeTimeout))
	buf := make([]byte, 16<<10)
	_, err := raw.Read(buf) // the ClientHello (or its first part)
	switch {
	case err != nil:
	case f == HandshakeGarbage:
		_, _ = raw.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\nthis is not TLS\r\n"))
		fallthrough
	case f == HandshakeSilent:
		for err == nil {
			_, err = raw.Read(buf)
		}
	}
	hs.Done = time.Now()
	hs.Err = fmt.Errorf("center handshake fault %q; connection ended: %v", f, err)
	if err == nil || f == HandshakeClose {
		hs.Err = fmt.Errorf("center handshake fault %q", f)
	}
	_ = raw.Close()
	for _, h := range l.srv.hooksFor(OnHandshake) {
		h.OnHandshake(hs)
	}
}

// clientWaitConn bounds, during the handshake, each wait for data from the
// client (Table 7-5 B: "1 sec timeout in case of no response"); time the
// center spends on its own (e.g. checking revocation) does not count.
type clientWaitConn struct {
	net.Conn
	timeout time.Duration // 0: no bound
	mu      sync.Mutex
	done    bool
}

func (c *clientWaitConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	bound := !c.done && c.timeout > 0
	c.mu.Unlock()
	if bound {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
		n, err := c.Conn.Read(p)
		_ = c.Conn.SetReadDeadline(time.Time{})
		return n, err
	}
	return c.Conn.Read(p)
}

func (c *clientWaitConn) handshakeDone() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
}
