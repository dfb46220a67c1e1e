// Package dns is a DNS server the harness controls (github.com/miekg/dns,
// UDP): it answers A queries for the names it is given and can be told to
// not answer, to answer late, or to answer with several addresses (Tables
// 7-4/7-5 row G). Every query is logged with its time so specs can judge
// how a DUT resolves: how many queries, how far apart.
package dns

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
)

// Mode is how the server treats queries for a name.
type Mode int

const (
	// Answer answers at once with the configured addresses.
	Answer Mode = iota
	// NoAnswer drops the query: the client hears nothing.
	NoAnswer
	// Slow answers after the configured delay.
	Slow
)

// Query is one query the server received.
type Query struct {
	At   time.Time
	Name string // lower case, without the trailing dot
	Type uint16
	// Answered is false when the query was dropped.
	Answered bool
}

// Server is a running DNS server. Safe for concurrent use. Invariant: every
// query received is in Queries, in arrival order.
type Server struct {
	mu      sync.Mutex
	records map[string][]net.IP
	mode    map[string]Mode
	delay   map[string]time.Duration
	queries []Query
	srv     *mdns.Server
	addr    string
}

// Start listens on addr (UDP host:port; port 0 picks a free one).
func Start(addr string) (*Server, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("dns: listen on %s: %w", addr, err)
	}
	s := &Server{records: map[string][]net.IP{}, mode: map[string]Mode{}, delay: map[string]time.Duration{}, addr: pc.LocalAddr().String()}
	s.srv = &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(s.serve)}
	started := make(chan struct{})
	s.srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = s.srv.ActivateAndServe() }()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		return nil, fmt.Errorf("dns: server on %s did not start", s.addr)
	}
	return s, nil
}

// Addr is the UDP address the server listens on.
func (s *Server) Addr() string { return s.addr }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Shutdown() }

func canon(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// Set makes name resolve to ips (in that order) and answer at once.
func (s *Server) Set(name string, ips ...net.IP) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := canon(name)
	s.records[n] = append([]net.IP(nil), ips...)
	s.mode[n] = Answer
}

// SetMode sets how queries for name are treated; delay is used by Slow
// (wall time).
func (s *Server) SetMode(name string, m Mode, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := canon(name)
	s.mode[n], s.delay[n] = m, delay
}

// Queries returns the queries for name (every name when "") received at or
// after since.
func (s *Server) Queries(name string, since time.Time) []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Query
	for _, q := range s.queries {
		if (name == "" || q.Name == canon(name)) && !q.At.Before(since) {
			out = append(out, q)
		}
	}
	return out
}

func (s *Server) serve(w mdns.ResponseWriter, req *mdns.Msg) {
	if len(req.Question) != 1 {
		m := new(mdns.Msg)
		m.SetRcode(req, mdns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := canon(q.Name)
	s.mu.Lock()
	mode, delay, ips := s.mode[name], s.delay[name], s.records[name]
	known := ips != nil
	s.queries = append(s.queries, Query{At: time.Now(), Name: name, Type: q.Qtype, Answered: mode != NoAnswer})
	s.mu.Unlock()
	switch mode {
	case NoAnswer:
		return
	case Slow:
		time.Sleep(delay)
	}
	m := new(mdns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if !known {
		m.SetRcode(req, mdns.RcodeNameError)
	}
	if q.Qtype == mdns.TypeA {
		for _, ip := range ips {
			if ip4 := ip.To4(); ip4 != nil {
				m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 1}, A: ip4})
			}
		}
	}
	_ = w.WriteMsg(m)
}
