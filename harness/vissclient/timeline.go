package vissclient

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
)

// The client's side of the run's one timeline (harness.Recorder): every
// request a Conn sends is noted as a harness.ProtoVISS attempt keyed by its
// requestId, settled when the message carrying that requestId arrives;
// every event is an attempt of its own keyed by its subscriptionId; a
// message that answers nothing noted is noted on its own. The HTTPS
// requests are noted the same way, one attempt each.

// conns numbers the connections on the timeline (Attempt.ConnID).
var conns atomic.Uint64

// httpKeys numbers the HTTPS requests (they carry no requestId).
var httpKeys atomic.Uint64

// record makes the connection note its messages on rec (nil: none).
func (c *Conn) record(rec *harness.Recorder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rec, c.connID, c.opened, c.notes = rec, conns.Add(1), time.Now(), map[string]int{}
}

// fields reads what the timeline names a message by.
func fields(b []byte) (action, path, requestID, subID string) {
	var o map[string]any
	_ = json.Unmarshal(b, &o)
	str := func(k string) string {
		switch v := o[k].(type) {
		case string:
			return v
		case nil:
			return ""
		default:
			j, _ := json.Marshal(v)
			return string(j)
		}
	}
	return str("action"), str("path"), str("requestId"), str("subscriptionId")
}

// noteSent notes a request as it goes out.
func (c *Conn) noteSent(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec == nil {
		return
	}
	action, path, id, sub := fields(b)
	if path == "" {
		path = sub
	}
	now := time.Now()
	h := c.rec.Note(harness.Attempt{Protocol: harness.ProtoVISS, Key: id, ConnID: c.connID, Reused: c.noted,
		ConnAccepted: c.opened, ReceivedAt: now, Method: action, Path: path, Proto: c.Subprotocol,
		Sent: append([]byte(nil), b...), Messages: []center.Message{{At: now, Len: len(b), Size: len(b)}}})
	c.noted = true
	if _, dup := c.notes[id]; !dup {
		c.open = append(c.open, id)
	}
	c.notes[id] = h
}

// noteReceived notes a message as it arrives; c.mu is held.
func (c *Conn) noteReceived(m *Message) {
	if c.rec == nil {
		return
	}
	action, path, id, sub := fields(m.Raw)
	status := 200
	if n, _, bad := m.ErrorCode(); bad {
		status = n
	}
	got := center.Message{At: m.At, Len: len(m.Raw), Size: len(m.Raw)}
	if action == "subscription" {
		c.rec.Note(harness.Attempt{Protocol: harness.ProtoVISS, Key: sub, ConnID: c.connID, Reused: true, ConnAccepted: c.opened,
			ReceivedAt: m.At, AnsweredAt: m.At, Method: action, Path: path, Proto: c.Subprotocol, Status: status,
			Got: m.Raw, Messages: []center.Message{got}})
		return
	}
	h, ok := c.notes[id]
	if !ok && id == "" && len(c.open) > 0 {
		// An answer without a requestId answers the oldest open request.
		id = c.open[0]
		h, ok = c.notes[id]
	}
	if !ok {
		c.rec.Note(harness.Attempt{Protocol: harness.ProtoVISS, Key: id, ConnID: c.connID, Reused: true, ConnAccepted: c.opened,
			ReceivedAt: m.At, AnsweredAt: m.At, Method: "unrequested " + action, Path: path, Proto: c.Subprotocol, Status: status,
			Got: m.Raw, Messages: []center.Message{got}})
		return
	}
	delete(c.notes, id)
	for i, o := range c.open {
		if o == id {
			c.open = append(c.open[:i:i], c.open[i+1:]...)
			break
		}
	}
	c.rec.Settle(h, func(a *harness.Attempt) {
		a.AnsweredAt, a.Status, a.Got = m.At, status, m.Raw
		a.Messages = append(a.Messages, got)
	})
}

// noteHTTP notes one HTTPS exchange: sent at sent, answered at at.
func noteHTTP(ep harness.VISSEndpoint, req *http.Request, sent, at time.Time, r *HTTPResponse) {
	if ep.Recorder == nil {
		return
	}
	line := req.Method + " " + req.URL.String()
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			b, _ := io.ReadAll(rc)
			_ = rc.Close()
			if len(b) > 0 {
				line += " " + string(b)
			}
		}
	}
	got := r.Msg.Raw
	ep.Recorder.Note(harness.Attempt{Protocol: harness.ProtoVISS, Key: "https-" + strconv.FormatUint(httpKeys.Add(1), 10), ConnAccepted: sent,
		ReceivedAt: sent, AnsweredAt: at, Method: req.Method, Path: req.URL.RequestURI(), Proto: "HTTPS", Status: r.Status,
		Sent: []byte(line), Got: got,
		Messages: []center.Message{{At: sent, Len: len(line), Size: len(line)}, {At: at, Len: len(got), Size: len(got)}}})
}
