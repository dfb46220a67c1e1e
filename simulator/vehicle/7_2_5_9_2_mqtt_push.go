package vehicle

import (
	"strconv"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/icoc-dev/icoc/spec"
)

func init() {
	registerQuirk(QuirkInfo{Name: "mqtt-push-no-puback", Clause: "7.2.5.3", Breaks: "does not PUBACK a push (QoS 1)"})
	registerQuirk(QuirkInfo{Name: "mqtt-no-push-ack", Clause: "7.2.5.2", Breaks: "sends no acknowledgement PUBLISH for a push"})
	registerQuirk(QuirkInfo{Name: "mqtt-push-ack-default-topic", Clause: "7.2.5.2", Breaks: "acknowledges a push on <VIN>/<application>/V2C instead of its Response Topic"})
	registerQuirk(QuirkInfo{Name: "mqtt-push-ack-no-correlation", Clause: "7.2.5.2 (MQTT 4.10)", Breaks: "acknowledges a push without its Correlation Data"})
	registerQuirk(QuirkInfo{Name: "mqtt-push-ack-text", Clause: "7.2.5.2, 7.2.5.3", Breaks: "acknowledges a push with a text/plain body instead of a JSON Result (a variant: the acknowledgement's content is the application's)", Variant: true})
}

// onMQTTPublish takes one PUBLISH from the broker: a push on the push
// topic is recorded and acknowledged (7.2.5.2, register I-031, I-149) by a
// PUBLISH to its Response Topic with its Correlation Data (the QoS 1
// PUBACK is paho's). Topic aliases from the broker are resolved per
// connection.
func (v *Vehicle) onMQTTPublish(l *mqttLink, p *paho.Publish) {
	topic := p.Topic
	if p.Properties != nil && p.Properties.TopicAlias != nil {
		l.mu.Lock()
		if topic != "" {
			l.inAliases[*p.Properties.TopicAlias] = topic
		} else {
			topic = l.inAliases[*p.Properties.TopicAlias]
		}
		l.mu.Unlock()
	}
	vin := v.VIN()
	if topic != v.pushTopic() && v.doc.MQTTTopics.Style != spec.TopicStyleAsyncAPI {
		v.logf("vehicle: MQTT: a PUBLISH on %q, not the push topic: ignored", topic)
		return
	}
	var props paho.PublishProperties
	if p.Properties != nil {
		props = *p.Properties
	}
	push := Push{Body: append([]byte(nil), p.Payload...), At: time.Now()}
	if n, err := strconv.ParseUint(props.User.Get("app_id"), 10, 32); err == nil {
		push.AppID = uint32(n)
	}
	if n, err := strconv.ParseUint(props.User.Get("sub_id"), 10, 32); err == nil {
		push.SubID = uint32(n)
	}
	v.pushes.mu.Lock()
	v.pushes.pushes = append(v.pushes.pushes, push)
	v.pushes.mu.Unlock()
	if v.quirks.Has("mqtt-no-push-ack") {
		return
	}
	rt := props.ResponseTopic
	if v.quirks.Has("mqtt-push-ack-default-topic") {
		rt = ""
	}
	ackTopic, err := spec.PushAckTopic(rt, vin, v.cfg.MQTT.PushApplication)
	if err != nil {
		v.logf("vehicle: MQTT: push: %v", err)
		return
	}
	one := byte(1)
	ack := mqttMessage{name: "push acknowledgement", topic: ackTopic, realTime: true,
		payload: []byte(`{"status":"SUCCESS","messages":["push received"]}`),
		props:   paho.PublishProperties{PayloadFormat: &one, ContentType: "application/json", CorrelationData: props.CorrelationData}}
	if v.quirks.Has("mqtt-push-ack-text") {
		ack.payload, ack.props.ContentType = []byte("OK"), "text/plain"
	}
	if v.quirks.Has("mqtt-push-ack-no-correlation") {
		ack.props.CorrelationData = nil
	}
	v.mu.Lock()
	pctx := v.power
	v.mu.Unlock()
	go v.sendMQTT(pctx, ack)
}
