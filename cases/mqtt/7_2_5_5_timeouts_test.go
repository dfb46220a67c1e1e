package mqtt_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func waitText(packet string) string {
	d, _ := spec.MQTTAckTimeout(packet)
	switch packet {
	case "CONNACK":
		return fmt.Sprintf("CONNECT left without CONNACK: the DUT waits %v, then each new CONNECT after a timeout waits longer than the retry interval and no shorter than the one before", d)
	case "PUBACK":
		return fmt.Sprintf("upload PUBLISH left without PUBACK: the DUT waits %v, then each retransmission after a timeout waits longer than the retry interval and no shorter than the one before", d)
	case "SUBACK":
		return fmt.Sprintf("SUBSCRIBE left without SUBACK: the DUT waits %v before it gives up", d)
	}
	return fmt.Sprintf("UNSUBSCRIBE left without UNSUBACK: the DUT waits %v before it gives up (register I-015)", d)
}

var waitNames = map[string]string{}

func init() {
	for _, p := range []string{"CONNACK", "PUBACK", "SUBACK", "UNSUBACK"} {
		waitNames[p] = harness.SpecName("7.2.5.5", waitText(p))
	}
}

// 7.2.5.5: "The waiting time for receiving ACK for each command
// transmission shall be as follows: CONNACK wait time: 30 seconds, PUBACK
// waiting time: 30 seconds, SUBACK waiting time: 30 seconds [...] In order
// to prevent the load concentration on the center, the retransmission
// process after timeout shall be under control to extend the
// retransmission interval." UNSUBACK: 30 s by register I-015; the
// extension by I-016 (each interval after a timeout is longer than the
// base interval and no shorter than the one before). A wait ends when the
// DUT gives up: it closes the connection (MQTT-4.4.0-1 forbids sending the
// packet again on it, I-142) or sends the next packet.
var _ = Describe("7.2.5.5 Timeout specification", func() {
	It(waitNames["CONNACK"], harness.Labels(harness.MQTT, harness.VehicleDUT, harness.Slow), harness.SpecTime(waitCovers("CONNACK")), func(ctx SpecContext) {
		vehicleDUT()
		ensureSession(ctx)
		run.Faults.Set(mqttFault("CONNECT", center.Fault{Times: -1, Withhold: true}))
		judgeWaits(ctx, "CONNACK", sent("CONNECT", kick()))
	})

	It(waitNames["PUBACK"], harness.Labels(harness.MQTT, harness.VehicleDUT, harness.Slow), harness.SpecTime(waitCovers("PUBACK")), func(ctx SpecContext) {
		vehicleDUT()
		ensureSession(ctx)
		run.Faults.Set(mqttFault("PUBLISH", center.Fault{Times: -1, Withhold: true, PathPrefix: uploadTopic()}))
		judgeWaits(ctx, "PUBACK", triggerUpload(ctx, true))
	})

	It(waitNames["SUBACK"], harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(waitCovers("SUBACK")), func(ctx SpecContext) {
		vehicleDUT()
		ensureSession(ctx)
		run.Faults.Set(mqttFault("SUBSCRIBE", center.Fault{Times: 1, Withhold: true}))
		judgeWaits(ctx, "SUBACK", sent("SUBSCRIBE", kick()))
	})

	It(waitNames["UNSUBACK"], harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(waitCovers("UNSUBACK")), func(ctx SpecContext) {
		vehicleDUT()
		ensureSession(ctx)
		run.Faults.Set(mqttFault("UNSUBSCRIBE", center.Fault{Times: 1, Withhold: true}))
		since := time.Now()
		Expect(run.Ignition(ctx, bench.IGOff)).To(Succeed())
		DeferCleanup(igOn)
		keep := sent("UNSUBSCRIBE", since)
		if len(waitAttempts(ctx, keep, 1, unsubscribeWait, nil)) == 0 {
			Skip(fmt.Sprintf("not applicable: the DUT sent no UNSUBSCRIBE within %v of spec time after IG-OFF", unsubscribeWait))
		}
		judgeWaits(ctx, "UNSUBACK", keep)
	})
})

// waitScenario is what the spec of ack waits for: n packets the DUT gives
// up on and, for a packet it sends again, the base interval of its retry
// rule (0: none). CONNECT: four attempts under the session rule (I-140);
// PUBLISH: every attempt of the real-time upload rule (Table 7-25).
func waitScenario(doc spec.Document, ack string) (n int, base time.Duration) {
	switch ack {
	case "CONNACK":
		return 4, doc.MQTTSessionRetryRule().Interval
	case "PUBACK":
		r := doc.MQTTUploadRetryRule(true)
		return r.Retries + 1, r.Interval
	}
	return 1, 0
}

// ackWaitsWithin is how long judgeWaits waits for the n packets: n ACK
// waits and n retransmission intervals after a timeout (the n-th extension,
// I-016, bounds each), and a minute more; allowed is the timing tolerance.
func ackWaitsWithin(doc spec.Document, allowed func(time.Duration) time.Duration, ack string) time.Duration {
	wait, _ := doc.MQTTAckTimeout(ack)
	n, base := waitScenario(doc, ack)
	return time.Duration(n)*(wait+allowed(wait)) + time.Duration(n)*doc.RetransmissionInterval(max(base, time.Second), n) + time.Minute
}

// waitCovers is the spec time the spec of ack covers (spec/ data, before
// the profile's readings): the ACK waits and extended intervals it
// watches, after IG-OFF's UNSUBSCRIBE for UNSUBACK.
func waitCovers(ack string) time.Duration {
	d := ackWaitsWithin(spec.All(), allowance, ack)
	if ack == "UNSUBACK" {
		d += unsubscribeWait
	}
	return d
}

// judgeWaits waits for the packets that keep selects to end unanswered
// (the DUT gave up on each; waitScenario says how many), then judges that
// each wait was the ACK wait of 7.2.5.5 and, with a base interval, that
// each gap after a timeout is extended (I-016).
func judgeWaits(ctx context.Context, ack string, keep func(harness.Attempt) bool) {
	wait, _ := run.Spec.MQTTAckTimeout(ack)
	n, base := waitScenario(run.Spec, ack)
	tol := run.Profile.Tolerance
	req := harness.Requirement{Clause: "7.2.5.5 (" + ack + "); register I-015, I-016, I-062",
		Rule: ack + " wait time: 30 seconds; the retransmission process after timeout shall be under control to extend the retransmission interval"}
	within := ackWaitsWithin(run.Spec, tol.Allowed, ack)
	got := waitAttempts(ctx, keep, n, within, func(a harness.Attempt) bool { return a.Abandoned })
	AddReportEntry("icoc.timeline", harness.Timeline(got, run.Clock), ReportEntryVisibilityFailureOrVerbose)
	var gaveUp []harness.Attempt
	for _, a := range got {
		if a.Abandoned {
			gaveUp = append(gaveUp, a)
		}
	}
	if len(gaveUp) < n {
		Fail(harness.Verdict(req, fmt.Sprintf("%d %s packets the DUT gave up on after about %v each", n, strings.TrimSuffix(ack, "ACK"), wait),
			fmt.Sprintf("%d within %v of spec time; timeline:\n%s", len(gaveUp), within, harness.Timeline(got, run.Clock))))
	}
	gaveUp = gaveUp[:n]
	for i, a := range gaveUp {
		waited := run.Clock.Spec(a.AnsweredAt.Sub(a.ReceivedAt))
		if !tol.Within(wait, waited) {
			Fail(harness.Verdict(req, "the DUT gives up "+tol.Describe(wait)+" after the packet",
				fmt.Sprintf("packet #%d: it gave up after %.2fs (spec time); timeline:\n%s", i+1, waited.Seconds(), harness.Timeline(got, run.Clock))))
		}
	}
	if base == 0 {
		return
	}
	var prev time.Duration
	for i := 1; i < len(gaveUp); i++ {
		gap := run.Clock.Spec(gaveUp[i].Start().Sub(gaveUp[i-1].AnsweredAt))
		ok := gap > base+tol.Allowed(base) && (i == 1 || gap+tol.Allowed(prev) >= prev)
		if !ok {
			Fail(harness.Verdict(req,
				fmt.Sprintf("each new attempt after a timeout more than %v (the retry interval plus tolerance) after the DUT gave up, and no sooner than the gap before it", base+tol.Allowed(base)),
				fmt.Sprintf("attempt #%d came %.2fs (spec time) after the DUT gave up on #%d (the gap before: %.2fs); timeline:\n%s", i+1, gap.Seconds(), i, prev.Seconds(), harness.Timeline(got, run.Clock))))
		}
		prev = gap
	}
}

func waitQuirks() []harness.QuirkCase {
	all := []string{waitNames["CONNACK"], waitNames["PUBACK"], waitNames["SUBACK"], waitNames["UNSUBACK"]}
	return []harness.QuirkCase{
		{Quirk: "mqtt-ack-timeout-s=10", Specs: all},
		{Quirk: "mqtt-ack-timeout-s=60", Specs: all},
		{Quirk: "no-backoff", Specs: []string{waitNames["CONNACK"], waitNames["PUBACK"]}},
	}
}
