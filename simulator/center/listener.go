package center

import (
	"context"
	"crypto/tls"
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
	ready chan net.Conn
	done  chan struct{}
	once  sync.Once
	err   error
}

// handshakedConn is a TLS connection whose handshake has finished, with the
// facts the hooks were told. The HTTP server receives the *tls.Conn itself
// (so that it sees TLS and can speak HTTP/2); the facts are looked up in
// Server.conns by that pointer.
type handshakedConn struct {
	*tls.Conn
	info ConnInfo
	hs   HandshakeInfo
}

func newHandshakeListener(inner net.Listener, s *Server) *handshakeListener {
	l := &handshakeListener{inner: inner, srv: s, ready: make(chan net.Conn), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *handshakeListener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			l.err = err
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
	tc := tls.Server(raw, l.srv.tls)
	hs := HandshakeInfo{Conn: info, Started: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), l.srv.cfg.HandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
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
	for _, h := range l.srv.hooksFor(OnHandshake) {
		h.OnHandshake(hs)
	}
	if err != nil {
		l.srv.logf("center: conn %d from %s: TLS handshake failed: %v", info.ID, info.RemoteAddr, err)
		_ = tc.Close()
		return
	}
	l.srv.conns.Store(tc, &handshakedConn{Conn: tc, info: info, hs: hs})
	select {
	case l.ready <- tc:
	case <-l.done:
		l.srv.conns.Delete(tc)
		_ = tc.Close()
	}
}

func (l *handshakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		if l.err != nil {
			return nil, l.err
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
