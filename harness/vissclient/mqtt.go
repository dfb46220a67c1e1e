package vissclient

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
	paholog "github.com/eclipse/paho.golang/paho/log"
	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/spec/viss"
)

// MQTTClient is the harness's cloud-side VISS client over MQTT (v3.0
// TRANSPORT 4.3): one MQTT v5 connection to the broker, with the
// identity of the endpoint (Client ID = certificate CN), on which any
// number of Conns each use their own unique response topics
// (<ClientID>/<random>). A request goes out as the envelope
// {"topic":"<the Conn's topic>","request":"<the request as a string>"},
// published to VID/Vehicle; every message on a Conn's topics is validated
// as over a WebSocket. Safe for concurrent use.
type MQTTClient struct {
	ep     harness.VISSEndpoint
	c      *paho.Client
	conn   net.Conn
	schema *vissspec.Schema

	mu     sync.Mutex
	routes map[string]*Conn // topic -> the Conn it belongs to
	err    error
}

// mqttConn is the MQTT side of a Conn: its topics.
type mqttConn struct {
	cl     *MQTTClient
	mu     sync.Mutex
	topic  string   // where answers to the next request go
	topics []string // every topic still subscribed
}

// DialMQTT connects to ep's broker (ep.MQTT) with ep's identity.
func DialMQTT(ctx context.Context, ep harness.VISSEndpoint) (*MQTTClient, error) {
	m := ep.MQTT
	if m == nil {
		return nil, fmt.Errorf("the %s server has no MQTT endpoint (viss.servers[].mqtt)", ep.Dialect.Tag)
	}
	s, err := ep.Dialect.Schema()
	if err != nil {
		return nil, err
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: m.TLS.Clone()}
	conn, err := d.DialContext(ctx, "tcp", m.Broker)
	if err != nil {
		return nil, fmt.Errorf("MQTT broker %s: %w", m.Broker, err)
	}
	cl := &MQTTClient{ep: ep, conn: conn, schema: s, routes: map[string]*Conn{}}
	cl.c = paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(p paho.PublishReceived) (bool, error) {
			at := time.Now()
			cl.mu.Lock()
			c := cl.routes[p.Packet.Topic]
			cl.mu.Unlock()
			if c != nil {
				c.receive(p.Packet.Payload, at, p.Packet.Topic)
			}
			return true, nil
		}},
		OnClientError:      func(err error) { cl.fail(err) },
		OnServerDisconnect: func(d *paho.Disconnect) { cl.fail(fmt.Errorf("the broker sent DISCONNECT 0x%02X", d.ReasonCode)) },
	})
	cl.c.SetErrorLogger(paholog.NOOPLogger{})
	ca, err := cl.c.Connect(ctx, &paho.Connect{ClientID: m.ClientID, KeepAlive: 30, CleanStart: true})
	if err != nil {
		_ = conn.Close()
		if ca != nil {
			return nil, fmt.Errorf("MQTT CONNECT as %s to %s: CONNACK 0x%02X", m.ClientID, m.Broker, ca.ReasonCode)
		}
		return nil, fmt.Errorf("MQTT CONNECT as %s to %s: %w", m.ClientID, m.Broker, err)
	}
	return cl, nil
}

// fail ends every Conn: the connection is gone.
func (cl *MQTTClient) fail(err error) {
	cl.mu.Lock()
	if cl.err == nil {
		cl.err = err
	}
	conns := map[*Conn]bool{}
	for _, c := range cl.routes {
		conns[c] = true
	}
	cl.mu.Unlock()
	for c := range conns {
		c.ended(err)
	}
}

// Err is why the connection ended, or nil while it is up.
func (cl *MQTTClient) Err() error {
	select {
	case <-cl.c.Done():
		cl.fail(errors.New("the MQTT connection ended"))
	default:
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.err
}

// Close disconnects.
func (cl *MQTTClient) Close() error {
	_ = cl.c.Disconnect(&paho.Disconnect{ReasonCode: 0})
	return cl.conn.Close()
}

// VehicleTopic is VID/Vehicle, where requests go.
func (cl *MQTTClient) VehicleTopic() string { return cl.ep.MQTT.VID + "/Vehicle" }

// NewTopic subscribes to a fresh unique topic and returns it.
func (cl *MQTTClient) NewTopic(ctx context.Context) (string, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	topic := cl.ep.MQTT.ClientID + "/" + hex.EncodeToString(b)
	sa, err := cl.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}})
	if err != nil {
		return "", fmt.Errorf("SUBSCRIBE %s: %w", topic, err)
	}
	if len(sa.Reasons) == 0 || sa.Reasons[0] >= 0x80 {
		return "", fmt.Errorf("SUBSCRIBE %s: SUBACK %v", topic, sa.Reasons)
	}
	return topic, nil
}

// Open returns a Conn on a fresh unique topic.
func (cl *MQTTClient) Open(ctx context.Context) (*Conn, error) {
	if err := cl.Err(); err != nil {
		return nil, err
	}
	topic, err := cl.NewTopic(ctx)
	if err != nil {
		return nil, err
	}
	c := newConn(cl.ep.Dialect, cl.schema, "mqtt")
	c.record(cl.ep.Recorder)
	mc := &mqttConn{cl: cl, topic: topic, topics: []string{topic}}
	c.mq = mc
	cl.mu.Lock()
	cl.routes[topic] = c
	cl.mu.Unlock()
	c.write = func(ctx context.Context, b []byte) error {
		mc.mu.Lock()
		t := mc.topic
		mc.mu.Unlock()
		env, _ := json.Marshal(map[string]string{"topic": t, "request": string(b)})
		return cl.Publish(ctx, env)
	}
	c.closer = func() error {
		mc.mu.Lock()
		ts := mc.topics
		mc.topics = nil
		mc.mu.Unlock()
		for _, t := range ts {
			cl.drop(t)
		}
		return nil
	}
	return c, nil
}

// Publish sends payload as it is to VID/Vehicle (QoS 1).
func (cl *MQTTClient) Publish(ctx context.Context, payload []byte) error {
	pr, err := cl.c.Publish(ctx, &paho.Publish{Topic: cl.VehicleTopic(), QoS: 1, Payload: payload})
	if err != nil {
		return fmt.Errorf("PUBLISH %s: %w", cl.VehicleTopic(), err)
	}
	if pr != nil && pr.ReasonCode >= 0x80 {
		return fmt.Errorf("PUBLISH %s: PUBACK 0x%02X", cl.VehicleTopic(), pr.ReasonCode)
	}
	return nil
}

// drop unsubscribes topic and forgets its route.
func (cl *MQTTClient) drop(topic string) {
	cl.mu.Lock()
	delete(cl.routes, topic)
	cl.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = cl.c.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{topic}})
}

// ErrNotMQTT says a Conn is a WebSocket.
var ErrNotMQTT = errors.New("not an MQTT connection")

// Topic is the topic the Conn's next request names ("" over a WebSocket).
func (c *Conn) Topic() string {
	if c.mq == nil {
		return ""
	}
	c.mq.mu.Lock()
	defer c.mq.mu.Unlock()
	return c.mq.topic
}

// NewTopic makes the Conn's later requests name a fresh unique topic
// (v3.0 TRANSPORT 4.3.1: "a new unique topic name MAY be generated");
// with dropOld it unsubscribes the previous one ("the previous one SHOULD
// be unsubscribed"), else it keeps receiving there (the events of the
// subscriptions made on it). It returns the new topic.
func (c *Conn) NewTopic(ctx context.Context, dropOld bool) (string, error) {
	if c.mq == nil {
		return "", ErrNotMQTT
	}
	cl := c.mq.cl
	topic, err := cl.NewTopic(ctx)
	if err != nil {
		return "", err
	}
	cl.mu.Lock()
	cl.routes[topic] = c
	cl.mu.Unlock()
	c.mq.mu.Lock()
	old := c.mq.topic
	c.mq.topic = topic
	c.mq.topics = append(c.mq.topics, topic)
	if dropOld {
		for i, t := range c.mq.topics {
			if t == old {
				c.mq.topics = append(c.mq.topics[:i:i], c.mq.topics[i+1:]...)
				break
			}
		}
	}
	c.mq.mu.Unlock()
	if dropOld {
		cl.drop(old)
	}
	return topic, nil
}
