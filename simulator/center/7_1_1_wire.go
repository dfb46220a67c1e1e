package center

import (
	"bytes"
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/internal/tls13rec"
)

func init() {
	registerQuirk(QuirkInfo{Name: "ticket-lifetime-7d", Clause: "7.1.1.4 (I-053)", Breaks: "announces crypto/tls's ticket_lifetime of 7 days instead of the 12 h session timeout"})
}

// wireConn sits between a connection and the center's crypto/tls server
// and follows what the server writes during the handshake (a
// tls13rec.ServerStream fed by the connection's KeyLogWriter): it notes the
// alert the center sends, and sets the ticket_lifetime of the
// NewSessionTicket to the center's session lifetime (7.1.1.4, register
// I-053: crypto/tls always announces 7 days). After the handshake every
// write passes untouched.
type wireConn struct {
	net.Conn
	stream  tls13rec.ServerStream
	mu      sync.Mutex
	pending []byte // an incomplete record
}

// newWireConn wraps c; lifetime is the ticket_lifetime to announce (0
// leaves crypto/tls's).
func newWireConn(c net.Conn, lifetime time.Duration) *wireConn {
	w := &wireConn{Conn: c}
	if lifetime > 0 {
		life := uint32(max(1, min(lifetime/time.Second, 7*24*3600)))
		w.stream.Amend = func(typ byte, content []byte) []byte {
			if typ != tls13rec.TypeHandshake || len(content) < 8 || content[0] != 4 {
				return nil
			}
			out := bytes.Clone(content)
			binary.BigEndian.PutUint32(out[4:8], life)
			return out
		}
	}
	return w
}

// Write passes the handshake's records through the stream.
func (w *wireConn) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.stream.Done() && len(w.pending) == 0 {
		w.mu.Unlock()
		return w.Conn.Write(p)
	}
	out, rest := w.stream.Records(append(w.pending, p...))
	w.pending = bytes.Clone(rest)
	if w.stream.Done() {
		out, w.pending = append(out, w.pending...), nil
	}
	w.mu.Unlock()
	if len(out) > 0 {
		if _, err := w.Conn.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// sent returns the alert the center sent ("" if none) and the ticket
// lifetime it announced (0 if no ticket was seen).
func (w *wireConn) sent() (string, time.Duration) {
	life, ok := w.stream.TicketLifetime()
	if !ok {
		return w.stream.Alert(), 0
	}
	return w.stream.Alert(), time.Duration(life) * time.Second
}
