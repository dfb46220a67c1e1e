package vehicle

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/spec"
)

func init() {
	registerUplink(UplinkMQTT, (*Vehicle).deliverMQTT)
	registerRunner(func(v *Vehicle, ctx context.Context) {
		if v.cfg.Uplink == UplinkMQTT {
			v.mqttKeeper(ctx)
		}
	})
	registerIgnitionHook(func(v *Vehicle, _, to bench.Ignition) {
		if v.mqtt != nil {
			v.mqtt.ignition(to)
		}
	})
	registerQuirk(QuirkInfo{Name: "mqtt-flip-retry", Clause: "7.2.5.4 Tables 7-21 to 7-24", Breaks: "inverts the Retry column of the table of this acknowledgement (CONNACK, PUBACK, SUBACK or UNSUBACK)", Arg: "string"})
	registerQuirk(QuirkInfo{Name: "mqtt-no-disconnect", Clause: "7.2.5.7", Breaks: "closes the connection at IG-OFF without MQTT DISCONNECT"})
	registerQuirk(QuirkInfo{Name: "mqtt-subscribe-qos0", Clause: "7.2.5.3", Breaks: "subscribes with QoS 0"})
	registerQuirk(QuirkInfo{Name: "mqtt-subscribe-wildcard", Clause: "7.2.5.2", Breaks: "subscribes to <VIN>/# instead of <VIN>/<application>/C2V"})
}

// mqttSession keeps the vehicle's MQTT connection (7.2.5.7 "Establish an
// MQTT connection constantly"): it connects while the ignition is on (or
// an upload waits) and the session preconditions hold, subscribes to the
// push topic, retries CONNECT, SUBSCRIBE and UNSUBSCRIBE by Tables 7-21,
// 7-23 and 7-24 under the session retry rule (register I-140), reconnects
// after a lost connection and after timeouts with a growing interval
// (7.2.5.5, I-016), and at IG-OFF unsubscribes and sends DISCONNECT
// before it goes quiet (I-151). Safe for concurrent use.
type mqttSession struct {
	v *Vehicle

	mu      sync.Mutex
	link    *mqttLink
	up      chan struct{} // closed while link is set
	blocked string        // why no session until the next IG-ON; "" when none
	busy    int           // uploads waiting for or using the link
	wake    chan struct{}
}

func newMQTTSession(v *Vehicle) *mqttSession {
	return &mqttSession{v: v, up: make(chan struct{}), wake: make(chan struct{}, 1)}
}

func (s *mqttSession) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ignition lifts a block at IG-ON (a new session start) and wakes the
// keeper on every change.
func (s *mqttSession) ignition(to bench.Ignition) {
	s.mu.Lock()
	if to == bench.IGOn || to == bench.BOff {
		s.blocked = ""
	}
	s.mu.Unlock()
	s.poke()
}

func (s *mqttSession) addBusy(n int) {
	s.mu.Lock()
	s.busy += n
	s.mu.Unlock()
	s.poke()
}

// wanted reports whether the vehicle should hold a connection now: no
// block, and the ignition on or an upload waiting.
func (s *mqttSession) wanted() bool {
	s.v.mu.Lock()
	ig := s.v.ignition
	s.v.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blocked == "" && (ig == bench.IGOn || s.busy > 0)
}

func (s *mqttSession) block(why string) {
	s.mu.Lock()
	s.blocked = why
	s.mu.Unlock()
	s.v.logf("vehicle: MQTT: no session until the next IG-ON: %s (register I-140)", why)
}

func (s *mqttSession) setLink(l *mqttLink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.link = l
	close(s.up)
}

func (s *mqttSession) clearLink(l *mqttLink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.link == l {
		s.link = nil
		s.up = make(chan struct{})
	}
}

// await returns the open link, waiting up to wait (wall time) for one; nil
// when none came, the session is blocked or ctx ended.
func (s *mqttSession) await(ctx context.Context, wait time.Duration) *mqttLink {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		s.mu.Lock()
		l, up, blocked := s.link, s.up, s.blocked
		s.mu.Unlock()
		if l != nil && l.alive() {
			return l
		}
		if blocked != "" {
			return nil
		}
		s.poke()
		select {
		case <-up:
		case <-t.C:
			return nil
		case <-ctx.Done():
			return nil
		case <-time.After(s.v.poll()):
		}
	}
}

// poll is how often the vehicle looks at its own state (spec 1 s, within
// 10..250 ms of wall time).
func (v *Vehicle) poll() time.Duration {
	return min(max(v.cfg.wall(time.Second), 10*time.Millisecond), 250*time.Millisecond)
}

// sessionRule is the retry rule of CONNECT, SUBSCRIBE and UNSUBSCRIBE
// (register I-140), as the quirks bend it.
func (v *Vehicle) sessionRule() (retries int, interval time.Duration) {
	r := v.doc.MQTTSessionRetryRule()
	return v.quirks.Int("retries", r.Retries), time.Duration(float64(r.Interval) * v.quirks.Float("interval-factor", 1))
}

// backoff is the wait before the next attempt after timeouts timeouts in
// a row (7.2.5.5 "extend the retransmission interval", I-016; the variant
// backoff-linear of retransmissionInterval, I-062).
func (v *Vehicle) backoff(interval time.Duration, timeouts int) time.Duration {
	if v.quirks.Has("no-backoff") {
		return interval
	}
	return v.retransmissionInterval(interval, timeouts)
}

// mqttRetry says whether a reason code of the table of packet (CONNACK,
// PUBACK, SUBACK, UNSUBACK) is retried: Table 7-21 to 7-24's Retry column,
// as the quirks bend it. A code the table does not list is not retried.
func (v *Vehicle) mqttRetry(packet string, code int) bool {
	row, ok := v.doc.MQTTReasonFor(packet, code)
	r := ok && row.Retry
	if ok && v.quirks.HasValue("mqtt-flip-retry", packet) {
		r = !r
	}
	return r
}

// mqttKeeper runs the session for as long as the vehicle runs.
func (v *Vehicle) mqttKeeper(ctx context.Context) {
	s := v.mqtt
	for ctx.Err() == nil {
		if !s.wanted() {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			case <-time.After(v.poll()):
			}
			continue
		}
		v.mu.Lock()
		pctx := v.power
		v.mu.Unlock()
		if pctx == nil || !v.sessionReady(pctx) {
			if !v.sleep(ctx, time.Second) {
				return
			}
			continue
		}
		s.cycle(pctx)
	}
}

// cycle connects and keeps the connection until the session is no longer
// wanted (IG-OFF wound down), blocked, or power is lost.
func (s *mqttSession) cycle(ctx context.Context) {
	v := s.v
	retries, interval := v.sessionRule()
	attempt, timeouts := 0, 0
	for ctx.Err() == nil && s.wanted() {
		l, code, err := v.dialMQTT(ctx, v.onMQTTPublish)
		switch {
		case l != nil && v.mqttRetry("CONNACK", 0) && attempt < retries:
			// Only the mqtt-flip-retry quirk retries a success.
			l.end("CONNACK 0x00 retried (quirk)")
			attempt++
			v.sleep(ctx, interval)
		case l != nil:
			v.logf("vehicle: MQTT: connected (CONNACK 0x00, Topic Alias Maximum %d)", l.tam)
			attempt, timeouts = 0, 0
			if s.serve(ctx, l) {
				return // wound down at IG-OFF
			}
			v.logf("vehicle: MQTT: connection lost (%s); reconnecting (7.2.5.7)", l.reason)
			continue
		case err == nil:
			if !v.mqttRetry("CONNACK", code) {
				s.block(fmt.Sprintf("CONNACK 0x%02X is not retried (Table 7-21)", code))
				return
			}
			if attempt >= retries {
				s.block(fmt.Sprintf("CONNACK 0x%02X: %d retries spent (Table 7-21, I-140)", code, retries))
				return
			}
			attempt++
			v.logf("vehicle: MQTT: CONNACK 0x%02X; retry %d in %v (Table 7-21)", code, attempt, interval)
			v.sleep(ctx, interval)
		default:
			timeouts++
			wait := v.backoff(interval, timeouts)
			v.logf("vehicle: MQTT: no session (%v); next attempt in %v (7.2.5.5)", err, wait)
			v.sleep(ctx, wait)
		}
	}
}

// serve holds one connection: it subscribes to the push topic, then waits
// until the connection ends (false) or the ignition is off with no upload
// left, when it unsubscribes, sends DISCONNECT and closes (true).
func (s *mqttSession) serve(ctx context.Context, l *mqttLink) bool {
	v := s.v
	s.setLink(l)
	defer s.clearLink(l)
	defer l.end("session over")
	subscribed := s.subscribePush(ctx, l)
	var idleSince time.Time
	for {
		select {
		case <-l.done:
			return false
		case <-ctx.Done():
			l.end("power lost")
			return false
		case <-time.After(v.poll()):
		}
		if s.wanted() {
			idleSince = time.Time{}
			continue
		}
		// The ignition is off: let the IG-OFF upload (trigger f) start and
		// finish first.
		if idleSince.IsZero() {
			idleSince = time.Now()
		}
		if time.Since(idleSince) < v.cfg.wall(2*time.Second) || len(v.requests) > 0 {
			continue
		}
		s.windDown(ctx, l, subscribed)
		return true
	}
}

// pushTopic is the topic the vehicle takes pushes on (7.2.5.2).
func (v *Vehicle) pushTopic() string {
	if v.doc.MQTTTopics.Style == spec.TopicStyleAsyncAPI {
		return "/push/" + v.VIN() + "/#"
	}
	t, _ := spec.MQTTPublishTopic(v.VIN(), v.cfg.MQTT.PushApplication, spec.C2V)
	return t
}

// subscribePush subscribes to the push topic by Table 7-23: a Retry-Yes
// code is retried under the session rule; a missing SUBACK (7.2.5.5)
// ends the connection. It reports whether the subscription holds.
func (s *mqttSession) subscribePush(ctx context.Context, l *mqttLink) bool {
	v := s.v
	retries, interval := v.sessionRule()
	qos := byte(1) // 7.2.5.3
	if v.quirks.Has("mqtt-subscribe-qos0") {
		qos = 0
	}
	topic := v.pushTopic()
	if v.quirks.Has("mqtt-subscribe-wildcard") {
		topic = v.VIN() + "/#"
	}
	for attempt := 0; ; attempt++ {
		code, err := l.subscribe(ctx, topic, qos)
		if err != nil {
			if err == errAckTimeout {
				l.end("no SUBACK within the wait (7.2.5.5)")
			}
			return false
		}
		if !v.mqttRetry("SUBACK", code) || attempt >= retries {
			if code < 0x80 {
				return true
			}
			v.logf("vehicle: MQTT: SUBACK 0x%02X for %s: not retried further (Table 7-23); no pushes on this connection", code, topic)
			return false
		}
		v.logf("vehicle: MQTT: SUBACK 0x%02X; SUBSCRIBE again in %v (Table 7-23)", code, interval)
		select {
		case <-l.done:
			return false
		case <-time.After(v.cfg.wall(interval)):
		}
	}
}

// windDown ends the session at IG-OFF: UNSUBSCRIBE from the push topic
// (Table 7-24, session rule), then DISCONNECT 0x00 (7.2.5.7 session
// discard), then close.
func (s *mqttSession) windDown(ctx context.Context, l *mqttLink, subscribed bool) {
	v := s.v
	retries, interval := v.sessionRule()
	if subscribed {
		topic := v.pushTopic()
		if v.quirks.Has("mqtt-subscribe-wildcard") {
			topic = v.VIN() + "/#"
		}
		for attempt := 0; l.alive(); attempt++ {
			code, err := l.unsubscribe(ctx, topic)
			if err != nil || !v.mqttRetry("UNSUBACK", code) || attempt >= retries {
				if err != nil {
					v.logf("vehicle: MQTT: UNSUBSCRIBE: %v", err)
				}
				break
			}
			v.logf("vehicle: MQTT: UNSUBACK 0x%02X; UNSUBSCRIBE again in %v (Table 7-24)", code, interval)
			if !v.sleep(ctx, interval) {
				return
			}
		}
	}
	if !l.alive() {
		return
	}
	if v.quirks.Has("mqtt-no-disconnect") {
		l.end("IG-OFF (no DISCONNECT: quirk)")
		return
	}
	_ = l.c.Disconnect(&paho.Disconnect{ReasonCode: 0})
	l.end("IG-OFF: DISCONNECT sent (7.2.5.7)")
	v.logf("vehicle: MQTT: IG-OFF: DISCONNECT sent, session over")
}
