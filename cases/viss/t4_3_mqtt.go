package visscases

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/harness/vissclient"
	. "github.com/onsi/ginkgo/v2"
)

// v3.0 TRANSPORT 4.3 (MQTT) and 4.3.1 (Application Level Protocol): the
// harness is the cloud-side client, the DUT's vehicle-side client is
// subscribed to VID/Vehicle on the broker (register I-299, I-323..I-327).
func init() {
	const period = 2 * time.Second
	timebased := map[string]any{"variant": "timebased", "parameter": map[string]any{"period": "2000"}}
	add(&specDef{
		topic: "mqtt vehicle-topic",
		// "the vehicle server—via its vehicle-side client—MUST subscribe to the broker on a topic named VID/Vehicle, where VID represents a unique identifier that links the vehicle to the access control ecosystem."
		v3:       &clause{"T4.3.1", "the vehicle server—via its vehicle-side client—MUST subscribe to the broker on a topic named VID/Vehicle, where VID represents a unique identifier that links the vehicle to the access control ecosystem."},
		text:     "a get of Vehicle.Speed published in an envelope to VID/Vehicle is answered with the value on the bus",
		quirks:   []string{"mqtt-not-subscribed"},
		variants: []string{"mqtt-qos0"},
		body: func(t *T) {
			c := t.mqtt()
			t.put(map[string]float64{pathSpeed: 42})
			t.wait(t.settle())
			m := t.mqttRequest(c, map[string]any{"action": "get", "path": pathSpeed})
			t.expectOK(m, "the get of "+pathSpeed+" over MQTT")
			v, _, ok := t.single(m)
			eq, why := t.equal(pathSpeed, t.latest(pathSpeed).Value, v)
			t.check(ok && eq, "the value of "+pathSpeed+" last put on the bus", why+": "+string(m.Raw))
		},
	}, &specDef{
		topic: "mqtt response-topic",
		// "Upon receiving a response, the vehicle client publishes the response message to the topic specified by the original "topic" field in the received message."
		v3:     &clause{"T4.3.1", `Upon receiving a response, the vehicle client publishes the response message to the topic specified by the original "topic" field in the received message.`},
		text:   "the answer to a get arrives on the topic the envelope named",
		quirks: []string{"mqtt-reply-on-vehicle-topic"},
		body: func(t *T) {
			c := t.mqtt()
			t.mqttRequest(c, map[string]any{"action": "get", "path": "Server.Support.Protocol"})
		},
	}, &specDef{
		topic: "mqtt primary-payload",
		// "The VISS messages transmitted over MQTT SHALL conform to the primary payload format without modification." / "The payload format of all response and event messages SHALL conform to the primary payload format defined in this specification."
		v3:     &clause{"T4.3", "The VISS messages transmitted over MQTT SHALL conform to the primary payload format without modification. [...] The payload format of all response and event messages SHALL conform to the primary payload format defined in this specification."},
		text:   "the answers to a get and a set over MQTT are VISS messages of the schema, unwrapped, echoing action and requestId",
		quirks: []string{"mqtt-envelope-reply"},
		body: func(t *T) {
			c := t.mqtt()
			for _, msg := range []map[string]any{
				{"action": "get", "path": "Server.Support.Filter"},
				{"action": "set", "path": pathTrip, "value": "3", "authorization": t.token("trip-reset")},
			} {
				id := c.NextID()
				msg["requestId"] = id
				m := t.mqttRequest(c, msg)
				t.check(m.Str("action") == msg["action"] && m.Str("requestId") == id,
					fmt.Sprintf("the %s response itself: action %q, requestId %q (register I-324)", msg["action"], msg["action"], id), string(m.Raw))
				t.expectOK(m, "the "+msg["action"].(string)+" over MQTT")
			}
		},
	}, &specDef{
		topic: "mqtt subscription-topic",
		// "For subscription requests, the vehicle client MUST store the subscriptionId from the subscribe response, together with the topic name associated to the subscribe request. When the vehicle server later issues event messages, the vehicle client SHALL extract the subscriptionId from it, and retrieve the topic name associated to it."
		v3:       &clause{"T4.3.1", "For subscription requests, the vehicle client MUST store the subscriptionId from the subscribe response, together with the topic name associated to the subscribe request. When the vehicle server later issues event messages, the vehicle client SHALL extract the subscriptionId from it, and retrieve the topic name associated to it."},
		text:     "after a later request on a new topic, the events of a timebased subscription still arrive on the subscribe request's topic",
		quirks:   []string{"mqtt-events-to-latest-topic"},
		variants: []string{"mqtt-qos0"},
		body: func(t *T) {
			c := t.mqtt()
			subTopic := c.Topic()
			id := t.mqttSubscribe(c, timebased)
			t.newTopic(c, false)
			t.mqttRequest(c, map[string]any{"action": "get", "path": "Server.Support.Protocol"})
			n := len(c.Events(id))
			evs := t.events(c, id, n+2, t.wall(3*period)+t.s.answerTimeout())
			t.check(len(evs) >= n+2, "events of subscription "+id+" every 2 s", fmt.Sprintf("%d events", len(evs)))
			for _, e := range evs {
				t.check(e.Topic == subTopic, "every event on "+subTopic+", the topic of the subscribe request (register I-326)", "an event on "+e.Topic+": "+string(e.Raw))
			}
		},
	}, &specDef{
		topic: "mqtt unsubscribe",
		// "The vehicle client SHALL delete the saved topic name and subscriptionId when it receives an unsubscribe request in a message from the broker."
		v3:     &clause{"T4.3.1", "The vehicle client SHALL delete the saved topic name and subscriptionId when it receives an unsubscribe request in a message from the broker."},
		text:   "an unsubscribe sent on another topic is answered there and no event of the subscription follows",
		quirks: []string{"mqtt-events-after-unsubscribe"},
		body: func(t *T) {
			c := t.mqtt()
			id := t.mqttSubscribe(c, timebased)
			t.events(c, id, 1, t.wall(2*period)+t.s.answerTimeout())
			t.newTopic(c, false)
			m := t.mqttRequest(c, map[string]any{"action": "unsubscribe", "subscriptionId": id})
			t.expectOK(m, "the unsubscribe of "+id+" on a new topic")
			t.wait(3 * period)
			slack := t.wall(t.run().Profile.Tolerance.Allowed(0)) + 50*time.Millisecond
			for _, e := range c.Events(id) {
				t.check(!e.At.After(m.At.Add(slack)), "no event of "+id+" after the unsubscribe answer at "+m.At.Format("15:04:05.000")+" (register I-326)",
					"an event at "+e.At.Format("15:04:05.000")+" on "+e.Topic+": "+string(e.Raw))
			}
		},
	}, &specDef{
		topic: "mqtt new-topic",
		// "In subsequent requests from the cloud client, the unique topic name MAY be reused from the previous request-response cycle, or a new unique topic name MAY be generated. If a new topic name is used, the previous one SHOULD be unsubscribed."
		v3:     &clause{"T4.3.1", "In subsequent requests from the cloud client, the unique topic name MAY be reused from the previous request-response cycle, or a new unique topic name MAY be generated. If a new topic name is used, the previous one SHOULD be unsubscribed."},
		text:   "a second get on the same topic and a third on a new topic (the old one unsubscribed) are each answered on their topic",
		quirks: []string{"mqtt-topic-pinned"},
		body: func(t *T) {
			c := t.mqtt()
			t.mqttRequest(c, map[string]any{"action": "get", "path": "Server.Support.Protocol"})
			t.mqttRequest(c, map[string]any{"action": "get", "path": "Server.Support.Filter"})
			t.newTopic(c, true)
			t.mqttRequest(c, map[string]any{"action": "get", "path": "Server.Support.Protocol"})
		},
	}, &specDef{
		topic: "mqtt two-clients",
		// "When the cloud client intends to send a request to the vehicle server, it first generates a unique topic name and subscribes to it via the broker." [...] "the vehicle client publishes the response message to the topic specified by the original "topic" field in the received message."
		v3:     &clause{"T4.3.1", `When the cloud client intends to send a request to the vehicle server, it first generates a unique topic name and subscribes to it via the broker. [...] the vehicle client publishes the response message to the topic specified by the original "topic" field in the received message.`},
		text:   "two clients on their own topics sending gets with the same requestId at once each get the answer to their own get",
		quirks: []string{"mqtt-route-by-requestid"},
		body: func(t *T) {
			a, b := t.mqtt(), t.mqtt()
			id := a.NextID()
			paths := []string{"Server.Support.Protocol", "Server.Support.Filter"}
			var wg sync.WaitGroup
			answers := make([]*vissclient.Message, 2)
			errs := make([]error, 2)
			for i, c := range []*vissclient.Conn{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answers[i], errs[i] = c.Request(t.ctx, map[string]any{"action": "get", "path": paths[i], "requestId": id}, t.s.answerTimeout())
				}()
			}
			wg.Wait()
			for i, c := range []*vissclient.Conn{a, b} {
				if errs[i] != nil {
					t.fail(fmt.Sprintf("an answer to the get of %s (requestId %s) on %s (register I-326)", paths[i], id, c.Topic()), errs[i].Error())
				}
				t.conform(answers[i])
				got := t.values(answers[i])
				_, own := got[paths[i]]
				t.check(own && answers[i].Topic == c.Topic(), fmt.Sprintf("the answer with %s on %s", paths[i], c.Topic()), "on "+answers[i].Topic+": "+string(answers[i].Raw))
			}
		},
	})
}

// mqtt opens a Conn on a fresh unique topic of the suite's cloud-side MQTT
// client; not applicable without an MQTT endpoint.
func (t *T) mqtt() *vissclient.Conn {
	GinkgoHelper()
	if t.ep.MQTT == nil {
		t.skip(fmt.Sprintf("the DUT profile %s gives its %s server no MQTT endpoint (viss.servers[].mqtt)", t.run().Profile.Name, t.d.Tag))
	}
	t.mqttReady()
	if t.mq == nil {
		// One connection per spec (the broker keeps one session per
		// Client ID; the harness cuts MQTT connections between specs),
		// closed with the spec's connections.
		cl, err := vissclient.DialMQTT(t.ctx, t.ep)
		if err != nil {
			t.fail("a connection to the broker "+t.ep.MQTT.Broker+" as "+t.ep.MQTT.ClientID, err.Error())
		}
		t.mq = cl
	}
	c, err := t.mq.Open(t.ctx)
	if err != nil {
		t.fail("a unique topic subscribed on the broker", err.Error())
	}
	t.conns = append(t.conns, c)
	return c
}

// mqttReady waits (at most the answer timeout) until the DUT's vehicle
// client is connected to the harness's broker and subscribed, when the
// harness runs it. The harness cuts MQTT connections when a spec starts
// (Center.SetALPN): the broker notices within a moment, so a connection
// that still shows is first given 200 ms to go.
func (t *T) mqttReady() {
	r := t.run()
	if r.MQTT == nil || r.MQTT.Broker == nil || t.ep.MQTT.Broker != r.MQTT.Broker.Addr() {
		return
	}
	b, vid := r.MQTT.Broker, t.ep.MQTT.VID
	gone := time.Now().Add(200 * time.Millisecond)
	for b.Connected(vid) && time.Now().Before(gone) {
		time.Sleep(10 * time.Millisecond)
	}
	deadline := time.Now().Add(t.s.answerTimeout())
	for !(b.Connected(vid) && b.Subscribed(vid, vid+"/Vehicle")) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// mqttRequest sends msg in an envelope naming c's topic; the answer must
// come on that topic and conform.
func (t *T) mqttRequest(c *vissclient.Conn, msg map[string]any) *vissclient.Message {
	GinkgoHelper()
	topic := c.Topic()
	m, err := c.Request(t.ctx, msg, t.s.answerTimeout())
	if err != nil {
		b := fmt.Sprint(msg)
		t.fail(fmt.Sprintf("an answer on %s to %s published to %s/Vehicle (register I-326)", topic, b, t.ep.MQTT.VID), err.Error()+t.brokerView())
	}
	t.check(m.Topic == topic, "the answer on "+topic+", the topic the envelope named", "on "+m.Topic+": "+string(m.Raw))
	t.conform(m)
	return m
}

// brokerView says what the harness's broker knows of the vehicle client.
func (t *T) brokerView() string {
	r := t.run()
	if r.MQTT == nil || r.MQTT.Broker == nil {
		return ""
	}
	vid := t.ep.MQTT.VID
	return fmt.Sprintf("\nbroker: client %s connected %t, subscribed to %s/Vehicle %t", vid, r.MQTT.Broker.Connected(vid), vid, r.MQTT.Broker.Subscribed(vid, vid+"/Vehicle"))
}

// mqttSubscribe subscribes Vehicle.Speed with filter over MQTT.
func (t *T) mqttSubscribe(c *vissclient.Conn, filter any) string {
	GinkgoHelper()
	t.put(map[string]float64{pathSpeed: 17})
	t.wait(t.settle())
	m := t.mqttRequest(c, map[string]any{"action": "subscribe", "path": pathSpeed, "filter": filter})
	t.expectOK(m, "the subscription over MQTT")
	id := m.Str("subscriptionId")
	if id == "" {
		t.fail("a subscribe answer with a subscriptionId", string(m.Raw))
	}
	DeferCleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), t.s.answerTimeout())
		defer cancel()
		_, _ = c.Request(ctx, map[string]any{"action": "unsubscribe", "subscriptionId": id}, t.s.answerTimeout())
	})
	return id
}

// newTopic makes c's later requests name a new unique topic.
func (t *T) newTopic(c *vissclient.Conn, dropOld bool) {
	GinkgoHelper()
	if _, err := c.NewTopic(t.ctx, dropOld); err != nil {
		t.fail("a new unique topic subscribed on the broker", err.Error())
	}
}
