package viss

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
	paholog "github.com/eclipse/paho.golang/paho/log"
	"github.com/icoc-dev/icoc/simulator/quirk"
	"github.com/icoc-dev/icoc/spec/viss"
)

func init() {
	for _, q := range []quirk.Info{
		{Name: "mqtt-not-subscribed", Clause: "v3 T4.3.1", Breaks: "subscribes to VID/vehicle instead of VID/Vehicle"},
		{Name: "mqtt-reply-on-vehicle-topic", Clause: "v3 T4.3.1", Breaks: "publishes responses to VID/Vehicle instead of the envelope's topic"},
		{Name: "mqtt-envelope-reply", Clause: "v3 T4.3", Breaks: "wraps responses and events in an envelope {\"topic\",\"response\"} instead of sending the primary payload unmodified"},
		{Name: "mqtt-events-to-latest-topic", Clause: "v3 T4.3.1", Breaks: "publishes events to the topic of the latest request instead of the topic stored with the subscriptionId"},
		{Name: "mqtt-events-after-unsubscribe", Clause: "v3 T4.3.1", Breaks: "answers an unsubscribe itself and keeps the subscriptionId's topic: events go on"},
		{Name: "mqtt-topic-pinned", Clause: "v3 T4.3.1", Breaks: "answers every request on the first topic it saw (reads the vehicle client's MAY keep its topic as the reply topic)"},
		{Name: "mqtt-route-by-requestid", Clause: "v3 T4.3.1", Breaks: "serves all topics in one session and routes a response by its requestId, to the topic that first sent that requestId: a second client with the same requestId gets no answer"},
		{Name: "mqtt-qos0", Clause: "v3 T4.3", Variant: true, Breaks: "publishes responses and events at QoS 0 (the transport names no QoS; register I-325)"},
	} {
		quirks.Register(q)
	}
}

// MQTTOptions connect a server's vehicle-side MQTT client (VISS v3.0
// TRANSPORT 4.3) to a broker.
type MQTTOptions struct {
	// VID returns the vehicle identifier of the topic VID/Vehicle ("" while
	// unknown: the client waits; register I-299).
	VID func() string
	// ClientID returns the Client ID of CONNECT; nil: the VID.
	ClientID func() string
	// Dial opens the (TLS) connection to the broker.
	Dial func(ctx context.Context) (net.Conn, error)
	// Credentials, when set, returns the username and password of each
	// CONNECT (the center's one-time password, 7.2.5.7).
	Credentials func(ctx context.Context) (user string, password []byte, err error)
	// Retry is the wall time between connection attempts (default 1 s).
	Retry time.Duration
}

// MQTT is the VISS over MQTT transport of one v3 server: the vehicle-side
// client that subscribes to VID/Vehicle, unwraps each envelope
// {"topic","request"}, hands the request to the server session of that
// topic (one session per response topic, register I-326) and publishes
// what the session sends to the topic unmodified; it stores each
// subscriptionId with the topic of its subscribe request and deletes it on
// an unsubscribe, whichever topic that came on. It reconnects until
// closed.
type MQTT struct {
	o      MQTTOptions
	srv    *Server
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	c        *paho.Client
	vid      string
	sessions map[string]*topicSession // response topic -> session
	subTopic map[string]string        // subscriptionId -> topic
	first    string                   // mqtt-topic-pinned: the first topic
	latest   string                   // the latest request's topic
	byReq    map[string]string        // mqtt-route-by-requestid: requestId -> topic
	in       chan []byte              // envelopes, handled in order
}

// topicSession is the server session of one response topic; redirect
// sends the answer to an unsubscribe that came on another topic there.
type topicSession struct {
	topic    string
	sess     Session
	redirect map[string]string // requestId -> topic
}

// NewMQTT returns the MQTT transport of srv (attach it with srv.Attach).
func NewMQTT(srv *Server, o MQTTOptions) *MQTT {
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &MQTT{o: o, srv: srv, ctx: ctx, cancel: cancel, sessions: map[string]*topicSession{}, subTopic: map[string]string{}, byReq: map[string]string{}, in: make(chan []byte, 256)}
}

// Name implements Transport.
func (t *MQTT) Name() string { return "mqtt" }

// Close implements Transport.
func (t *MQTT) Close() error {
	t.cancel()
	t.mu.Lock()
	c := t.c
	sessions := t.sessions
	t.sessions = map[string]*topicSession{}
	t.mu.Unlock()
	if c != nil {
		_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
	}
	for _, s := range sessions {
		s.sess.Close()
	}
	return nil
}

// Connected reports whether the client holds a subscribed connection.
func (t *MQTT) Connected() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.c != nil
}

// Run implements Transport: connect, subscribe, serve; again after a lost
// connection, until Close or the server closes.
func (t *MQTT) Run(Sessions) error {
	stop := t.srv.stopped()
	go func() {
		select {
		case <-stop:
			_ = t.Close()
		case <-t.ctx.Done():
		}
	}()
	go func() {
		for {
			select {
			case m := <-t.in:
				t.onEnvelope(m)
			case <-t.ctx.Done():
				return
			}
		}
	}()
	for t.ctx.Err() == nil {
		vid := t.o.VID()
		if vid == "" {
			t.sleep(100 * time.Millisecond)
			continue
		}
		done, err := t.connect(vid)
		if err != nil {
			t.srv.svc.logf("viss: mqtt: %v; again in %v", err, t.o.Retry)
			t.sleep(t.o.Retry)
			continue
		}
		t.srv.svc.logf("viss: %s mqtt client subscribed to %s", t.srv.d.Tag, t.vehicleTopic(vid))
		select {
		case <-done:
		case <-t.ctx.Done():
			// Close may have run before this connection was stored in
			// t.c: end it here, or it would outlive the transport.
			t.mu.Lock()
			c := t.c
			t.mu.Unlock()
			if c != nil {
				_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
			}
		}
		t.mu.Lock()
		t.c = nil
		t.mu.Unlock()
		t.sleep(t.o.Retry / 4)
	}
	return nil
}

func (t *MQTT) sleep(d time.Duration) {
	select {
	case <-t.ctx.Done():
	case <-time.After(d):
	}
}

// vehicleTopic is the topic the client subscribes to.
func (t *MQTT) vehicleTopic(vid string) string {
	if t.srv.svc.quirks.Has("mqtt-not-subscribed") {
		return vid + "/vehicle"
	}
	return vid + "/Vehicle"
}

// connect opens one connection and subscribes; done closes when it ends.
func (t *MQTT) connect(vid string) (<-chan struct{}, error) {
	ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
	defer cancel()
	conn, err := t.o.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	c := paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(p paho.PublishReceived) (bool, error) {
			select {
			case t.in <- p.Packet.Payload:
			case <-t.ctx.Done():
			}
			return true, nil
		}},
		OnClientError:      func(error) { _ = conn.Close() },
		OnServerDisconnect: func(*paho.Disconnect) { _ = conn.Close() },
	})
	c.SetErrorLogger(paholog.NOOPLogger{})
	id := vid
	if t.o.ClientID != nil {
		id = t.o.ClientID()
	}
	cp := &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true}
	if t.o.Credentials != nil {
		u, p, err := t.o.Credentials(ctx)
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("credentials: %w", err)
		}
		cp.UsernameFlag, cp.Username = u != "", u
		cp.PasswordFlag, cp.Password = p != nil, p
	}
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		_ = conn.Close()
		if ca != nil {
			return nil, fmt.Errorf("CONNECT refused: 0x%02X %s", ca.ReasonCode, reasonString(ca.Properties))
		}
		return nil, fmt.Errorf("CONNECT: %w", err)
	}
	topic := t.vehicleTopic(vid)
	// paho's Subscribe waits for its SUBACK even after the connection
	// died (the broker may drop a connection at any time): give up with
	// the connection, and connect again.
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	go func() {
		select {
		case <-c.Done():
			scancel()
		case <-sctx.Done():
		}
	}()
	sa, err := c.Subscribe(sctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}})
	if err == nil && (sa == nil || len(sa.Reasons) == 0 || sa.Reasons[0] >= 0x80) {
		err = fmt.Errorf("SUBACK %v", sa)
	}
	if err != nil {
		_ = c.Disconnect(&paho.Disconnect{})
		_ = conn.Close()
		return nil, fmt.Errorf("SUBSCRIBE %s: %w", topic, err)
	}
	t.mu.Lock()
	t.c, t.vid = c, vid
	t.mu.Unlock()
	return c.Done(), nil
}

func reasonString(p *paho.ConnackProperties) string {
	if p == nil {
		return ""
	}
	return p.ReasonString
}

// envelope is the transport message of v3.0 TRANSPORT 4.3.1 / 4.3.3.
type envelope struct {
	Topic   *string         `json:"topic"`
	Request json.RawMessage `json:"request"`
}

// onEnvelope handles one message on VID/Vehicle. A message without a
// readable topic is logged and dropped; one whose request is not a string
// holding the request gets the server's answer to a malformed request on
// its topic (register I-327).
func (t *MQTT) onEnvelope(payload []byte) {
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil || env.Topic == nil || *env.Topic == "" {
		t.srv.svc.logf("viss: mqtt: dropped a message without a readable topic: %.200s", payload)
		return
	}
	topic := *env.Topic
	var raw []byte
	var s string
	if err := json.Unmarshal(env.Request, &s); err != nil {
		raw = []byte("malformed envelope: the value of request is not a string")
	} else {
		raw = []byte(s)
	}
	var req struct {
		Action    string `json:"action"`
		SubID     string `json:"subscriptionId"`
		RequestID any    `json:"requestId"`
	}
	_ = json.Unmarshal(raw, &req)
	reqID := fmt.Sprint(req.RequestID)
	q := t.srv.svc.quirks
	t.mu.Lock()
	if t.first == "" {
		t.first = topic
	}
	if q.Has("mqtt-topic-pinned") {
		topic = t.first
	}
	t.latest = topic
	key := topic
	if q.Has("mqtt-route-by-requestid") {
		key = ""
		// The topic that first sent a requestId keeps it: a later
		// client reusing the requestId never gets its answers, however
		// the requests interleave.
		if _, seen := t.byReq[reqID]; !seen {
			t.byReq[reqID] = topic
		}
	}
	if req.Action == "unsubscribe" {
		if q.Has("mqtt-events-after-unsubscribe") {
			t.mu.Unlock()
			t.publish(topic, t.fakeUnsubscribe(req.SubID, req.RequestID))
			return
		}
		// "The vehicle client SHALL delete the saved topic name and
		// subscriptionId when it receives an unsubscribe request."
		if st, ok := t.subTopic[req.SubID]; ok && key != "" {
			delete(t.subTopic, req.SubID)
			if st != topic {
				ts := t.session(st)
				ts.redirect[reqID] = topic
				t.mu.Unlock()
				ts.sess.Receive(raw)
				return
			}
		}
	}
	ts := t.session(key)
	t.mu.Unlock()
	ts.sess.Receive(raw)
}

// session returns the session of a response topic; t.mu is held.
func (t *MQTT) session(topic string) *topicSession {
	if ts, ok := t.sessions[topic]; ok {
		return ts
	}
	ts := &topicSession{topic: topic, redirect: map[string]string{}}
	ts.sess = t.srv.Open(func(m []byte) error { t.send(ts, m); return nil })
	t.sessions[topic] = ts
	return ts
}

// send publishes what a session sends: a response to its topic (or to the
// topic an unsubscribe came on), an event to the topic stored with its
// subscriptionId; a successful subscribe response stores that topic.
func (t *MQTT) send(ts *topicSession, m []byte) {
	var msg struct {
		Action    string          `json:"action"`
		SubID     string          `json:"subscriptionId"`
		RequestID any             `json:"requestId"`
		Error     json.RawMessage `json:"error"`
	}
	_ = json.Unmarshal(m, &msg)
	reqID := fmt.Sprint(msg.RequestID)
	q := t.srv.svc.quirks
	t.mu.Lock()
	topic := ts.topic
	switch {
	case msg.Action == "subscription":
		if st, ok := t.subTopic[msg.SubID]; ok {
			topic = st
		}
		if q.Has("mqtt-events-to-latest-topic") {
			topic = t.latest
		}
	case ts.topic == "": // mqtt-route-by-requestid
		topic = t.byReq[reqID]
	default:
		if r, ok := ts.redirect[reqID]; ok && msg.Action == "unsubscribe" {
			topic = r
			delete(ts.redirect, reqID)
		}
	}
	if msg.Action == "subscribe" && msg.SubID != "" && len(msg.Error) == 0 {
		t.subTopic[msg.SubID] = topic
	}
	vid := t.vid
	t.mu.Unlock()
	if msg.Action != "subscription" && q.Has("mqtt-reply-on-vehicle-topic") {
		topic = vid + "/Vehicle"
	}
	if topic == "" {
		return
	}
	t.publish(topic, m)
}

// publish sends m to topic (QoS 1; the mqtt-envelope-reply quirk wraps
// it); a message finds no connection is dropped and logged.
func (t *MQTT) publish(topic string, m []byte) {
	q := t.srv.svc.quirks
	if q.Has("mqtt-envelope-reply") {
		m, _ = json.Marshal(map[string]string{"topic": topic, "response": string(m)})
	}
	t.mu.Lock()
	c := t.c
	t.mu.Unlock()
	if c == nil {
		t.srv.svc.logf("viss: mqtt: no connection; dropped a message for %s", topic)
		return
	}
	qos := byte(1)
	if q.Has("mqtt-qos0") {
		qos = 0
	}
	ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
	defer cancel()
	if _, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: qos, Payload: m}); err != nil && !errors.Is(err, context.Canceled) {
		t.srv.svc.logf("viss: mqtt: PUBLISH %s: %v", topic, err)
	}
}

// fakeUnsubscribe is the mqtt-events-after-unsubscribe quirk's answer.
func (t *MQTT) fakeUnsubscribe(subID string, reqID any) []byte {
	b, _ := json.Marshal(map[string]any{"action": "unsubscribe", "subscriptionId": subID, "requestId": reqID, "ts": vissspec.FormatTimestamp(time.Now())})
	return b
}
