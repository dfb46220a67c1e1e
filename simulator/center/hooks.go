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
	// Service names the mounted service the connection came to (see
	// Mount); "" for the vehicle APIs of 7.2.
	Service string
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
	// Alert is the TLS alert the center itself sent during the handshake
	// (RFC 8446 §6 name, e.g. "bad_certificate"), "" when it sent none.
	Alert string
	// TicketLifetime is the ticket_lifetime of the NewSessionTicket the
	// center sent; 0 when it sent none (or, under a quirk, left crypto/tls's).
	TicketLifetime time.Duration
}

// Protocol names the application protocol of an Exchange. Every protocol
// the center speaks turns what it receives into Exchanges and passes them
// through the same hooks, so one recorder and one fault plan serve all.
type Protocol string

// The protocols of the center. The zero Protocol is HTTP (HTTP/1.1 or
// HTTP/2; Exchange.Proto says which).
const (
	ProtoHTTP Protocol = "http"
	ProtoGRPC Protocol = "grpc"
	ProtoMQTT Protocol = "mqtt"
	// ProtoTLS is a TLS handshake on the timeline; ProtoDNS a DNS query to
	// a server of the harness (neither is an Exchange of the center).
	ProtoTLS Protocol = "tls"
	ProtoDNS Protocol = "dns"
)

// Or returns p, or ProtoHTTP when p is empty.
func (p Protocol) Or() Protocol {
	if p == "" {
		return ProtoHTTP
	}
	return p
}

// Message is one application message of an exchange as it crossed the
// wire: a gRPC length-prefixed message, an MQTT PUBLISH payload.
type Message struct {
	At time.Time
	// Len is the message's length on the wire (compressed when Compressed).
	Len        int
	Compressed bool
	// Size is the message's length before compression (the serialized
	// protobuf message for gRPC); equal to Len when not Compressed.
	Size int
}

// Exchange is one request as the center received it, in any protocol: an
// HTTP request, a gRPC call, an MQTT packet that expects an answer. Body is
// the request body (for HTTP after any Content-Encoding was removed; nil
// for gRPC, whose messages Messages and Key describe); RawBodyLen is its
// length on the wire. For gRPC, Method is "POST", Path
// the full method (/CanService/SendCans), Header the request metadata; for
// MQTT, Method is the packet type (CONNECT, PUBLISH, SUBSCRIBE, ...), Path
// the topic, Header the properties.
type Exchange struct {
	// Protocol is the exchange's protocol; empty means ProtoHTTP.
	Protocol   Protocol
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
	// Messages are the application messages of a streaming exchange, in
	// arrival order (empty for HTTP).
	Messages []Message
	// Key identifies the request the exchange carries, so that a retry of
	// the same request has the same Key and another request a different
	// one (for an upload: its file name). Empty means Method and Path.
	Key string
	// VIN is the vehicle identity bound to the client certificate (its
	// subject common name), empty when there is none.
	VIN string
	// Service names the mounted service the request came to; "" for the
	// vehicle APIs. For a service, Header also holds the request's Host.
	Service string
	// Host is the request's Host (or HTTP/2 :authority).
	Host string
	// ReplyHeader holds header fields hooks add to whatever answer the
	// request gets (e.g. a fault plan's rate-limit counters on an answer
	// the API gives); nil until a hook adds one.
	ReplyHeader http.Header
	// Malformed, when set, says what the HTTP stack refused in this request
	// before any handler ran (a malformed request line or header, a missing
	// Host, ...); Method, Path and Header are then what could be read of it.
	// The hooks see such a request, but cannot answer it: the center answers
	// with the stack's status and an ERROR Result.
	Malformed string
	// Abandoned is set before OnAnswer when the client went away before
	// the answer was written (it gave up waiting, or reset the stream).
	Abandoned bool
}

// RequestKey is x.Key, or Method and Path when the protocol set none.
func (x *Exchange) RequestKey() string {
	if x.Key != "" {
		return x.Key
	}
	return x.Method + " " + x.Path
}

// Answer is what the center sends back for an Exchange. A zero Status means
// "no answer from this hook". When Stall is positive the center holds the
// request that long (wall time) before answering, or until the client goes
// away; when Drop is set it closes the connection without an answer.
type Answer struct {
	// Status is the HTTP status (for gRPC the HTTP status of the response,
	// 200 unless a fault sends a raw one; for MQTT unused).
	Status int
	// Code is the protocol's own status where it is not HTTP's: the gRPC
	// status code (Table 7-20), or the MQTT reason code (Tables 7-21 to
	// 7-24). Message goes with it (grpc-message, MQTT Reason String).
	Code    int
	Message string
	// Reason, when set, replaces the standard reason phrase (HTTP/1.1 only;
	// HTTP/2 has none). 7.2.2.4: a client must not read it.
	Reason string
	Header http.Header
	Body   []byte
	Stall  time.Duration
	Drop   bool
	// AppStatus, for gRPC, is the application status the response message
	// carries with code 0 (1 RETRYAFTER, 2 BUSY; Tables 7-14 to 7-19), and
	// RetryAfterSec its retry_after_sec; 0 means the API's own answer.
	AppStatus     int
	RetryAfterSec uint32
	// Reset, for HTTP/2 and gRPC, resets the request's stream (RST_STREAM)
	// instead of answering; GoAway sends GOAWAY on its connection after the
	// answer, so the client must open a new connection for the next one.
	Reset  bool
	GoAway bool
	// Withhold sends no answer and keeps the connection (Fault.Withhold).
	Withhold bool
	// Disconnect closes with the protocol's own close carrying Code
	// (Fault.Disconnect: an MQTT DISCONNECT).
	Disconnect bool
	// By names the hook or API that produced the answer.
	By string
}

// Decided reports whether a hook's Answer decides the exchange: it has a
// Status or a Code, drops, or names the hook that made it.
func (a Answer) Decided() bool {
	return a.Status != 0 || a.Code != 0 || a.Drop || a.Reset || a.AppStatus != 0 || a.Withhold || a.Disconnect || a.By != ""
}

// Hook extends the center at the events it provides. Hooks are called in the
// order they were added; for OnRequest the first hook whose Answer is
// Decided decides the answer, and the API is not called. Hook methods may be called from many goroutines at once.
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

// OnOutbound is the event of a request the center itself is about to send
// (a push to a vehicle, 7.2.3.9.2). Hooks that provide it implement
// OutboundHook; Hook itself does not have the method, so existing hooks
// are unaffected.
const OnOutbound Event = 100

// Outbound is a request the center is about to send. Kind names it
// ("vehicle-push"), Peer is whom it goes to (a VIN), Path the request path.
type Outbound struct {
	Kind   string
	Peer   string
	Method string
	Path   string
	At     time.Time
}

// OutboundHook is a hook that may answer a request the center is about to
// send instead of the peer (a fault plan's unreachable or slow vehicle):
// Drop means the peer cannot be reached, a non-zero Status is the peer's
// answer; a zero Answer lets the request go.
type OutboundHook interface {
	OnOutbound(o *Outbound) Answer
}

// Outbound offers o to the hooks that provide OnOutbound and returns the
// first answer that is not zero; a zero Answer means "send it".
func (s *Server) Outbound(o *Outbound) Answer {
	if o.At.IsZero() {
		o.At = time.Now()
	}
	for _, h := range s.hooksFor(OnOutbound) {
		oh, ok := h.(OutboundHook)
		if !ok {
			continue
		}
		if a := oh.OnOutbound(o); a.Status != 0 || a.Drop {
			if a.By == "" {
				a.By = h.ID()
			}
			return a
		}
	}
	return Answer{}
}
