package mqtt_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
)

var (
	uploadTopicName  = harness.SpecName("7.2.5.2", "uploads are published to <VIN>/<Application Name>/V2C, the VIN the DUT's own")
	subscribeName    = harness.SpecName("7.2.5.2", "the DUT subscribes to its pushes on <VIN>/<Application Name>/C2V, the VIN its own")
	pushAckTopicName = harness.SpecName("7.2.5.2", "a push is acknowledged by a PUBLISH to the push's Response Topic, verbatim, with its Correlation Data")
)

// 7.2.5.2: "Vehicle identifier shall be assigned as the topic name. [...]
// Topic name in PUBLISH: Topic= <Vehicle identifier >/<Application
// Name>/<Direction*> *Direction: C2V (Center->in-Car unit), V2C (in-Car
// unit->Center). Topic name used for Ack response when PUSH notification
// is received: Applications that received PUSH notification shall perform
// response PUBLISH to the Response Topic included in the PUBLISH of the
// PUSH notification." Register I-005 (the 7.2.5.2 form), I-031 (Response
// Topic verbatim, Correlation Data echoed).
var _ = Describe("7.2.5.2 Message Format", func() {
	It(uploadTopicName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(firstWait+strayWait), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.2 (I-005)", Rule: "Topic name in PUBLISH: Topic= <Vehicle identifier>/<Application Name>/<Direction> (V2C: in-Car unit to Center)"}
		ensureSession(ctx)
		since := time.Now()
		keep := triggerUpload(ctx, true)
		got := waitAttempts(ctx, keep, 1, firstWait, nil)
		if len(got) == 0 {
			// Not on the expected topic: show what the DUT published.
			all := waitAttempts(ctx, sent("PUBLISH", since), 1, strayWait, nil)
			Fail(harness.Verdict(req, "the upload on "+uploadTopic(), "PUBLISHes since the trigger:\n"+harness.Timeline(all, run.Clock)+topics(all)))
		}
		checkTopic(req, got[0].Path, spec.V2C)
	})

	It(subscribeName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(igOffPause+firstWait), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.2 (I-005)", Rule: "Topic= <Vehicle identifier>/<Application Name>/<Direction> (C2V: Center to in-Car unit)"}
		s := firstOf(ctx, sent("SUBSCRIBE", provokeConnect(ctx)), firstWait, req, "a SUBSCRIBE on a new connection")
		for _, f := range s.Header.Values(center.MQTTSubscription) {
			checkTopic(req, firstField(f), spec.C2V)
		}
	})

	It(pushAckTopicName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(ackWait), func(ctx SpecContext) {
		vehicleDUT()
		run.Requires("push")
		req := harness.Requirement{Clause: "7.2.5.2 (I-031)", Rule: "Applications that received PUSH notification shall perform response PUBLISH to the Response Topic included in the PUBLISH of the PUSH notification."}
		ensureSession(ctx)
		// A Response Topic of the harness's own choice, so that only one
		// taken verbatim matches.
		rt, _ := spec.MQTTPublishTopic(vin(), "pushack", spec.V2C)
		since := time.Now()
		ack, err := push(ctx, rt)
		if err != nil {
			got := attempts(sent("PUBLISH", since))
			Fail(harness.Verdict(req, fmt.Sprintf("a PUBLISH on %s with the push's Correlation Data within %v of spec time", rt, ackWait),
				fmt.Sprintf("%v; the DUT published:\n%s%s", err, harness.Timeline(got, run.Clock), topics(got))))
		}
		if ack.Topic != rt {
			Fail(harness.Verdict(req, "the acknowledgement on "+rt, "on "+ack.Topic))
		}
	})
})

// strayWait bounds the wait for any PUBLISH when the upload did not come
// on the expected topic.
const strayWait = 10 * time.Second

// push sends one push to the DUT with Response Topic rt (empty: the
// center's own) and waits up to ackWait (with the clock's patience) for
// its acknowledgement.
func push(ctx context.Context, rt string) (center.MQTTPushAck, error) {
	pctx, cancel := context.WithTimeout(ctx, run.Clock.Patience(ackWait)) // how soon is not judged here
	defer cancel()
	return broker().PushTo(pctx, vin(), 7, 3, []byte("icoc push"), rt)
}

// checkTopic fails unless topic is <the DUT's VIN>/<application>/dir.
func checkTopic(req harness.Requirement, topic string, dir spec.Direction) {
	v, app, d, err := spec.ParseMQTTPublishTopic(topic)
	switch {
	case err != nil:
		Fail(harness.Verdict(req, fmt.Sprintf("<VIN>/<Application Name>/%s", dir), fmt.Sprintf("%q: %v", topic, err)))
	case v != vin() || d != dir:
		Fail(harness.Verdict(req, fmt.Sprintf("%s/%s/%s", vin(), app, dir), fmt.Sprintf("%q", topic)))
	}
}

func topics(as []harness.Attempt) string {
	var b bytes.Buffer
	for _, a := range as {
		fmt.Fprintf(&b, "\n  topic %q (on the wire %q, alias %q)", a.Path, a.Header.Get(center.MQTTTopicOnWire), a.Header.Get("Topic-Alias"))
	}
	return b.String()
}

func firstField(s string) string {
	for i, c := range s {
		if c == ' ' {
			return s[:i]
		}
	}
	return s
}

func topicQuirks() []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "mqtt-topic-no-direction", Specs: []string{uploadTopicName, asyncAPIName}},
		{Quirk: "mqtt-subscribe-wildcard", Specs: []string{subscribeName, asyncAPIName}},
		{Quirk: "mqtt-push-ack-default-topic", Specs: []string{pushAckTopicName}},
		{Quirk: "mqtt-push-ack-no-correlation", Specs: []string{pushAckTopicName}},
		{Quirk: "mqtt-no-push-ack", Specs: []string{pushAckTopicName}},
	}
}
