package mqtt_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
)

var (
	qosPublishName   = harness.SpecName("7.2.5.3", "every PUBLISH of the DUT (uploads, push acknowledgements) has QoS 1")
	qosSubscribeName = harness.SpecName("7.2.5.3", "the DUT subscribes with QoS 1")
	pubackName       = harness.SpecName("7.2.5.3", "the DUT acknowledges a push (QoS 1) with PUBACK")
	formatName       = harness.SpecName("7.2.5.3", "every PUBLISH of the DUT carries Payload Format Indicator 0 or 1 (1 only on UTF-8) and a Content Type of 7.2.5.3")
	keepAliveName    = harness.SpecName("7.2.5.3", "CONNECT carries a non-zero Keep Alive and the DUT sends a packet at least every Keep Alive")
	serverKAName     = harness.SpecName("7.2.5.3", "with a Server Keep Alive in CONNACK the DUT sends a packet at least every Server Keep Alive")
)

// 7.2.5.3: "The QoS of the fixed header shall be set to "1 (At least once
// delivery)". For CONNECT, the variable header "keep alive" shall be used.
// [...] For PUBLISH, use the following variable header Property. Payload
// Format Indicator: 0 (0x00) Byte, 1 (0x01) UTF-8 (RFC 3629); Content
// Type: Based on RFC6838, one of the following must be set [...]
// application/octet-stream, application/x-protobuf, application/json,
// text/plain". 7.2.5.7: "Keep alive between in-Car unit and the center
// shall be performed from client side." Register I-043: any non-zero
// value; MQTT 3.1.2.10 and 3.2.2.3.14 (Server Keep Alive).
var _ = Describe("7.2.5.3 Header Definition", func() {
	It(qosPublishName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(uploadAndAckTime), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.3", Rule: `The QoS of the fixed header shall be set to "1 (At least once delivery)".`}
		for _, p := range uploadAndAck(ctx, req) {
			if q := p.Header.Get(center.MQTTQoS); q != "1" {
				Fail(harness.Verdict(req, "QoS 1", fmt.Sprintf("QoS %s on %s", q, p.Path)))
			}
		}
	})

	It(qosSubscribeName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(igOffPause+firstWait), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.3", Rule: `The QoS of the fixed header shall be set to "1 (At least once delivery)".`}
		s := firstOf(ctx, sent("SUBSCRIBE", provokeConnect(ctx)), firstWait, req, "a SUBSCRIBE on a new connection")
		for _, f := range s.Header.Values(center.MQTTSubscription) {
			if !strings.Contains(f, " qos=1 ") {
				Fail(harness.Verdict(req, "SUBSCRIBE with maximum QoS 1", f))
			}
		}
	})

	It(pubackName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(ackWait+ackWait), func(ctx SpecContext) {
		vehicleDUT()
		run.Requires("push")
		req := harness.Requirement{Clause: "7.2.5.3 (MQTT 4.3.2)", Rule: `QoS 1 (At least once delivery): the receiver of a QoS 1 PUBLISH responds with a PUBACK`}
		ensureSession(ctx)
		since := time.Now()
		_, _ = push(ctx, "")
		got := waitAttempts(ctx, toDUT(since), 1, ackWait, answered)
		if len(got) == 0 || !answered(got[0]) || got[0].AnsweredBy != "client" {
			Fail(harness.Verdict(req, fmt.Sprintf("a PUBACK for the push within %v of spec time", ackWait), "none:\n"+harness.Timeline(got, run.Clock)))
		}
		if got[0].Code >= 0x80 {
			Fail(harness.Verdict(req, "PUBACK with a success code", fmt.Sprintf("PUBACK 0x%02X", got[0].Code)))
		}
	})

	It(formatName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(uploadAndAckTime), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.3", Rule: "For PUBLISH, use the following variable header Property: Payload Format Indicator (0 Byte, 1 UTF-8), Content Type (one of application/octet-stream, application/x-protobuf, application/json, text/plain)"}
		for _, p := range uploadAndAck(ctx, req) {
			var pfi *byte
			if v := p.Header.Get("Payload-Format-Indicator"); v != "" {
				n, _ := strconv.Atoi(v)
				b := byte(n)
				pfi = &b
			}
			body := p.Header.Get(center.MQTTPayloadUTF8) == "true"
			payload := []byte{0xff} // stands for "not UTF-8"
			if body {
				payload = nil
			}
			if err := spec.CheckPublishFormat(pfi, p.Header.Get("Content-Type"), payload); err != nil {
				Fail(harness.Verdict(req, "Payload Format Indicator and Content Type of 7.2.5.3 on every PUBLISH", fmt.Sprintf("PUBLISH on %s: %v", p.Path, err)))
			}
		}
	})

	It(keepAliveName, harness.Labels(harness.MQTT, harness.VehicleDUT, harness.Slow), harness.SpecTime(firstWait+keepAliveWatch), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.3, 7.2.5.7 (I-043; MQTT 3.1.2.10)", Rule: `For CONNECT, the variable header "keep alive" shall be used. Keep alive between in-Car unit and the center shall be performed from client side.`}
		ensureSession(ctx)
		c := firstOf(ctx, sent("CONNECT", kick()), firstWait, req, "a CONNECT after the connection was dropped")
		ka, _ := strconv.Atoi(c.Header.Get(center.MQTTKeepAlive))
		if ka <= 0 {
			Fail(harness.Verdict(req, "a non-zero Keep Alive in CONNECT", "Keep Alive "+c.Header.Get(center.MQTTKeepAlive)))
		}
		judgeKeepAlive(ctx, req, c, time.Duration(ka)*time.Second)
	})

	It(serverKAName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(firstWait+keepAliveSpan(serverKeepAlive, allowance)), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.3 (MQTT-3.2.2-21)", Rule: "If the Server sends a Server Keep Alive on the CONNACK packet, the Client MUST use this value instead of the Keep Alive value the Client sent on CONNECT"}
		ensureSession(ctx)
		const ska = int(serverKeepAlive / time.Second)
		b := broker()
		b.SetServerKeepAlive(uint16(ska))
		DeferCleanup(func() {
			b.SetServerKeepAlive(0)
			b.Kick(vin())
		})
		c := firstOf(ctx, sent("CONNECT", kick()), firstWait, req, "a CONNECT after the connection was dropped")
		if ka, _ := strconv.Atoi(c.Header.Get(center.MQTTKeepAlive)); ka > 0 && ka <= ska {
			Skip(fmt.Sprintf("not applicable: the DUT's own Keep Alive (%d s) is no longer than the Server Keep Alive of the test (%d s)", ka, ska))
		}
		judgeKeepAlive(ctx, req, c, serverKeepAlive)
	})
})

// uploadAndAckTime is the most uploadAndAck waits.
const uploadAndAckTime = firstWait + ackWait + settle

// uploadAndAck makes the DUT upload once and acknowledge a push (when it
// takes pushes), and returns its PUBLISHes.
func uploadAndAck(ctx context.Context, req harness.Requirement) []harness.Attempt {
	ensureSession(ctx)
	since := time.Now()
	keep := triggerUpload(ctx, true)
	if got := waitAttempts(ctx, keep, 1, firstWait, nil); len(got) == 0 {
		Fail(harness.Verdict(req, fmt.Sprintf("an upload PUBLISH within %v of spec time", firstWait), "none"))
	}
	if run.Profile.Has("push") {
		_, _ = push(ctx, "")
	}
	run.Wait(ctx, settle)
	return attempts(sent("PUBLISH", since))
}

// serverKeepAlive is the Server Keep Alive the harness gives in CONNACK.
const serverKeepAlive = 10 * time.Second

// longestKeepAlive is the longest Keep Alive of which the keep-alive spec
// watches three whole periods; a DUT's Keep Alive is its own choice
// (register I-043), and the spec time it covers has to be declared before
// the DUT announces one.
const longestKeepAlive = 5 * time.Minute

// keepAliveWatch is the most the keep-alive spec watches a connection.
var keepAliveWatch = keepAliveSpan(longestKeepAlive, allowance)

// keepAliveSpan is the watch of three Keep Alive periods ka, with the
// timing tolerance allowed.
func keepAliveSpan(ka time.Duration, allowed func(time.Duration) time.Duration) time.Duration {
	return 3*ka + allowed(ka)
}

// judgeKeepAlive watches the connection the CONNECT c opened for three
// keep-alive periods (for a Keep Alive above longestKeepAlive, as many as
// keepAliveWatch holds, at least one): the DUT must send a packet
// (PINGREQ or any other) at least every ka (MQTT 3.1.2.10), within the
// tolerance.
func judgeKeepAlive(ctx context.Context, req harness.Requirement, c harness.Attempt, ka time.Duration) {
	tol := run.Profile.Tolerance
	watch := min(keepAliveSpan(ka, tol.Allowed), keepAliveWatch)
	if watch < ka+tol.Allowed(ka) {
		Skip(fmt.Sprintf("not judged: the DUT's Keep Alive %v is longer than one period fits into the %v of spec time this spec watches a connection (Keep Alive up to %v: three periods)", ka, keepAliveWatch, longestKeepAlive))
	}
	run.Wait(ctx, watch)
	end := time.Now()
	var on []harness.Attempt
	for _, a := range attempts(sent("", c.ReceivedAt)) {
		if a.ConnID == c.ConnID {
			on = append(on, a)
		}
	}
	AddReportEntry("icoc.timeline", harness.Timeline(on, run.Clock), ReportEntryVisibilityFailureOrVerbose)
	last := c.ReceivedAt
	for _, a := range append(on[1:], harness.Attempt{ReceivedAt: end}) {
		if a.Method == "DISCONNECT" {
			return
		}
		gap := run.Clock.Spec(a.ReceivedAt.Sub(last))
		if gap > ka+tol.Allowed(ka) {
			Fail(harness.Verdict(req, fmt.Sprintf("a packet at least every %v (the Keep Alive in force)", ka),
				fmt.Sprintf("%.2fs (spec time) without a packet; the connection's packets:\n%s", gap.Seconds(), harness.Timeline(on, run.Clock))))
		}
		last = a.ReceivedAt
	}
}

func headerQuirks() []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "mqtt-qos0", Specs: []string{qosPublishName}},
		{Quirk: "mqtt-subscribe-qos0", Specs: []string{qosSubscribeName}},
		{Quirk: "mqtt-push-no-puback", Specs: []string{pubackName}},
		{Quirk: "mqtt-no-pfi", Specs: []string{formatName}},
		{Quirk: "mqtt-content-type=image/png", Specs: []string{formatName}},
		{Quirk: "mqtt-keepalive-0", Specs: []string{keepAliveName}},
		{Quirk: "mqtt-no-ping", Specs: []string{keepAliveName, serverKAName}},
		{Quirk: "mqtt-ignore-server-keepalive", Specs: []string{serverKAName}},
	}
}
