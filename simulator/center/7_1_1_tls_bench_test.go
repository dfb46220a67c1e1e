package center

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// signal is a hook that reports each finished handshake on a channel.
type signal struct {
	HookBase
	ch chan error
}

func (s *signal) ID() string                  { return "bench-signal" }
func (s *signal) Provides(e Event) bool       { return e == OnHandshake }
func (s *signal) OnHandshake(h HandshakeInfo) { s.ch <- h.Err }

func benchCenter(b *testing.B, cert pki.Name) (*Server, *signal) {
	b.Helper()
	cfg := NewDefaultConfig()
	cfg.CertFile, cfg.KeyFile = pki.Path(cert.ChainFile()), pki.Path(cert.KeyFile())
	cfg.ClientCAFile = pki.Path(pki.Root.CertFile())
	cfg.ALPN = []string{"http/1.1"}
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	sig := &signal{ch: make(chan error, 1)}
	s.AddHook(sig)
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, sig
}

func benchClient(b *testing.B, sessions tls.ClientSessionCache) *tls.Config {
	roots, _ := pki.CertPool(pki.Root)
	c, err := pki.LoadTLS(pki.Vehicle)
	if err != nil {
		b.Fatal(err)
	}
	return &tls.Config{RootCAs: roots, ServerName: pki.CenterHost, MinVersion: tls.VersionTLS13,
		CurvePreferences: []tls.CurveID{tls.CurveP384}, Certificates: []tls.Certificate{c},
		NextProtos: []string{"http/1.1"}, ClientSessionCache: sessions}
}

// handshakeOnce runs one handshake over loopback TCP and waits until the
// center has finished its side (client certificate verified).
func handshakeOnce(b *testing.B, s *Server, sig *signal, tc *tls.Config, wantResumed bool) {
	raw, err := net.Dial("tcp", s.Addr())
	if err != nil {
		b.Fatal(err)
	}
	c := tls.Client(raw, tc)
	if err := c.Handshake(); err != nil {
		b.Fatal(err)
	}
	if err := <-sig.ch; err != nil {
		b.Fatal(err)
	}
	if wantResumed {
		// The ticket arrives after the handshake; read it so the cache is
		// filled, and check the resumption.
		if !c.ConnectionState().DidResume {
			b.Fatal("not resumed")
		}
	}
	_ = c.Close()
}

// BenchmarkFullHandshake is full mutual-TLS 1.3 handshakes with ECDHE
// P-384, per server certificate type (7.1.1.2.3).
func BenchmarkFullHandshake(b *testing.B) {
	for _, cert := range []pki.Name{pki.CenterECDSA, pki.CenterRSA} {
		b.Run(string(cert), func(b *testing.B) {
			s, sig := benchCenter(b, cert)
			tc := benchClient(b, nil)
			b.ResetTimer()
			for range b.N {
				handshakeOnce(b, s, sig, tc, false)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

// BenchmarkResumedHandshake is PSK + ECDHE P-384 resumptions (7.1.1.4),
// per server certificate type.
func BenchmarkResumedHandshake(b *testing.B) {
	for _, cert := range []pki.Name{pki.CenterECDSA, pki.CenterRSA} {
		b.Run(string(cert), func(b *testing.B) {
			s, sig := benchCenter(b, cert)
			cache := tls.NewLRUClientSessionCache(1)
			tc := benchClient(b, cache)
			// One full handshake that reads the ticket.
			raw, err := net.Dial("tcp", s.Addr())
			if err != nil {
				b.Fatal(err)
			}
			c := tls.Client(raw, tc)
			if err := c.Handshake(); err != nil {
				b.Fatal(err)
			}
			<-sig.ch
			_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			_, _ = c.Read(make([]byte, 512))
			_ = c.Close()
			b.ResetTimer()
			for range b.N {
				handshakeOnce(b, s, sig, tc, true)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}
