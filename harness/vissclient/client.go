// Package vissclient is the harness's VISS client: it talks to a VISS
// server over wss (the dialect's subprotocol), https and MQTT (v3, mqtt.go), validates every
// message it receives against the dialect's JSON Schema and timestamp
// format (spec/viss), stamps each arrival, and keeps them in order for the
// specs and their failure messages. oracle.go computes from the CAN frames
// the harness put on the bus what the server must answer (the CAN-to-VSS
// oracle).
package vissclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec/viss"
)

// Message is one message the client received, as it came off the wire.
type Message struct {
	Raw []byte
	Obj map[string]any
	// At is when it arrived (wall time).
	At time.Time
	// SchemaErr says how the message breaks the dialect's schema; nil
	// when it conforms.
	SchemaErr error
	// TSErr lists timestamps of the wrong form (register I-274).
	TSErr []string
	// Topic is the MQTT topic it arrived on ("" over a WebSocket).
	Topic string
}

// Problems returns what makes the message non-conformant on its own
// (schema and timestamps), or "".
func (m *Message) Problems() string {
	var ps []string
	if m.SchemaErr != nil {
		ps = append(ps, "breaks the schema: "+m.SchemaErr.Error())
	}
	ps = append(ps, m.TSErr...)
	return strings.Join(ps, "; ")
}

// String is the raw message.
func (m *Message) String() string { return string(m.Raw) }

// Str returns a top-level string field.
func (m *Message) Str(k string) string { s, _ := m.Obj[k].(string); return s }

// Error returns the error object, if any.
func (m *Message) Error() (map[string]any, bool) {
	e, ok := m.Obj["error"].(map[string]any)
	return e, ok
}

// ErrorCode returns the error's number (as an int, whatever its JSON type)
// and reason; ok is false without an error.
func (m *Message) ErrorCode() (number int, reason string, ok bool) {
	e, ok := m.Error()
	if !ok {
		return 0, "", false
	}
	switch n := e["number"].(type) {
	case float64:
		number = int(n)
	case string:
		number, _ = strconv.Atoi(n)
	}
	reason, _ = e["reason"].(string)
	return number, reason, true
}

// Conn is one connection to a VISS server: a WebSocket (Dial), or one
// cloud client's response topics over MQTT (MQTTClient.Open).
type Conn struct {
	d      vissspec.Dialect
	schema *vissspec.Schema
	write  func(ctx context.Context, b []byte) error
	closer func() error
	// Subprotocol is what the server selected ("mqtt" over MQTT).
	Subprotocol string
	mq          *mqttConn // nil over a WebSocket

	mu      sync.Mutex
	sent    []sentRequest
	log     []*Message
	pending []*Message // responses not yet taken
	events  map[string][]*Message
	notify  chan struct{}
	done    chan struct{}
	readErr error
	reqID   atomic.Uint64
	reqMu   sync.Mutex

	// rec is the run's timeline (harness.VISSEndpoint.Recorder); notes maps
	// a requestId to its noted attempt until its answer arrives.
	rec    *harness.Recorder
	connID uint64
	opened time.Time
	notes  map[string]int
	open   []string // requestIds noted and not answered, oldest first
	noted  bool     // a request was noted
}

// DialOptions change a connection.
type DialOptions struct {
	// Subprotocols to offer; nil offers the dialect's.
	Subprotocols []string
}

// Dial opens a wss connection to ep offering the dialect's subprotocol.
func Dial(ctx context.Context, ep harness.VISSEndpoint, tc *tls.Config, o *DialOptions) (*Conn, *http.Response, error) {
	protos := []string{ep.Dialect.Subprotocol}
	if o != nil && o.Subprotocols != nil {
		protos = o.Subprotocols
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc.Clone(), ForceAttemptHTTP2: false}}
	c, resp, err := websocket.Dial(ctx, ep.WS, &websocket.DialOptions{Subprotocols: protos, HTTPClient: hc})
	if err != nil {
		return nil, resp, fmt.Errorf("WebSocket %s (subprotocols %v): %w", ep.WS, protos, err)
	}
	c.SetReadLimit(16 << 20)
	s, err := ep.Dialect.Schema()
	if err != nil {
		c.CloseNow()
		return nil, resp, err
	}
	conn := newConn(ep.Dialect, s, c.Subprotocol())
	conn.record(ep.Recorder)
	conn.write = func(ctx context.Context, b []byte) error { return c.Write(ctx, websocket.MessageText, b) }
	conn.closer = func() error { return c.Close(websocket.StatusNormalClosure, "") }
	go func() {
		defer close(conn.done)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				conn.ended(err)
				return
			}
			conn.receive(b, time.Now(), "")
		}
	}()
	return conn, resp, nil
}

func newConn(d vissspec.Dialect, s *vissspec.Schema, subprotocol string) *Conn {
	return &Conn{d: d, schema: s, Subprotocol: subprotocol, events: map[string][]*Message{}, notify: make(chan struct{}), done: make(chan struct{})}
}

// Close closes the connection (over MQTT: unsubscribes its topics).
func (c *Conn) Close() error { return c.closer() }

// ended records why nothing more will arrive.
func (c *Conn) ended(err error) {
	c.mu.Lock()
	c.readErr = err
	c.wake()
	c.mu.Unlock()
}

// receive validates and files one message that arrived at at (on an MQTT
// topic, or "").
func (c *Conn) receive(b []byte, at time.Time, topic string) {
	m := Check(c.d, c.schema, b, at)
	m.Topic = topic
	c.mu.Lock()
	c.noteReceived(m)
	c.log = append(c.log, m)
	if m.Str("action") == "subscription" {
		id := m.Str("subscriptionId")
		c.events[id] = append(c.events[id], m)
	} else {
		c.pending = append(c.pending, m)
	}
	c.wake()
	c.mu.Unlock()
}

// wake tells waiters something arrived; c.mu is held.
func (c *Conn) wake() {
	close(c.notify)
	c.notify = make(chan struct{})
}

// Check parses and validates one received message.
func Check(d vissspec.Dialect, s *vissspec.Schema, raw []byte, at time.Time) *Message {
	m := &Message{Raw: raw, At: at}
	if err := json.Unmarshal(raw, &m.Obj); err != nil {
		m.SchemaErr = fmt.Errorf("not a JSON object: %v", err)
		return m
	}
	m.SchemaErr = s.Validate(raw)
	for _, ts := range Timestamps(d, m.Obj) {
		if err := d.CheckTimestamp(ts); err != nil {
			m.TSErr = append(m.TSErr, err.Error())
		}
	}
	return m
}

// Timestamps returns every timestamp of a message: ts / timestamp and the
// data points' ts.
func Timestamps(d vissspec.Dialect, o map[string]any) []string {
	var out []string
	for _, k := range []string{"ts", "timestamp"} {
		if s, ok := o[k].(string); ok {
			out = append(out, s)
		}
	}
	for _, pd := range DataPoints(o) {
		for _, dp := range pd.DPs {
			out = append(out, dp.TS)
		}
	}
	return out
}

// DP is one data point of a v3 message.
type DP struct {
	Value any
	TS    string
}

// PathDP is one path's data points.
type PathDP struct {
	Path string
	DPs  []DP
}

// DataPoints reads a v3 message's data (object or array; dp object or
// array).
func DataPoints(o map[string]any) []PathDP {
	var list []any
	switch d := o["data"].(type) {
	case map[string]any:
		list = []any{d}
	case []any:
		list = d
	}
	var out []PathDP
	for _, x := range list {
		e, _ := x.(map[string]any)
		pd := PathDP{}
		pd.Path, _ = e["path"].(string)
		var dps []any
		switch dp := e["dp"].(type) {
		case map[string]any:
			dps = []any{dp}
		case []any:
			dps = dp
		}
		for _, y := range dps {
			p, _ := y.(map[string]any)
			ts, _ := p["ts"].(string)
			pd.DPs = append(pd.DPs, DP{Value: p["value"], TS: ts})
		}
		out = append(out, pd)
	}
	return out
}

// NextID returns a fresh requestId.
func (c *Conn) NextID() string {
	return strconv.FormatUint(c.reqID.Add(1)+uint64(time.Now().UnixNano()%1000)*1000000, 10)
}

// Send writes one message as given.
func (c *Conn) Send(ctx context.Context, msg any) error {
	b, ok := msg.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(msg); err != nil {
			return err
		}
	}
	c.noteSent(b)
	return c.write(ctx, b)
}

// sentRequest is one request the client sent and the answer it took.
type sentRequest struct {
	at     time.Time
	msg    map[string]any
	answer *Message
}

// ProtoVISS is the protocol of VISS exchanges on the harness's timeline.
const ProtoVISS center.Protocol = "viss"

// Attempts puts the connection's requests on the harness's one timeline
// (harness.Attempt, harness.Timeline): one attempt per request, from when
// it was sent to when its answer arrived, with the action as the method,
// the path, and the error number as the status (200 for a success).
func (c *Conn) Attempts() []harness.Attempt {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]harness.Attempt, 0, len(c.sent))
	for i, s := range c.sent {
		a := harness.Attempt{Seq: uint64(i + 1), Protocol: ProtoVISS, ConnAccepted: s.at, ReceivedAt: s.at, Proto: c.Subprotocol}
		a.Method, _ = s.msg["action"].(string)
		a.Path, _ = s.msg["path"].(string)
		if a.Path == "" {
			a.Path, _ = s.msg["subscriptionId"].(string)
		}
		a.Key = a.Method + " " + a.Path
		if s.answer != nil {
			a.AnsweredAt = s.answer.At
			a.Status = 200
			if n, _, isErr := s.answer.ErrorCode(); isErr {
				a.Status = n
			}
		}
		out = append(out, a)
	}
	return out
}

// ErrNoAnswer is returned by Request when nothing answered in time.
var ErrNoAnswer = errors.New("no answer")

// Request sends msg (adding a requestId when it has none) and returns the
// next message that is not an event: the answer, as requests go one at a
// time. The caller judges whether its requestId matches.
func (c *Conn) Request(ctx context.Context, msg map[string]any, timeout time.Duration) (*Message, error) {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	if _, ok := msg["requestId"]; !ok {
		msg["requestId"] = c.NextID()
	}
	c.mu.Lock()
	c.pending = nil
	c.sent = append(c.sent, sentRequest{at: time.Now(), msg: msg})
	req := &c.sent[len(c.sent)-1]
	c.mu.Unlock()
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	if err := c.Send(ctx, b); err != nil {
		return nil, fmt.Errorf("sending %v: %w", msg, err)
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if len(c.pending) > 0 {
			m := c.pending[0]
			c.pending = c.pending[1:]
			req.answer = m
			c.mu.Unlock()
			return m, nil
		}
		rerr, wait := c.readErr, c.notify
		c.mu.Unlock()
		if rerr != nil {
			return nil, fmt.Errorf("connection closed before an answer: %v", rerr)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, fmt.Errorf("%w within %v", ErrNoAnswer, timeout)
		case <-wait:
		}
	}
}

// Events returns the events of subscription id received so far.
func (c *Conn) Events(id string) []*Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Message(nil), c.events[id]...)
}

// WaitEvents waits until n events of subscription id have arrived or the
// timeout passed, and returns those received.
func (c *Conn) WaitEvents(ctx context.Context, id string, n int, timeout time.Duration) []*Message {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		got, wait := c.events[id], c.notify
		c.mu.Unlock()
		if len(got) >= n {
			return append([]*Message(nil), got...)
		}
		select {
		case <-ctx.Done():
			return c.Events(id)
		case <-deadline.C:
			return c.Events(id)
		case <-wait:
		}
	}
}

// Log returns every message received so far, in order.
func (c *Conn) Log() []*Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Message(nil), c.log...)
}

// HTTPResponse is one HTTPS answer.
type HTTPResponse struct {
	Status int
	Header http.Header
	// Msg is the body, validated against the schema with the action the
	// method stands for added (GET get, POST set) and, where the dialect's
	// schema requires one, a requestId (register I-285).
	Msg *Message
}

// HTTPGet sends GET <http><path>[?query] with an optional bearer token.
func HTTPGet(ctx context.Context, ep harness.VISSEndpoint, tc *tls.Config, path, query, token string) (*HTTPResponse, error) {
	u := strings.TrimSuffix(ep.HTTP, "/") + "/" + strings.TrimPrefix(path, "/")
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return doHTTP(ep, tc, req, token, "get")
}

// HTTPPost sends POST <http><path> {"value": value}.
func HTTPPost(ctx context.Context, ep harness.VISSEndpoint, tc *tls.Config, path string, value any, token string) (*HTTPResponse, error) {
	b, _ := json.Marshal(map[string]any{"value": value})
	u := strings.TrimSuffix(ep.HTTP, "/") + "/" + strings.TrimPrefix(path, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return doHTTP(ep, tc, req, token, "set")
}

// FilterQuery is the v3 query string of a filter: filter=<JSON>.
func FilterQuery(filter any) string {
	b, _ := json.Marshal(filter)
	return "filter=" + url.QueryEscape(string(b))
}

func doHTTP(ep harness.VISSEndpoint, tc *tls.Config, req *http.Request, token, action string) (*HTTPResponse, error) {
	if ep.HTTP == "" {
		return nil, fmt.Errorf("the %s server has no https endpoint", ep.Dialect.Tag)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc.Clone()}, Timeout: 30 * time.Second}
	sent := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	at := time.Now()
	out := &HTTPResponse{Status: resp.StatusCode, Header: resp.Header}
	var o map[string]any
	if err := json.Unmarshal(b, &o); err != nil {
		out.Msg = &Message{Raw: b, At: at, SchemaErr: fmt.Errorf("not a JSON object: %v", err)}
		noteHTTP(ep, req, sent, at, out)
		return out, nil
	}
	o["action"] = action
	if _, ok := o["requestId"]; !ok && ep.Dialect.Name == vissspec.Gen2 {
		o["requestId"] = "http"
	}
	wrapped, _ := json.Marshal(o)
	s, err := ep.Dialect.Schema()
	if err != nil {
		return nil, err
	}
	m := Check(ep.Dialect, s, wrapped, at)
	m.Raw = b
	out.Msg = m
	noteHTTP(ep, req, sent, at, out)
	return out, nil
}
