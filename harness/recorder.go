package harness

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
)

// Attempt is one exchange on the timeline: a request the harness's center
// saw, in any protocol (an HTTP request, a gRPC call, an MQTT packet that
// expects an answer), with the facts of its connection and what it
// answered. Times are wall times; convert gaps with the Clock.
type Attempt struct {
	Seq uint64
	// Protocol is the exchange's protocol (center.ProtoHTTP, ProtoGRPC,
	// ProtoMQTT); never empty.
	Protocol center.Protocol
	// Key identifies the request the attempt carries: its retries have the
	// same Key, another request a different one (see ByRequest).
	Key    string
	ConnID uint64
	// Reused is true when an earlier attempt came over the same connection
	// (HTTP/2, or HTTP/1.1 keep-alive).
	Reused       bool
	ConnAccepted time.Time
	Handshake    HandshakeFacts
	ReceivedAt   time.Time
	AnsweredAt   time.Time
	Method       string
	Path         string
	Proto        string
	Header       http.Header
	// BodyLen is the body's length after any Content-Encoding was removed;
	// RawBodyLen its length on the wire.
	BodyLen    int
	RawBodyLen int
	BodySHA256 string
	// DecodeErr says why the body did not decode by its Content-Encoding
	// (center.Exchange.DecodeErr); "" when it did or had none.
	DecodeErr string
	// Messages are the application messages of a streaming exchange (gRPC),
	// as they crossed the wire.
	Messages []center.Message
	// Status is the HTTP status answered (0 when abandoned or dropped);
	// Code the protocol's own status (gRPC code, MQTT reason code).
	Status     int
	Code       int
	AnsweredBy string
	Dropped    bool
	// Abandoned is true when the DUT went away before the answer was
	// written (it gave up waiting, or reset the stream); AnsweredAt is then
	// when it went away, and Planned what the center would have answered.
	Abandoned bool
	Planned   int
	// TimedOut is true when no answer reached the DUT and AnsweredAt is
	// when the DUT's own timeout ran out (a muted link, an unanswered DNS
	// query): the attempt ended there for the DUT.
	TimedOut bool
	// Malformed says what the center's HTTP stack refused in the request
	// before any handler ran (center.Exchange.Malformed), "" otherwise.
	Malformed string
	// AppStatus and RetryAfterSec are the application status a gRPC answer
	// with code 0 carried (1 RETRYAFTER, 2 BUSY; 0 OK).
	AppStatus     int
	RetryAfterSec uint32
	// Reset is true when the center reset the stream (RST_STREAM) instead
	// of answering.
	Reset bool
	// Service is the mounted service the request came to (e.g. "exve"),
	// "" for the vehicle APIs.
	Service string
	// Sent and Got are the messages themselves for exchanges the harness
	// made as a client (ProtoVISS): the request as sent, the answer or
	// event as received; nil otherwise (a capture holds those).
	Sent, Got []byte
}

// ProtoVISS is the protocol of the VISS exchanges of the harness's VISS
// client on the timeline (Recorder.Note): Key is the requestId (an event's:
// its subscriptionId), Method the action, Path the path, Status 200 for a
// success and the error number otherwise (an HTTPS exchange, Proto
// "HTTPS": its HTTP status). ReceivedAt is when the client sent the
// request, AnsweredAt when its answer arrived (an event: both its arrival).
const ProtoVISS center.Protocol = "viss"

// Start is when the attempt began as the DUT sees it: the connection's
// arrival for a new connection (so TLS set-up does not count against the
// DUT), the request's arrival on a reused one.
func (a Attempt) Start() time.Time {
	if a.Reused {
		return a.ReceivedAt
	}
	return a.ConnAccepted
}

// HandshakeFacts are the TLS facts of one handshake as the recorder keeps
// them.
type HandshakeFacts struct {
	Version     string
	CipherSuite string
	Group       string
	Resumed     bool
	ALPN        string
	SNI         string
	ClientCN    string
	Err         string
	// Alert is the TLS alert the center sent (center.HandshakeInfo.Alert).
	Alert string
}

func factsOf(h center.HandshakeInfo) HandshakeFacts {
	f := HandshakeFacts{
		Version:     tls.VersionName(h.Version),
		CipherSuite: tls.CipherSuiteName(h.CipherSuite),
		Group:       h.Group.String(),
		Resumed:     h.Resumed,
		ALPN:        h.ALPN,
		SNI:         h.SNI,
	}
	if len(h.PeerCertificates) > 0 {
		f.ClientCN = h.PeerCertificates[0].Subject.CommonName
	}
	if h.Err != nil {
		f.Err = h.Err.Error()
	}
	f.Alert = h.Alert
	return f
}

// Recorder is the timeline: a center hook that records every connection,
// ClientHello, handshake and exchange of every protocol the harness's
// center speaks. It answers nothing. Safe for concurrent use.
type Recorder struct {
	center.HookBase
	mu         sync.Mutex
	attempts   []Attempt
	pending    map[uint64]int // exchange Seq -> index in attempts
	connsSeen  map[uint64]bool
	conns      []center.ConnInfo
	hellos     []center.ClientHello
	handshakes []center.HandshakeInfo
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{pending: map[uint64]int{}, connsSeen: map[uint64]bool{}}
}

// ID returns "recorder".
func (r *Recorder) ID() string { return "recorder" }

// Provides returns true for every event.
func (r *Recorder) Provides(center.Event) bool { return true }

// OnConnect records the connection.
func (r *Recorder) OnConnect(c center.ConnInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns = append(r.conns, c)
}

// OnHandshake records the handshake, good or failed.
func (r *Recorder) OnHandshake(h center.HandshakeInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handshakes = append(r.handshakes, h)
}

// OnClientHello records a ClientHello (registered with
// center.Server.OnClientHello).
func (r *Recorder) OnClientHello(h center.ClientHello) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hellos = append(r.hellos, h)
}

// Connections returns the connections accepted at or after since.
func (r *Recorder) Connections(since time.Time) []center.ConnInfo {
	return recordedSince(r, r.conns, since, func(c center.ConnInfo) time.Time { return c.AcceptedAt })
}

// Handshakes returns the handshakes (good and failed) on connections
// accepted at or after since, in the order they ended.
func (r *Recorder) Handshakes(since time.Time) []center.HandshakeInfo {
	return recordedSince(r, r.handshakes, since, func(h center.HandshakeInfo) time.Time { return h.Conn.AcceptedAt })
}

// ClientHellos returns the ClientHellos received at or after since.
func (r *Recorder) ClientHellos(since time.Time) []center.ClientHello {
	return recordedSince(r, r.hellos, since, func(h center.ClientHello) time.Time { return h.At })
}

// recordedSince returns, under r's lock, the records of all whose time is
// at or after since, in recorded order.
func recordedSince[T any](r *Recorder, all []T, since time.Time, at func(T) time.Time) []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []T
	for _, x := range all {
		if !at(x).Before(since) {
			out = append(out, x)
		}
	}
	return out
}

// OnRequest records the request and answers nothing.
func (r *Recorder) OnRequest(x *center.Exchange) center.Answer {
	sum := sha256.Sum256(x.Body)
	a := Attempt{
		Seq:          x.Seq,
		Protocol:     x.Protocol.Or(),
		Key:          x.RequestKey(),
		Messages:     append([]center.Message(nil), x.Messages...),
		ConnID:       x.Conn.ID,
		ConnAccepted: x.Conn.AcceptedAt,
		Handshake:    factsOf(x.TLS),
		ReceivedAt:   x.ReceivedAt,
		Method:       x.Method,
		Path:         x.Path,
		Proto:        x.Proto,
		Header:       x.Header.Clone(),
		BodyLen:      len(x.Body),
		RawBodyLen:   x.RawBodyLen,
		BodySHA256:   hex.EncodeToString(sum[:]),
		Malformed:    x.Malformed,
		DecodeErr:    x.DecodeErr,
		Service:      x.Service,
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a.Reused = r.connsSeen[x.Conn.ID]
	r.connsSeen[x.Conn.ID] = true
	r.pending[x.Seq] = len(r.attempts)
	r.attempts = append(r.attempts, a)
	return center.Answer{}
}

// OnAnswer completes the attempt with what was answered and when.
func (r *Recorder) OnAnswer(x *center.Exchange, a center.Answer, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.pending[x.Seq]
	if !ok {
		return
	}
	delete(r.pending, x.Seq)
	at0 := &r.attempts[i]
	at0.AnsweredAt = at
	at0.Status, at0.Code = a.Status, a.Code
	at0.AppStatus, at0.RetryAfterSec, at0.Reset = a.AppStatus, a.RetryAfterSec, a.Reset
	at0.AnsweredBy = a.By
	at0.Dropped = a.Drop
	at0.Messages = append([]center.Message(nil), x.Messages...)
	if x.Key != "" {
		at0.Key = x.Key // a streaming protocol may learn the key late
	}
	if x.Abandoned {
		at0.Abandoned, at0.Planned, at0.Status, at0.Code = true, a.Status, 0, 0
	}
}

// Note puts an exchange the harness itself made as a client (a VISS
// request, a received event) on the timeline, and returns its handle for
// Settle. Its Seq is left as given (0 for a client's exchange: Seq numbers
// the center's exchanges). Safe on a nil Recorder (returns -1).
func (r *Recorder) Note(a Attempt) int {
	if r == nil {
		return -1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, a)
	return len(r.attempts) - 1
}

// Settle changes the noted attempt h (its answer arrived, say) under the
// recorder's lock; a handle of -1 or out of range changes nothing.
func (r *Recorder) Settle(h int, f func(*Attempt)) {
	if r == nil || h < 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if h < len(r.attempts) {
		f(&r.attempts[h])
	}
}

// Attempts returns a copy of the attempts that match keep (all when nil), in
// arrival order. An attempt still being answered has a zero AnsweredAt.
func (r *Recorder) Attempts(keep func(Attempt) bool) []Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Attempt
	for _, a := range r.attempts {
		if keep == nil || keep(a) {
			out = append(out, a)
		}
	}
	return out
}

// Timeline renders attempts for a failure message, times in spec seconds
// from the first one.
func Timeline(attempts []Attempt, c Clock) string {
	if len(attempts) == 0 {
		return "  (no attempt recorded)"
	}
	var b strings.Builder
	t0 := attempts[0].Start()
	for i, a := range attempts {
		conn := "new connection"
		if a.Reused {
			conn = "reused connection"
		}
		fmt.Fprintf(&b, "  #%d at %6.2fs spec: %s (%s) -> %s", i+1, c.Spec(a.Start().Sub(t0)).Seconds(), a.Request(), conn, a.Outcome())
		if i > 0 && !attempts[i-1].AnsweredAt.IsZero() {
			fmt.Fprintf(&b, ", %.2fs after answer #%d", c.Spec(a.Start().Sub(attempts[i-1].AnsweredAt)).Seconds(), i)
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// During reports whether the attempt began or ended in [from, to] (a
// spec's window): what the evidence of that spec shows.
func (a Attempt) During(from, to time.Time) bool {
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && !t.After(to) }
	return in(a.Start()) || in(a.ReceivedAt) || in(a.AnsweredAt)
}

// ExchangeLog renders attempts for a spec's evidence: each one as Timeline
// renders it, after its wall-clock start (UTC), and below it the messages
// of an exchange the harness made as a client (Sent, Got) as they crossed
// the wire.
func ExchangeLog(attempts []Attempt, c Clock) string {
	if len(attempts) == 0 {
		return "(no exchange recorded)\n"
	}
	lines := strings.Split(Timeline(attempts, c), "\n")
	var b strings.Builder
	for i, a := range attempts {
		line := ""
		if i < len(lines) {
			line = strings.TrimLeft(lines[i], " ")
		}
		fmt.Fprintf(&b, "%s %s\n", a.Start().UTC().Format("15:04:05.000000"), line)
		if a.Sent != nil {
			fmt.Fprintf(&b, "    sent:     %s\n", oneLine(a.Sent))
		}
		if a.Got != nil {
			at := ""
			if !a.AnsweredAt.IsZero() {
				at = " at " + a.AnsweredAt.UTC().Format("15:04:05.000000")
			}
			fmt.Fprintf(&b, "    received%s: %s\n", at, oneLine(a.Got))
		}
	}
	return b.String()
}

// oneLine keeps a message on one line (its newlines escaped).
func oneLine(b []byte) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(string(b))
}

// Request renders what the attempt asked, in its protocol's terms.
func (a Attempt) Request() string {
	switch a.Protocol {
	case center.ProtoGRPC:
		s := "gRPC " + a.Path
		if n := len(a.Messages); n > 0 {
			s += fmt.Sprintf(" [%d message(s)]", n)
		}
		return s
	case center.ProtoMQTT:
		if a.Header.Get(center.MQTTDirection) == center.MQTTOutbound {
			return strings.TrimSpace("MQTT " + a.Method + " to the client " + a.Path)
		}
		return strings.TrimSpace("MQTT " + a.Method + " " + a.Path)
	case center.ProtoTLS:
		return "TLS handshake"
	case center.ProtoDNS:
		return "DNS " + a.Method + " query for " + a.Path
	case ProtoVISS:
		switch {
		case a.Method == "subscription":
			return "VISS event of subscription " + a.Key
		case a.Proto == "HTTPS":
			return "VISS over HTTPS " + a.Method + " " + a.Path
		}
		return strings.TrimSpace("VISS " + a.Method + " " + a.Path + " (requestId " + a.Key + ")")
	}
	return a.Method + " " + a.Path + " " + a.Proto
}

// Outcome renders how the attempt ended, in its protocol's terms: the
// status answered, dropped, abandoned by the DUT, or still open.
func (a Attempt) Outcome() string {
	switch {
	case a.Abandoned:
		return fmt.Sprintf("abandoned by the DUT after %s (the center would have answered %s)",
			a.AnsweredAt.Sub(a.ReceivedAt).Round(time.Millisecond), a.answer(a.Planned))
	case a.Malformed != "" && a.Dropped:
		return "refused by the HTTP stack: " + a.Malformed
	case a.Dropped:
		return "connection dropped by the center"
	case a.Reset:
		return "stream reset by the center (RST_STREAM)"
	case a.AnsweredAt.IsZero():
		return "not answered yet"
	case a.TimedOut:
		return fmt.Sprintf("no answer reached the DUT; its %s wait ran out", a.AnsweredAt.Sub(a.ReceivedAt).Round(time.Millisecond))
	case a.Malformed != "":
		return a.answer(a.Status) + " by the HTTP stack: " + a.Malformed
	case a.Protocol == center.ProtoTLS:
		if a.Handshake.Err == "" {
			return "completed"
		}
		if a.Handshake.Alert != "" {
			return fmt.Sprintf("failed after %s: %s (the center sent alert %s)", a.AnsweredAt.Sub(a.ConnAccepted).Round(time.Millisecond), a.Handshake.Err, a.Handshake.Alert)
		}
		return fmt.Sprintf("failed after %s: %s", a.AnsweredAt.Sub(a.ConnAccepted).Round(time.Millisecond), a.Handshake.Err)
	}
	return a.answer(a.Status)
}

// HandshakeAttempts puts TLS handshakes on the timeline: one attempt per
// handshake (Key "TLS handshake"), starting when its connection was
// accepted and ending when the handshake ended, well or badly, so that
// FollowRetryPattern judges how a DUT repeats refused handshakes.
func HandshakeAttempts(hs []center.HandshakeInfo) []Attempt {
	out := make([]Attempt, len(hs))
	for i, h := range hs {
		out[i] = Attempt{Protocol: center.ProtoTLS, Key: "TLS handshake", ConnID: h.Conn.ID, ConnAccepted: h.Conn.AcceptedAt,
			ReceivedAt: h.Conn.AcceptedAt, AnsweredAt: h.Done, Handshake: factsOf(h)}
	}
	return out
}

// FetchAttempts puts the requests the harness's CDP/OCSP responder
// received on the timeline, one attempt each (Key: the path), from its
// arrival to its answer (or the dropped connection).
func FetchAttempts(fs []center.Fetch) []Attempt {
	out := make([]Attempt, len(fs))
	for i, f := range fs {
		out[i] = Attempt{Protocol: center.ProtoHTTP, Key: f.Path, Method: strings.ToUpper(f.Kind), Path: f.Host + f.Path, ReceivedAt: f.At, ConnAccepted: f.At,
			AnsweredAt: f.Done, Status: f.Status, Dropped: f.Status == 0, AnsweredBy: f.Fault}
	}
	return out
}

func (a Attempt) answer(status int) string {
	switch a.Protocol {
	case center.ProtoGRPC:
		if status != 0 && status != 200 {
			return fmt.Sprintf("HTTP %d without grpc-status", status)
		}
		if row, ok := spec.GRPCStatusFor(a.Code); ok {
			s := fmt.Sprintf("%s (%d)", row.Name, a.Code)
			switch a.AppStatus {
			case 1:
				s += fmt.Sprintf(" with status RETRYAFTER, retry_after_sec %d", a.RetryAfterSec)
			case 2:
				s += " with status BUSY"
			}
			return s
		}
		return fmt.Sprintf("gRPC code %d", a.Code)
	case center.ProtoMQTT:
		return fmt.Sprintf("reason code 0x%02X", a.Code)
	case ProtoVISS:
		switch {
		case a.Method == "subscription":
			return "received"
		case a.Proto == "HTTPS":
			return fmt.Sprintf("HTTP %d", status)
		}
		if status == 200 {
			return "answered without an error"
		}
		return fmt.Sprintf("error %d", status)
	}
	return strconv.Itoa(status)
}

// ByRequest splits attempts by request (Attempt.Key), each request's
// attempts in arrival order and the requests in the order of their first
// attempt: a retry repeats its request's Key, another request (another
// file) starts a group of its own. Judge each group with
// FollowRetryPattern.
func ByRequest(attempts []Attempt) [][]Attempt {
	var out [][]Attempt
	at := map[string]int{}
	for _, a := range attempts {
		i, ok := at[a.Key]
		if !ok {
			i = len(out)
			at[a.Key] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], a)
	}
	return out
}

// UploadOf keeps the data uploads (POST /files/{filename}) whose file name
// carries request ID id (Appendix 1 §2 <request ID>), compared as a
// decimal number so that any zero padding the DUT chooses matches. A name
// that does not parse still matches when one of its underscore-separated
// fields is that number: the file-name spec judges the name itself.
func UploadOf(id uint32) func(Attempt) bool {
	isID := func(field string) bool {
		n, err := strconv.ParseUint(field, 10, 32)
		return err == nil && uint32(n) == id
	}
	return func(a Attempt) bool {
		dir, name := path.Split(a.Path)
		if dir != "/files/" {
			return false
		}
		if fn, err := spec.ParseFileName(name); err == nil {
			return isID(fn.RequestID)
		}
		for _, f := range strings.Split(strings.TrimSuffix(name, path.Ext(name)), "_") {
			if isID(f) {
				return true
			}
		}
		return false
	}
}

var requestIDs atomic.Uint32

func init() { requestIDs.Store(uint32(time.Now().Unix() % 1000000)) }

// NextRequestID hands out a fresh request ID for a stimulus (upload, API
// call, download), so each spec picks its own attempts out of the recorder.
func NextRequestID() uint32 { return requestIDs.Add(1) }
