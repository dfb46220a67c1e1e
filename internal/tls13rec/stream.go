package tls13rec

import (
	"encoding/binary"
	"encoding/hex"
	"io"
	"strings"
	"sync"
)

// ServerStream follows the records a TLS 1.3 server sends during the
// handshake, given the server's traffic secrets through KeyLog (the
// KeyLogWriter of the crypto/tls side that knows them, client or server):
// it notes the first alert the server sends, in plaintext or encrypted,
// and reads the first record under the server's application traffic
// secret (the NewSessionTicket, or the alert that refuses the client),
// which Amend may replace. After that record it is Done and passes every
// record untouched. Safe for concurrent use.
type ServerStream struct {
	// Amend, when set, is offered the content of the first record under
	// the application traffic secret; a non-nil result replaces it, sealed
	// under the same key and sequence number (the original is never sent,
	// so no nonce protects two ciphertexts).
	Amend func(typ byte, content []byte) []byte

	mu       sync.Mutex
	done     bool
	suite    uint16
	hsSecret []byte
	apSecret []byte
	hs, ap   *Protection
	alert    string
	ticket   uint32
	ticketOK bool
}

// KeyLog is the io.Writer to give crypto/tls as KeyLogWriter for this one
// connection.
func (s *ServerStream) KeyLog() io.Writer { return keyLogWriter{s} }

type keyLogWriter struct{ s *ServerStream }

func (k keyLogWriter) Write(line []byte) (int, error) {
	f := strings.Fields(string(line))
	if len(f) != 3 {
		return len(line), nil
	}
	secret, err := hex.DecodeString(f[2])
	if err != nil {
		return len(line), nil
	}
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	switch f[0] {
	case "SERVER_HANDSHAKE_TRAFFIC_SECRET":
		k.s.hsSecret = secret
	case "SERVER_TRAFFIC_SECRET_0":
		k.s.apSecret = secret
	}
	return len(line), nil
}

// Done reports whether the stream has passed its first record under the
// application traffic secret.
func (s *ServerStream) Done() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Alert is the first alert the server sent (RFC 8446 §6 name), "" if none.
func (s *ServerStream) Alert() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.alert
}

// TicketLifetime is the ticket_lifetime (seconds) of the server's first
// NewSessionTicket as sent, after Amend; ok is false when none was seen.
func (s *ServerStream) TicketLifetime() (uint32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ticket, s.ticketOK
}

// Records passes the whole records in b through Record and returns the
// bytes to send on; rest is an incomplete record to come back with more.
func (s *ServerStream) Records(b []byte) (out, rest []byte) {
	recs, rest := Records(b)
	for _, r := range recs {
		out = append(out, s.Record(r)...)
	}
	return out, rest
}

// Record inspects one whole record of the server and returns it, or its
// amended form.
func (s *ServerStream) Record(r []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done || len(r) < HeaderLen {
		return r
	}
	frag := r[HeaderLen:]
	switch r[0] {
	case TypeAlert:
		if len(frag) >= 2 && s.alert == "" {
			s.alert = AlertName(frag[1])
		}
		return r
	case TypeHandshake:
		if len(frag) > 4+2+32+1 && frag[0] == 2 { // ServerHello: its cipher suite
			if off := 4 + 2 + 32 + 1 + int(frag[4+2+32]); len(frag) >= off+2 {
				s.suite = binary.BigEndian.Uint16(frag[off:])
			}
		}
		return r
	case TypeApplicationData:
	default:
		return r
	}
	if s.suite == 0 {
		return r
	}
	if s.hs == nil && s.hsSecret != nil {
		s.hs, _ = New(s.suite, s.hsSecret)
	}
	if s.ap == nil && s.apSecret != nil {
		s.ap, _ = New(s.suite, s.apSecret)
	}
	if s.hs != nil {
		if _, _, err := s.hs.Open(r); err == nil {
			return r // a record of the server's encrypted flight
		}
	}
	if s.ap == nil {
		return r
	}
	typ, content, err := s.ap.Open(r)
	s.done = true
	if err != nil {
		return r // not a record we can read: leave the stream alone
	}
	if typ == TypeAlert && len(content) >= 2 && s.alert == "" {
		s.alert = AlertName(content[1])
	}
	out := r
	if s.Amend != nil {
		if amended := s.Amend(typ, content); amended != nil {
			s.ap.Seq--
			out, content = s.ap.Seal(typ, amended), amended
		}
	}
	if typ == TypeHandshake && len(content) >= 8 && content[0] == 4 { // NewSessionTicket
		s.ticket, s.ticketOK = binary.BigEndian.Uint32(content[4:8]), true
	}
	return out
}
