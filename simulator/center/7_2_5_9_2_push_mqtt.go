package center

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// MQTTPushAck is a vehicle's acknowledgement of a push over MQTT (7.2.5.2:
// a PUBLISH to the push's Response Topic; register I-031, I-149).
type MQTTPushAck struct {
	Topic           string
	Payload         []byte
	CorrelationData []byte
	ContentType     string
	// PayloadFormat is the Payload Format Indicator; nil when absent.
	PayloadFormat *byte
	QoS           byte
	At            time.Time
}

// pushWait is one push waiting for its acknowledgement.
type pushWait struct {
	vin  string
	once sync.Once
	done chan struct{}
	ack  MQTTPushAck
}

func (w *pushWait) acked(pk packets.Packet) {
	w.once.Do(func() {
		w.ack = MQTTPushAck{Topic: pk.TopicName, Payload: append([]byte(nil), pk.Payload...), CorrelationData: pk.Properties.CorrelationData,
			ContentType: pk.Properties.ContentType, QoS: pk.FixedHeader.Qos, At: time.Now()}
		if pk.Properties.PayloadFormatFlag {
			v := pk.Properties.PayloadFormat
			w.ack.PayloadFormat = &v
		}
		close(w.done)
	})
}

// PushTopics returns the topic the center pushes to vin on and the
// Response Topic it asks the acknowledgement on, in the topic style in
// force (7.2.5.2; register I-031, I-149).
func (b *Broker) PushTopics(vin string, appID, subID uint32) (topic, response string, err error) {
	d := b.doc
	if topic, err = d.PushTopic(vin, b.cfg.PushApplication, int32(appID), int32(subID)); err != nil {
		return "", "", err
	}
	response, err = d.UploadTopic(vin, b.cfg.PushApplication)
	return topic, response, err
}

// Push sends one push to vehicle vin (7.2.5.9.2): a QoS 1 PUBLISH on
// <VIN>/push/C2V with Payload Format Indicator 0, Content Type
// application/octet-stream, a Response Topic, fresh Correlation Data and
// the user properties app_id and sub_id. It waits until the vehicle holds
// a session subscribed to that topic, then until the vehicle acknowledges
// on the Response Topic with the same Correlation Data, or ctx ends.
func (b *Broker) Push(ctx context.Context, vin string, appID, subID uint32, payload []byte) (MQTTPushAck, error) {
	return b.PushTo(ctx, vin, appID, subID, payload, "")
}

// PushTo is Push with the Response Topic response instead of the center's
// own (empty: the center's own); a vehicle must answer on it verbatim.
func (b *Broker) PushTo(ctx context.Context, vin string, appID, subID uint32, payload []byte, response string) (MQTTPushAck, error) {
	topic, own, err := b.PushTopics(vin, appID, subID)
	if err != nil {
		return MQTTPushAck{}, err
	}
	if response == "" {
		response = own
	}
	if err := b.waitSubscribed(ctx, vin, topic); err != nil {
		return MQTTPushAck{}, err
	}
	cd := make([]byte, 8)
	_, _ = rand.Read(cd)
	w := &pushWait{vin: vin, done: make(chan struct{})}
	b.mu.Lock()
	b.pushes[hex.EncodeToString(cd)] = w
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.pushes, hex.EncodeToString(cd))
		b.mu.Unlock()
	}()
	props := packets.Properties{
		PayloadFormat: 0, PayloadFormatFlag: true,
		ContentType:     "application/octet-stream",
		ResponseTopic:   response,
		CorrelationData: cd,
		User: []packets.UserProperty{
			{Key: MQTTAppIDProp, Val: strconv.FormatUint(uint64(appID), 10)},
			{Key: MQTTSubIDProp, Val: strconv.FormatUint(uint64(subID), 10)},
		},
	}
	if b.s.apiQuirks.Has("mqtt-push-no-response-topic") {
		props.ResponseTopic = ""
	}
	if err := b.Publish(topic, payload, props); err != nil {
		return MQTTPushAck{}, fmt.Errorf("push to %s: %w", vin, err)
	}
	select {
	case <-w.done:
		return w.ack, nil
	case <-ctx.Done():
		return MQTTPushAck{}, fmt.Errorf("push to %s on %s: no acknowledgement on %s: %w", vin, topic, response, ctx.Err())
	}
}

// waitSubscribed waits until client id is connected and subscribed to a
// filter that matches topic.
func (b *Broker) waitSubscribed(ctx context.Context, id, topic string) error {
	if err := b.waitConnected(ctx, id); err != nil {
		return err
	}
	for !b.Subscribed(id, topic) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the vehicle %s is not subscribed to %s: %v", id, topic, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}
