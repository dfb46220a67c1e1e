package mqtt_test

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/icoc-dev/icoc/harness"
	. "github.com/onsi/ginkgo/v2"
)

var (
	versionName      = harness.SpecName("7.2.5.1", "the DUT connects with MQTT version 5 (CONNECT protocol level 5)")
	enhancedAuthName = harness.SpecName("7.2.5.1", "the DUT uses no enhanced authentication: no Authentication Method in CONNECT, no AUTH packet")
	aliasUseName     = harness.SpecName("7.2.5.1", "repeated uploads over one connection use a topic alias, within the Topic Alias Maximum the center gave in CONNACK")
	aliasNoTAMName   = harness.SpecName("7.2.5.1", "without a Topic Alias Maximum in CONNACK the DUT sends no topic alias")
	aliasResetName   = harness.SpecName("7.2.5.1", "topic aliases start afresh on a new connection: its first PUBLISH on a topic carries the topic name")
)

// 7.2.5.1: "The MQTT version 5 protocol is supported." "Use the topic
// alias function to reduce communication volume." "Since MQTT security
// (confidentiality and authentication) is achieved by TLS, the extended
// authentication function should not be used." Topic aliases follow MQTT
// 5 §3.3.2.3.4: an alias is 1..the Topic Alias Maximum of CONNACK, none
// when it is absent (MQTT-3.3.2-8), and its mapping lasts one connection
// (MQTT-3.3.2-10).
var _ = Describe("7.2.5.1 Basic Specifications", func() {
	It(versionName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(igOffPause+firstWait), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.1", Rule: "The MQTT version 5 protocol is supported."}
		c := firstOf(ctx, sent("CONNECT", provokeConnect(ctx)), firstWait, req, "a CONNECT")
		if v := c.Header.Get("Mqtt-Protocol-Version"); v != "5" {
			Fail(harness.Verdict(req, "CONNECT with protocol level 5 (MQTT v5)", "protocol level "+v))
		}
	})

	It(enhancedAuthName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(igOffPause+firstWait+authWatch), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.1", Rule: "the extended authentication function should not be used"}
		since := provokeConnect(ctx)
		c := firstOf(ctx, sent("CONNECT", since), firstWait, req, "a CONNECT")
		if m := c.Header.Get("Authentication-Method"); m != "" {
			Fail(harness.Verdict(req, "no Authentication Method in CONNECT", fmt.Sprintf("Authentication Method %q", m)))
		}
		run.Wait(ctx, authWatch)
		if auth := attempts(sent("AUTH", since)); len(auth) > 0 {
			Fail(harness.Verdict(req, "no AUTH packet", harness.Timeline(auth, run.Clock)))
		}
	})

	It(aliasUseName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(2*firstWait /* two uploads */), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.1 (MQTT 3.3.2.3.4)", Rule: "Use the topic alias function to reduce communication volume."}
		ensureSession(ctx)
		pubs := twoUploads(ctx, req)
		if pubs[0].ConnID != pubs[1].ConnID {
			Skip("not applicable: the two uploads went over different connections")
		}
		tam := broker().TopicAliasMaximum()
		alias, _ := strconv.Atoi(pubs[1].Header.Get("Topic-Alias"))
		if alias < 1 || alias > int(tam) || pubs[1].Header.Get("Mqtt-Topic-On-Wire") != "" {
			Fail(harness.Verdict(req, fmt.Sprintf("the second PUBLISH on %s carries an alias 1..%d and no topic name", uploadTopic(), tam),
				fmt.Sprintf("Topic Alias %q, topic name on the wire %q", pubs[1].Header.Get("Topic-Alias"), pubs[1].Header.Get("Mqtt-Topic-On-Wire"))))
		}
	})

	It(aliasNoTAMName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(firstWait+2*firstWait /* a SUBSCRIBE, two uploads */), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.1 (MQTT-3.2.2-17, MQTT-3.3.2-8)", Rule: "a Client MUST NOT send a Topic Alias greater than the Topic Alias Maximum value returned by the Server in the CONNACK (absent: 0)"}
		ensureSession(ctx)
		b := broker()
		tam := b.TopicAliasMaximum()
		b.SetTopicAliasMaximum(0)
		DeferCleanup(func(ctx SpecContext) {
			b.SetTopicAliasMaximum(tam)
			b.Kick(vin()) // a connection with aliases again
		})
		since := kick()
		firstOf(ctx, sent("SUBSCRIBE", since), firstWait, req, "a SUBSCRIBE on the new connection")
		for _, p := range twoUploads(ctx, req) {
			if a := p.Header.Get("Topic-Alias"); a != "" {
				Fail(harness.Verdict(req, "no Topic Alias (CONNACK gave no Topic Alias Maximum)", "Topic Alias "+a+" on "+p.Path))
			}
		}
	})

	It(aliasResetName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(2*firstWait+firstWait+firstWait /* two uploads, a SUBSCRIBE, an upload */), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.1 (MQTT-3.3.2-10)", Rule: "Topic Alias mappings exist only within a Network Connection and last only for the lifetime of that Network Connection"}
		ensureSession(ctx)
		twoUploads(ctx, req)
		since := kick()
		firstOf(ctx, sent("SUBSCRIBE", since), firstWait, req, "a SUBSCRIBE on the new connection")
		from := time.Now()
		triggerUpload(ctx, true)
		// Any PUBLISH: one with an unknown alias resolves to no topic.
		p := firstOf(ctx, sent("PUBLISH", from), firstWait, req, "an upload PUBLISH on the new connection")
		if p.Header.Get("Mqtt-Topic-On-Wire") == "" {
			Fail(harness.Verdict(req, "the first PUBLISH on "+uploadTopic()+" of a new connection carries the topic name",
				"only Topic Alias "+p.Header.Get("Topic-Alias")+", a mapping of the old connection"))
		}
	})
})

// authWatch is how long the enhanced-authentication spec watches for an
// AUTH packet after the CONNECT.
const authWatch = 5 * time.Second

// twoUploads makes the DUT upload twice, the second after the first was
// acknowledged (each within firstWait), and returns the two PUBLISHes.
func twoUploads(ctx context.Context, req harness.Requirement) []harness.Attempt {
	var out []harness.Attempt
	for i := 0; i < 2; i++ {
		keep := triggerUpload(ctx, true)
		got := waitAttempts(ctx, keep, 1, firstWait, answered)
		if len(got) == 0 || !answered(got[0]) {
			Fail(harness.Verdict(req, fmt.Sprintf("upload %d of 2 published and acknowledged within %v of spec time", i+1, firstWait), harness.Timeline(got, run.Clock)))
		}
		out = append(out, got[0])
	}
	return out
}

func basicsQuirks() []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "mqtt-v311", Specs: []string{versionName}},
		{Quirk: "mqtt-enhanced-auth", Specs: []string{enhancedAuthName}},
		{Quirk: "mqtt-no-topic-alias", Specs: []string{aliasUseName}},
		{Quirk: "mqtt-alias-without-tam", Specs: []string{aliasNoTAMName}},
		{Quirk: "mqtt-alias-no-reset", Specs: []string{aliasResetName}},
	}
}
