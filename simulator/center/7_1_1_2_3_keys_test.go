package center

import (
	"bytes"
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/internal/tls13rec"
)

// readStream is a client connection that follows the server's records
// with a tls13rec.ServerStream fed by the client's key log.
type readStream struct {
	net.Conn
	mu     sync.Mutex
	stream tls13rec.ServerStream
	buf    []byte
}

func (r *readStream) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	_, r.buf = r.stream.Records(append(r.buf, p[:n]...))
	r.buf = bytes.Clone(r.buf)
	r.mu.Unlock()
	return n, err
}

func TestClientKeyPolicy(t *testing.T) {
	s, h, _ := startPolicyCenter(t, nil)
	for _, c := range []struct {
		cert pki.Name
		ok   bool
	}{{pki.Vehicle, true}, {pki.VehicleRSA, true}, {pki.VehicleRSA2048, false}, {pki.VehicleEd25519, false}, {pki.VehicleP384, false}} {
		_, err := dialCenter(t, s, c.cert, nil)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want accepted=%v", c.cert, err, c.ok)
		}
		time.Sleep(20 * time.Millisecond)
		if last := h.last(); !c.ok && last.Alert != "bad_certificate" {
			t.Errorf("%s: the center's alert recorded as %q, want bad_certificate (err %v)", c.cert, last.Alert, last.Err)
		}
	}
	q, _, _ := startPolicyCenter(t, func(c *Config) { c.Quirks = []string{"accept-weak-client-key"} })
	for _, n := range []pki.Name{pki.VehicleRSA2048, pki.VehicleP384} {
		if _, err := dialCenter(t, q, n, nil); err != nil {
			t.Errorf("accept-weak-client-key: %s refused: %v", n, err)
		}
	}
	// accept-p384-client accepts P-384 and nothing else that is weak.
	p, _, _ := startPolicyCenter(t, func(c *Config) { c.Quirks = []string{"accept-p384-client"} })
	if _, err := dialCenter(t, p, pki.VehicleP384, nil); err != nil {
		t.Errorf("accept-p384-client: P-384 refused: %v", err)
	}
	if _, err := dialCenter(t, p, pki.VehicleRSA2048, nil); err == nil {
		t.Error("accept-p384-client: RSA-2048 accepted")
	}
}

func TestTicketLifetime(t *testing.T) {
	// The session lifetime of 12 h at a time scale of 0.01 is 432 s wall.
	s, h, _ := startPolicyCenter(t, func(c *Config) { c.TLS.TimeScale, c.TLS.ClientResponseTimeout = 0.01, 0 })
	cache := tls.NewLRUClientSessionCache(4)
	var rs *readStream
	dial := func() error {
		roots, _ := pki.CertPool(pki.Root)
		cert, _ := pki.LoadTLS(pki.Vehicle)
		raw, err := net.Dial("tcp", s.Addr())
		if err != nil {
			return err
		}
		rs = &readStream{Conn: raw}
		tc := tls.Client(rs, &tls.Config{RootCAs: roots, ServerName: pki.CenterHost, MinVersion: tls.VersionTLS13,
			CurvePreferences: []tls.CurveID{tls.CurveP384}, Certificates: []tls.Certificate{cert},
			ClientSessionCache: cache, KeyLogWriter: rs.stream.KeyLog()})
		defer tc.Close()
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = tc.Write([]byte("GET /nothing HTTP/1.1\r\nHost: center.icoc.test\r\n\r\n"))
		_, err = tc.Read(make([]byte, 64))
		return err
	}
	if err := dial(); err != nil {
		t.Fatal(err)
	}
	if life, ok := rs.stream.TicketLifetime(); !ok || life != 432 {
		t.Errorf("ticket_lifetime on the wire %d s (seen %v), want 432 s", life, ok)
	}
	time.Sleep(20 * time.Millisecond)
	if got := h.last().TicketLifetime; got != 432*time.Second {
		t.Errorf("recorded ticket lifetime %v, want 432s", got)
	}
	// The amended ticket record is valid: the client stored the ticket and
	// resumes with it.
	if err := dial(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if !h.last().Resumed {
		t.Error("the second connection did not resume with the amended ticket")
	}
}
