package harness

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/internal/tls13rec"
)

// ClientIdentity is what the harness, playing the vehicle, presents to a
// center DUT: a certificate chain and key (PEM files), or nothing.
type ClientIdentity struct {
	// ChainFile holds the client certificate, optionally followed by its
	// intermediate CA; empty: no certificate is sent.
	ChainFile string
	KeyFile   string
}

// Identity returns the identity of a test-PKI vehicle certificate: its
// chain (leaf and intermediate) or, with partial set, the leaf alone.
func Identity(n pki.Name, partial bool) ClientIdentity {
	f := n.ChainFile()
	if partial {
		f = n.CertFile()
	}
	return ClientIdentity{ChainFile: pki.Path(f), KeyFile: pki.Path(n.KeyFile())}
}

// CenterVisit is what one connection of the harness-as-vehicle to a center
// DUT saw on the wire.
type CenterVisit struct {
	Start, End time.Time
	// HandshakeErr is the handshake's error as the client saw it (an alert
	// from the center shows as "remote error: tls: ...").
	HandshakeErr error
	// Answered is true when the center answered the HTTP request:
	// application data flowed.
	Answered bool
	// Status is the HTTP status of the answer.
	Status int
	// ReadErr is why no answer came, when none did.
	ReadErr error
	// Closed is when the center closed the connection, for a client that
	// stopped mid-handshake (see StallAfterHello).
	Closed time.Time
	State  tls.ConnectionState
	// Alert is the alert the center sent during the handshake, read on the
	// wire (also when encrypted), "" if none.
	Alert string
	// TicketLifetime is the ticket_lifetime of the center's
	// NewSessionTicket (wall time, as announced); 0 when none arrived.
	TicketLifetime time.Duration
}

// streamConn follows the center's records with a tls13rec.ServerStream fed
// by the harness client's key log: the center's alert and ticket.
type streamConn struct {
	net.Conn
	mu     sync.Mutex
	stream tls13rec.ServerStream
	buf    []byte
}

func (c *streamConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if !c.stream.Done() {
		_, rest := c.stream.Records(append(c.buf, p[:n]...))
		c.buf = bytes.Clone(rest)
	}
	c.mu.Unlock()
	return n, err
}

// VisitOptions bend the harness's client.
type VisitOptions struct {
	// Mutate changes the client's TLS configuration (versions, groups...).
	Mutate func(*tls.Config)
	// StallAfterHello makes the client send its ClientHello and then
	// nothing more (Table 7-5 B); the visit ends when the center closes
	// the connection or after StallLimit (wall time).
	StallAfterHello bool
	StallLimit      time.Duration
	// Sessions, when set, is the client's session cache (resumption).
	Sessions tls.ClientSessionCache
}

// VisitCenterDUT connects to the center DUT as a vehicle with id, runs the
// TLS 1.3 handshake (P-384, SNI, ALPN http/1.1), sends one HTTP/1.1
// request and reads the status line.
func (r *Run) VisitCenterDUT(ctx context.Context, id ClientIdentity, o VisitOptions) (v CenterVisit) {
	v = CenterVisit{Start: time.Now()}
	defer func() { v.End = time.Now() }()
	roots := x509.NewCertPool()
	if b, err := os.ReadFile(r.Profile.DUT.RootCAFile); err == nil {
		roots.AppendCertsFromPEM(b)
	}
	tc := &tls.Config{
		MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13,
		RootCAs: roots, ServerName: r.Profile.Center.Host,
		CurvePreferences:   []tls.CurveID{tls.CurveP384},
		NextProtos:         []string{"http/1.1"},
		ClientSessionCache: o.Sessions,
	}
	if id.ChainFile != "" {
		c, err := tls.LoadX509KeyPair(id.ChainFile, id.KeyFile)
		if err != nil {
			v.HandshakeErr = fmt.Errorf("harness client identity: %w", err)
			return v
		}
		tc.Certificates = []tls.Certificate{c}
	}
	if o.Mutate != nil {
		o.Mutate(tc)
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", r.CenterDUTAddr())
	if err != nil {
		v.HandshakeErr = err
		return v
	}
	defer raw.Close()
	sc := &streamConn{Conn: raw}
	if tc.KeyLogWriter == nil {
		tc.KeyLogWriter = sc.stream.KeyLog()
	}
	defer func() {
		v.Alert = sc.stream.Alert()
		if life, ok := sc.stream.TicketLifetime(); ok {
			v.TicketLifetime = time.Duration(life) * time.Second
		}
	}()
	var conn net.Conn = sc
	var stall *stallConn
	if o.StallAfterHello {
		stall = &stallConn{Conn: sc, limit: o.StallLimit}
		conn = stall
	}
	_ = raw.SetDeadline(time.Now().Add(30 * time.Second))
	c := tls.Client(conn, tc)
	v.HandshakeErr = c.HandshakeContext(ctx)
	if stall != nil {
		v.Closed = stall.closedAt()
		if v.Closed.IsZero() && v.HandshakeErr != nil {
			// The center closed before the client's second flight was
			// due (the client was still busy): the close came no later
			// than now.
			v.Closed = time.Now()
		}
		return v
	}
	v.State = c.ConnectionState()
	if v.HandshakeErr != nil {
		return v
	}
	fmt.Fprintf(c, "GET /icoc/harness HTTP/1.1\r\nHost: %s\r\nUser-Agent: icoc-harness\r\nConnection: close\r\n\r\n", r.Profile.Center.Host)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		v.ReadErr = err
		return v
	}
	resp.Body.Close()
	v.Answered, v.Status = true, resp.StatusCode
	return v
}

// stallConn passes the ClientHello (the first write) and then swallows the
// client's next flight, waiting until the server closes the connection.
type stallConn struct {
	net.Conn
	limit  time.Duration
	mu     sync.Mutex
	writes int
	closed time.Time
}

func (c *stallConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	n := c.writes
	c.mu.Unlock()
	if n == 1 {
		return c.Conn.Write(p)
	}
	limit := c.limit
	if limit <= 0 {
		limit = 30 * time.Second
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(limit))
	buf := make([]byte, 4096)
	var err error
	for err == nil {
		_, err = c.Conn.Read(buf)
	}
	c.mu.Lock()
	c.closed = time.Now()
	c.mu.Unlock()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return 0, fmt.Errorf("the center did not close the connection within %v", limit)
	}
	return 0, fmt.Errorf("the center closed the connection: %w", err)
}

func (c *stallConn) closedAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Refused reports whether the visit ended without application data.
func (v CenterVisit) Refused() bool { return !v.Answered }

// Describe renders the visit for failure messages.
func (v CenterVisit) Describe() string {
	var b strings.Builder
	switch {
	case v.HandshakeErr != nil:
		fmt.Fprintf(&b, "handshake failed: %v", v.HandshakeErr)
	case !v.Answered && v.Alert != "":
		fmt.Fprintf(&b, "handshake completed on the client's side, then the center sent alert %s: %v", v.Alert, v.ReadErr)
	case v.Answered:
		fmt.Fprintf(&b, "handshake completed (%s, %s), HTTP answer %d", tls.VersionName(v.State.Version), tls.CipherSuiteName(v.State.CipherSuite), v.Status)
	default:
		fmt.Fprintf(&b, "handshake completed, then no answer: %v", v.ReadErr)
	}
	return b.String()
}
