package center

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Service is an HTTPS service the center serves beside the vehicle APIs of
// 7.2, on a listener of its own with a TLS configuration of its own: the
// ExVe offering party (ISO 20078-2, server authentication and bearer tokens
// instead of the vehicle's mutual TLS), or an accessing party's callback.
// Its requests pass the center's hooks exactly like the vehicle APIs': the
// recorder puts them on the same timeline, a fault plan may answer them.
type Service interface {
	// Name names the service in ConnInfo.Service, Exchange.Service and
	// Answer.By; it is not empty.
	Name() string
	// Serve answers one request whose body has been read into x.Body. It is
	// called from many goroutines at once.
	Serve(x *Exchange, r *http.Request) Answer
}

// Reshaper is implemented by a Service that writes the answers the hooks
// give its requests (a fault plan's status) in its own error format.
type Reshaper interface {
	Reshape(x *Exchange, a Answer) Answer
}

// MountOptions say how the center serves one Service.
type MountOptions struct {
	// Addr is the TCP listen address; port 0 picks a free port.
	Addr string
	// TLS is the server side of the service's TLS: certificates, versions,
	// ALPN (add "h2" to NextProtos for HTTP/2). The center does not change
	// it; a nil TLS is an error.
	TLS *tls.Config
	// PlainHTTP also serves, on the same port, connections whose first
	// byte is not a TLS handshake record: a broken server, for the self-test
	// of a spec that demands HTTPS only.
	PlainHTTP bool
	// WrapConn, when set, wraps each connection once its handshake is done
	// (self-test quirks that bend the bytes before the HTTP server reads
	// them).
	WrapConn func(net.Conn) net.Conn
	// HandshakeTimeout bounds one handshake (wall time); 0: the center's.
	HandshakeTimeout time.Duration
}

// mount is one mounted service and its listener.
type mount struct {
	srv   *Server
	svc   Service
	o     MountOptions
	ln    net.Listener
	http  *http.Server
	conns sync.Map // net.Conn given to the HTTP server -> *handshakedConn
	ready chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// Mount starts serving svc on a listener of its own and returns its
// address. The mount ends when the center is closed.
func (s *Server) Mount(svc Service, o MountOptions) (string, error) {
	if svc == nil || svc.Name() == "" {
		return "", errors.New("center mount: a service needs a name")
	}
	if o.TLS == nil {
		return "", fmt.Errorf("center mount %s: no TLS configuration", svc.Name())
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = s.cfg.HandshakeTimeout
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return "", fmt.Errorf("center mount %s: listen on %s: %w", svc.Name(), o.Addr, err)
	}
	m := &mount{srv: s, svc: svc, o: o, ln: ln, ready: make(chan net.Conn), done: make(chan struct{})}
	m.http = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, svc) }),
		ReadHeaderTimeout: time.Minute,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if hc, ok := m.conns.Load(c); ok {
				return context.WithValue(ctx, connKey{}, hc)
			}
			return ctx
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateClosed || st == http.StateHijacked {
				m.conns.Delete(c)
			}
		},
	}
	if hasProto(o.TLS.NextProtos, "h2") {
		// net/http speaks HTTP/2 on a listener it did not wrap itself only
		// when asked; the TLS connections are handed over already
		// handshaken, so it reads the protocol from their state.
		m.http.TLSConfig = o.TLS
		m.http.TLSNextProto = nil
	}
	s.mu.Lock()
	s.mounts = append(s.mounts, m)
	s.mu.Unlock()
	go m.acceptLoop()
	go func() { _ = m.http.Serve(m) }()
	return ln.Addr().String(), nil
}

func hasProto(list []string, p string) bool {
	for _, x := range list {
		if x == p {
			return true
		}
	}
	return false
}

func (m *mount) acceptLoop() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			m.Close()
			return
		}
		info := ConnInfo{
			ID:         m.srv.connSeq.Add(1),
			RemoteAddr: c.RemoteAddr().String(),
			LocalAddr:  c.LocalAddr().String(),
			AcceptedAt: time.Now(),
			Service:    m.svc.Name(),
		}
		for _, h := range m.srv.hooksFor(OnConnect) {
			h.OnConnect(info)
		}
		go m.handshake(c, info)
	}
}

// handshake runs the TLS handshake (or, with PlainHTTP, takes a plain
// connection as it is), tells the hooks, and hands the connection to the
// HTTP server.
func (m *mount) handshake(raw net.Conn, info ConnInfo) {
	hs := HandshakeInfo{Conn: info, Started: time.Now()}
	var c net.Conn
	if m.o.PlainHTTP {
		br := bufio.NewReader(raw)
		_ = raw.SetReadDeadline(time.Now().Add(m.o.HandshakeTimeout))
		first, err := br.Peek(1)
		_ = raw.SetReadDeadline(time.Time{})
		if err != nil {
			_ = raw.Close()
			return
		}
		raw = &peekedConn{Conn: raw, r: br}
		if first[0] != 0x16 { // not a TLS handshake record: plain HTTP
			hs.Done = time.Now()
			hs.Err = errors.New("no TLS: plain HTTP served")
			m.tellHandshake(hs)
			m.handOver(raw, info, hs)
			return
		}
	}
	tc := tls.Server(raw, m.o.TLS)
	ctx, cancel := context.WithTimeout(context.Background(), m.o.HandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	st := tc.ConnectionState()
	hs.Done, hs.Err = time.Now(), err
	hs.Version, hs.CipherSuite, hs.Group = st.Version, st.CipherSuite, st.CurveID
	hs.Resumed, hs.ALPN, hs.SNI, hs.PeerCertificates = st.DidResume, st.NegotiatedProtocol, st.ServerName, st.PeerCertificates
	m.tellHandshake(hs)
	if err != nil {
		m.srv.logf("center: %s conn %d from %s: TLS handshake failed: %v", m.svc.Name(), info.ID, info.RemoteAddr, err)
		_ = tc.Close()
		return
	}
	c = tc
	if m.o.WrapConn != nil {
		c = m.o.WrapConn(tc)
	}
	m.handOver(c, info, hs)
}

func (m *mount) tellHandshake(hs HandshakeInfo) {
	for _, h := range m.srv.hooksFor(OnHandshake) {
		h.OnHandshake(hs)
	}
}

func (m *mount) handOver(c net.Conn, info ConnInfo, hs HandshakeInfo) {
	m.conns.Store(c, &handshakedConn{info: info, hs: hs})
	select {
	case m.ready <- c:
	case <-m.done:
		m.conns.Delete(c)
		_ = c.Close()
	}
}

// Accept hands the HTTP server the next connection whose handshake is done.
func (m *mount) Accept() (net.Conn, error) {
	select {
	case c := <-m.ready:
		return c, nil
	case <-m.done:
		return nil, net.ErrClosed
	}
}

// Close stops the listener; Server.Close calls it for every mount.
func (m *mount) Close() error {
	var err error
	m.once.Do(func() {
		close(m.done)
		err = m.ln.Close()
	})
	return err
}

// Addr is the listener's address.
func (m *mount) Addr() net.Addr { return m.ln.Addr() }

// closeMounts stops every mount and its HTTP server.
func (s *Server) closeMounts() {
	s.mu.Lock()
	ms := s.mounts
	s.mounts = nil
	s.mu.Unlock()
	for _, m := range ms {
		_ = m.Close()
		_ = m.http.Close()
	}
}

// peekedConn reads first what a bufio.Reader has already taken off the
// connection.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
