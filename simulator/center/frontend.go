package center

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// This file is the center's interface for protocol frontends other than
// its HTTPS API (gRPC, MQTT, ExVe, ...): they listen with the center's TLS
// configuration, so that connections and handshakes reach the hooks, and
// turn what they receive into Exchanges that pass the same hooks (the
// recorder, the fault plan) before their own logic answers.

// ListenTLS listens on addr with the center's TLS configuration
// (certificates, client authentication and revocation, the TLS faults),
// offering only alpn in ALPN (none when empty), and returns a listener that
// hands out *tls.Conn whose handshake has finished well. Every connection
// and handshake, good or bad, is reported to the hooks like the HTTPS
// listener's; ConnFacts gives the facts of a connection it handed out.
func (s *Server) ListenTLS(addr string, alpn ...string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("center listen on %s: %w", addr, err)
	}
	conf := s.tls.Clone()
	base := s.tls.GetConfigForClient
	protos := append([]string(nil), alpn...)
	conf.NextProtos = protos
	conf.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		c, err := base(h)
		if err != nil || c == nil {
			return c, err
		}
		c = c.Clone()
		c.NextProtos = protos
		return c, nil
	}
	return newHandshakeListener(ln, s, conf), nil
}

// ConnFacts returns what the hooks were told of a connection handed out by
// a ListenTLS (or the HTTPS) listener while it is open; ok is false for a
// connection the center does not know. Call ForgetConn when it closes.
func (s *Server) ConnFacts(c net.Conn) (ConnInfo, HandshakeInfo, bool) {
	v, ok := s.conns.Load(c)
	if !ok {
		return ConnInfo{}, HandshakeInfo{}, false
	}
	hc := v.(*handshakedConn)
	return hc.info, hc.hs, true
}

// ForgetConn drops the facts of a closed connection of a frontend.
func (s *Server) ForgetConn(c net.Conn) { s.conns.Delete(c) }

// NewExchange starts an Exchange of protocol p received now on connection
// c (a connection of a ListenTLS listener; nil when unknown), with the next
// sequence number, the connection's facts and the VIN of its client
// certificate.
func (s *Server) NewExchange(p Protocol, c net.Conn) *Exchange {
	x := &Exchange{Protocol: p, Seq: s.reqSeq.Add(1), ReceivedAt: time.Now()}
	if c != nil {
		if info, hs, ok := s.ConnFacts(c); ok {
			x.Conn, x.TLS = info, hs
			if len(hs.PeerCertificates) > 0 {
				x.VIN = hs.PeerCertificates[0].Subject.CommonName
			}
		}
	}
	return x
}

// Decide offers x to the OnRequest hooks in order and returns the first
// Decided answer (a fault, say), or the zero Answer when no hook decides and
// the frontend's own logic answers.
func (s *Server) Decide(x *Exchange) Answer {
	for _, h := range s.hooksFor(OnRequest) {
		if a := h.OnRequest(x); a.Decided() {
			if a.By == "" {
				a.By = h.ID()
			}
			return a
		}
	}
	return Answer{}
}

// Answered tells the OnAnswer hooks how x ended: the answer a, taken at
// at (before it was written: the DUT cannot react earlier). Set
// x.Abandoned first when the client went away before the answer.
func (s *Server) Answered(x *Exchange, a Answer, at time.Time) {
	for _, h := range s.hooksFor(OnAnswer) {
		h.OnAnswer(x, a, at)
	}
}
