package center

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"time"
)

// Event names one point in the life of a connection or an exchange at which
// the center calls its hooks. A hook is called only for the events its
// Provides method accepts.
type Event int

const (
	// OnConnect fires when a TCP connection has been accepted, before the
	// TLS handshake.
	OnConnect Event = iota
	// OnHandshake fires when a TLS handshake has finished, well or badly.
	OnHandshake
	// OnRequest fires when a whole HTTP request (body read) has arrived; a
	// hook may answer it instead of the API.
	OnRequest
	// OnAnswer fires after the answer to a request has been written (or the
	// stall was released).
	OnAnswer
)

// ConnInfo identifies one accepted connection. ID is unique per Server and
// increases in accept order.
type ConnInfo struct {
	ID         uint64
	RemoteAddr string
	LocalAddr  string
	AcceptedAt time.Time
}

// HandshakeInfo holds the TLS facts of one finished handshake. Err is nil
// exactly when the handshake succeeded; the other fields are filled as far as
// the handshake got.
type HandshakeInfo struct {
	Conn        ConnInfo
	Started     time.Time
	Done        time.Time
	Err         error
	Version     uint16
	CipherSuite uint16
	Group       tls.CurveID
	Resumed     bool
	ALPN        string
	SNI         string
	// PeerCertificates is the client's chain as sent, leaf first.
	PeerCertificates []*x509.Certificate
}

// Exchange is one HTTP request as the center received it. Body is the
// request body after any Content-Encoding was removed; RawBodyLen is its
// length on the wire.
type Exchange struct {
	Conn       ConnInfo
	TLS        HandshakeInfo
	Seq        uint64
	ReceivedAt time.Time
	Method     string
	Path       string
	Proto      string
	Header     http.Header
	Body       []byte
	RawBodyLen int
	// DecodeErr says why the body could not be decoded by its
	// Content-Encoding (e.g. labelled gzip but not gzip: Body is then the
	// body as it came); "" when it was decoded or had no coding.
	DecodeErr string
	// VIN is the vehicle identity bound to the client certificate (its
	// subject common name), empty when there is none.
	VIN string
}

// Answer is what the center sends back for an Exchange. A zero Status means
// "no answer from this hook". When Stall is positive the center holds the
// request that long (wall time) before answering, or until the client goes
// away; when Drop is set it closes the connection without an answer.
type Answer struct {
	Status int
	// Reason, when set, replaces the standard reason phrase (HTTP/1.1 only;
	// HTTP/2 has none). 7.2.2.4: a client must not read it.
	Reason string
	Header http.Header
	Body   []byte
	Stall  time.Duration
	Drop   bool
	// By names the hook or API that produced the answer.
	By string
}

// Hook extends the center at the events it provides. Hooks are called in the
// order they were added; for OnRequest the first hook that returns an Answer
// with a non-zero Status (or Drop) decides the answer, and the API is not
// called. Hook methods may be called from many goroutines at once.
type Hook interface {
	// ID names the hook in logs and in Answer.By.
	ID() string
	// Provides reports whether the hook wants to be called at e.
	Provides(e Event) bool
	OnConnect(c ConnInfo)
	OnHandshake(h HandshakeInfo)
	OnRequest(x *Exchange) Answer
	OnAnswer(x *Exchange, a Answer, answeredAt time.Time)
}

// HookBase implements every Hook method as a no-op that provides nothing;
// embed it and override what a hook needs.
type HookBase struct{}

// ID returns "base".
func (HookBase) ID() string { return "base" }

// Provides returns false for every event.
func (HookBase) Provides(Event) bool { return false }

// OnConnect does nothing.
func (HookBase) OnConnect(ConnInfo) {}

// OnHandshake does nothing.
func (HookBase) OnHandshake(HandshakeInfo) {}

// OnRequest gives no answer.
func (HookBase) OnRequest(*Exchange) Answer { return Answer{} }

// OnAnswer does nothing.
func (HookBase) OnAnswer(*Exchange, Answer, time.Time) {}
