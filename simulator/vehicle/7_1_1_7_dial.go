package vehicle

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
)

func init() {
	registerQuirk(QuirkInfo{Name: "tls-handshake-timeout-factor", Clause: "7.1.1.7 Table 7-4 B", Breaks: "waits the 1 s handshake timeout times this factor", Arg: "float"})
}

// dialTLS connects to the center and runs the TLS handshake under Table
// 7-4 rows A to E: the server's answer must come within 1 s (row B, no
// retry); when the certificate cannot be obtained (row A: the connection
// ends before it arrives) or its signature does not verify (row C), the
// vehicle tries once more 1 s later; rows D and E and every other failure
// end the attempt at once. The revocation rows run inside the handshake (VerifyConnection).
// A closed socket is reported as an error, never a signal (7.1.1.4,
// SIGPIPE: Go ignores SIGPIPE on sockets).
func (v *Vehicle) dialTLS(ctx context.Context, network, addr string, tc *tls.Config) (net.Conn, error) {
	if v.cfg.CenterAddr != "" {
		addr = v.cfg.CenterAddr
	}
	return v.dialTLSAt(ctx, network, addr, tc)
}

// dialTLSAt is dialTLS to addr as given (the gRPC port has its own).
func (v *Vehicle) dialTLSAt(ctx context.Context, network, addr string, tc *tls.Config) (net.Conn, error) {
	chk, _ := checkers.Load(v.tls)
	sc, _ := chk.(*serverChecker)
	tc = v.quirkedHello(tc)
	for attempt := 0; ; attempt++ {
		conn, err := v.handshakeOnce(ctx, network, addr, tc)
		if err == nil {
			return conn, nil
		}
		row := rowOf(err)
		if row == "" && !errors.As(err, new(*authError)) {
			row = "A" // the connection ended before the certificate arrived
			var ne net.Error
			var rh tls.RecordHeaderError
			if errors.As(err, &ne) && ne.Timeout() || errors.As(err, &rh) {
				row = "B"
			}
		}
		// Rows F..L retry inside the handshake (the CRL fetch); rows A..E
		// (and a quirk's retries) by a new connection.
		if row == "" || row > "E" || sc == nil {
			return nil, err
		}
		retries, interval := sc.retryOf(row)
		if attempt >= retries {
			v.logf("vehicle: TLS to %s: %v; no more retries (Table 7-4 %s)", addr, err, row)
			return nil, err
		}
		v.logf("vehicle: TLS to %s: %v; retry in %v (Table 7-4 %s)", addr, err, interval, row)
		t := time.NewTimer(v.cfg.wall(interval))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (v *Vehicle) handshakeOnce(ctx context.Context, network, addr string, tc *tls.Config) (net.Conn, error) {
	d := v.cfg.dialer(v.cfg.wall(5 * time.Second))
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, rowErr("A", err)
	}
	// Row B: "1 sec timeout in case of no response" from the server. The
	// revocation check inside the handshake has its own timers, so the
	// deadline covers only the wait for the server's first answer.
	timeout := v.cfg.wall(time.Duration(float64(time.Second) * v.quirks.Float("tls-handshake-timeout-factor", 1)))
	first := &firstReadDeadline{Conn: raw, timeout: timeout}
	conn := tls.Client(first, tc)
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return conn, nil
}

// firstReadDeadline puts a deadline on the first read only: the wait for the
// server's first bytes after the ClientHello.
type firstReadDeadline struct {
	net.Conn
	timeout time.Duration
	started bool
}

func (c *firstReadDeadline) Read(p []byte) (int, error) {
	if !c.started {
		c.started = true
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
		n, err := c.Conn.Read(p)
		_ = c.Conn.SetReadDeadline(time.Time{})
		return n, err
	}
	return c.Conn.Read(p)
}
