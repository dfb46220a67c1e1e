package vehicle

import (
	"context"
	"errors"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/icoc-dev/icoc/spec"
)

func init() {
	registerQuirk(QuirkInfo{Name: "mqtt-qos0", Clause: "7.2.5.3", Breaks: "publishes with QoS 0"})
	registerQuirk(QuirkInfo{Name: "mqtt-no-pfi", Clause: "7.2.5.3", Breaks: "publishes without Payload Format Indicator"})
	registerQuirk(QuirkInfo{Name: "mqtt-content-type", Clause: "7.2.5.3", Breaks: "publishes with this Content Type", Arg: "string"})
	registerQuirk(QuirkInfo{Name: "mqtt-topic-no-direction", Clause: "7.2.5.2", Breaks: "publishes uploads to <VIN>/<application>, without the V2C level"})
}

// errNoSession is an attempt that found no MQTT session within the wait.
var errNoSession = errors.New("no MQTT session")

// mqttMessage is one application message the vehicle publishes and
// retries: an upload or a push acknowledgement.
type mqttMessage struct {
	name     string
	topic    string
	payload  []byte
	props    paho.PublishProperties
	realTime bool
}

// deliverMQTT is deliver over MQTT (7.2.5.9.1): the file goes as one QoS 1
// PUBLISH to <VIN>/can/V2C with Payload Format Indicator 0, Content Type
// application/octet-stream and its Appendix 1 §2 name in the user property
// "filename" (register I-148).
func (v *Vehicle) deliverMQTT(ctx context.Context, job uploadJob) bool {
	topic, err := v.doc.UploadTopic(v.VIN(), v.cfg.MQTT.Application)
	if err != nil {
		v.logf("vehicle: MQTT upload %s: %v", job.name, err)
		return false
	}
	if v.quirks.Has("mqtt-topic-no-direction") {
		topic, _ = spec.MQTTTopic(v.VIN(), v.cfg.MQTT.Application)
	}
	zero := byte(0)
	props := paho.PublishProperties{PayloadFormat: &zero, ContentType: "application/octet-stream"}
	props.User.Add("filename", job.name)
	return v.sendMQTT(ctx, mqttMessage{name: job.name, topic: topic, payload: job.data, props: props, realTime: job.realTime})
}

// sendMQTT runs the retry engine of 7.2.5.4 to 7.2.5.6 for one message:
// PUBACK codes by Table 7-22 (a Retry-Yes code is published again, as a
// new message, register I-141), the count and interval of Table 7-25; a
// PUBACK that does not come within 30 s (7.2.5.5) ends the connection, and
// the message goes again on the next one after a growing interval
// (I-016, I-142). It reports whether the message is settled (acknowledged,
// or refused with a code that is not retried); false means the retries
// were spent or ctx ended, and the caller keeps the data.
func (v *Vehicle) sendMQTT(ctx context.Context, m mqttMessage) bool {
	s := v.mqtt
	s.addBusy(1)
	defer s.addBusy(-1)
	rule := v.doc.MQTTUploadRetryRule(m.realTime)
	retries := v.quirks.Int("retries", rule.Retries)
	interval := time.Duration(float64(rule.Interval) * v.quirks.Float("interval-factor", 1))
	qos := byte(1) // 7.2.5.3
	if v.quirks.Has("mqtt-qos0") {
		qos = 0
	}
	props := m.props
	if v.quirks.Has("mqtt-no-pfi") {
		props.PayloadFormat = nil
	}
	if ct := v.quirks.String("mqtt-content-type"); ct != "" {
		props.ContentType = ct
	}
	timeouts := 0
	for attempt := 0; ; attempt++ {
		l := s.await(ctx, v.ackTimeout("CONNACK"))
		code, err := 0, errNoSession
		if l != nil {
			code, err = l.publish(ctx, m.topic, m.payload, props, qos)
		}
		if ctx.Err() != nil {
			return false
		}
		switch {
		case err == nil && code < 0x80 && !v.mqttRetry("PUBACK", code):
			v.logf("vehicle: MQTT: %s delivered (PUBACK 0x%02X) after %d retries", m.name, code, attempt)
			return true
		case err == nil && !v.mqttRetry("PUBACK", code):
			v.logf("vehicle: MQTT: %s answered PUBACK 0x%02X: not retried (Table 7-22), discarded", m.name, code)
			return true
		case err == nil:
			v.logf("vehicle: MQTT: %s answered PUBACK 0x%02X: retried (Table 7-22)", m.name, code)
		default:
			v.logf("vehicle: MQTT: %s: %v", m.name, err)
			if v.quirks.Has("no-buffering-on-link-loss") {
				v.logf("vehicle: MQTT: %s: no answer; dropped (quirk no-buffering-on-link-loss)", m.name)
				return true
			}
			if errors.Is(err, errAckTimeout) {
				// MQTT-4.4.0-1 forbids sending it again on this connection:
				// end it; the session reconnects (I-142).
				l.end("no PUBACK within the wait (7.2.5.5)")
				timeouts++
			}
		}
		if attempt >= retries {
			v.logf("vehicle: MQTT: %s: %d retries spent (Table 7-25)", m.name, retries)
			return err == nil && code < 0x80
		}
		if err != nil && v.quirks.Has("link-retry-at-once") {
			if !v.sleep(ctx, time.Second) {
				return false
			}
			continue
		}
		if !v.sleep(ctx, v.backoff(interval, timeouts)) {
			return false
		}
	}
}
