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
}

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
	return f
}

// Recorder is a center hook that records every connection, handshake and
// exchange. It answers nothing. Safe for concurrent use.
type Recorder struct {
	center.HookBase
	mu        sync.Mutex
	attempts  []Attempt
	pending   map[uint64]int // exchange Seq -> index in attempts
	connsSeen map[uint64]bool
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{pending: map[uint64]int{}, connsSeen: map[uint64]bool{}}
}

// ID returns "recorder".
func (r *Recorder) ID() string { return "recorder" }

// Provides returns true for requests and answers.
func (r *Recorder) Provides(e center.Event) bool {
	return e == center.OnRequest || e == center.OnAnswer
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
	case a.Dropped:
		return "connection dropped by the center"
	case a.AnsweredAt.IsZero():
		return "not answered yet"
	}
	return a.answer(a.Status)
}

func (a Attempt) answer(status int) string {
	switch a.Protocol {
	case center.ProtoGRPC:
		if status != 0 && status != 200 {
			return fmt.Sprintf("HTTP %d without grpc-status", status)
		}
		if row, ok := spec.GRPCStatusFor(a.Code); ok {
			return fmt.Sprintf("%s (%d)", row.Name, a.Code)
		}
		return fmt.Sprintf("gRPC code %d", a.Code)
	case center.ProtoMQTT:
		return fmt.Sprintf("reason code 0x%02X", a.Code)
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
