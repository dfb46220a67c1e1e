package mqtt_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The bounds of the waits the specs share, in spec time. Each spec's
// declared spec time (harness.SpecTime) is summed from the same bounds its
// body waits with, so the two cannot drift apart.
const (
	// firstWait bounds the wait for the DUT's first packet of a scenario
	// (a CONNECT after a drop, the upload after a CAN trigger, ...).
	firstWait = 90 * time.Second
	// sessionWait bounds ensureSession's wait for a session after IG-ON.
	sessionWait = time.Minute
	// igOffPause is how long the ignition stays off when a spec switches
	// it off and on again.
	igOffPause = 3 * time.Second
	// ackWait bounds the wait for the DUT's acknowledgement of a push.
	ackWait = 30 * time.Second
	// unsubscribeWait bounds the wait for an UNSUBSCRIBE after IG-OFF.
	unsubscribeWait = 30 * time.Second
	// settle is how long uploadAndAck lets the DUT's PUBLISHes arrive.
	settle = 2 * time.Second
)

// allowance bounds the timing tolerance (harness.Tolerance.Allowed) a
// profile adds to an expected duration d, for declaring spec time: the
// spec tree is built before the run reads its profile, so it assumes the
// widest of the shipped profiles (20 % or 1 s, and 1 s of wall jitter).
// A wider tolerance still fits the half again that harness.SpecBudget
// adds.
func allowance(d time.Duration) time.Duration { return d/5 + 2*time.Second }

// retryWindow is what observe watches from the first attempt: every retry
// the rule allows and one more interval, in which a further (wrong) retry
// would show; allowed is the timing tolerance.
func retryWindow(retries int, interval time.Duration, allowed func(time.Duration) time.Duration) time.Duration {
	step := interval + allowed(interval)
	return time.Duration(retries+1)*step + 2*time.Second
}

// Spec time a spec declares leaves out ensureSession's wait: it restores
// the session an earlier spec may have ended, a set-up that
// harness.SpecSetUpAllowance covers, not the scenario.

// vin is the DUT's VIN.
func vin() string { return run.Profile.DUT.VIN }

// uploadTopic is where the DUT publishes CAN data (7.2.5.2).
func uploadTopic() string {
	t, _ := run.Spec.UploadTopic(vin(), run.Profile.MQTT.Application)
	return t
}

// pushTopic is where the center pushes to the DUT (7.2.5.2).
func pushTopic() string {
	t, _ := spec.MQTTPublishTopic(vin(), run.Profile.MQTT.PushApplication, spec.C2V)
	return t
}

// vehicleDUT skips a vehicle-DUT spec as not applicable when the DUT plays
// no vehicle or lacks MQTT.
func vehicleDUT() {
	if !run.Profile.HasRole("vehicle") {
		Skip("not applicable: the DUT profile " + run.Profile.Name + " has no vehicle role")
	}
	run.Requires("mqtt")
	Expect(run.MQTT).NotTo(BeNil(), "the run has no MQTT side")
}

func broker() *center.Broker { return run.MQTT.Broker }

// sent keeps the MQTT packets the DUT sent (direction inbound) of method
// (any when "") received at or after since.
func sent(method string, since time.Time) func(harness.Attempt) bool {
	return func(a harness.Attempt) bool {
		return a.Protocol == center.ProtoMQTT && a.Header.Get(center.MQTTDirection) == center.MQTTInbound &&
			(method == "" || a.Method == method) && !a.ReceivedAt.Before(since)
	}
}

// toDUT keeps the PUBLISHes the harness's broker sent to the DUT since.
func toDUT(since time.Time) func(harness.Attempt) bool {
	return func(a harness.Attempt) bool {
		return a.Protocol == center.ProtoMQTT && a.Header.Get(center.MQTTDirection) == center.MQTTOutbound &&
			a.Method == "PUBLISH" && !a.ReceivedAt.Before(since)
	}
}

func attempts(keep func(harness.Attempt) bool) []harness.Attempt {
	return run.Recorder.Attempts(keep)
}

// waitAttempts waits (spec time) until keep selects at least n attempts
// for which done holds (nil: any), and returns what keep selects then;
// on timeout it returns what there is.
func waitAttempts(ctx context.Context, keep func(harness.Attempt) bool, n int, within time.Duration, done func(harness.Attempt) bool) []harness.Attempt {
	deadline := time.Now().Add(run.Clock.Wall(within))
	for {
		got := attempts(keep)
		k := 0
		for _, a := range got {
			if done == nil || done(a) {
				k++
			}
		}
		if k >= n || time.Now().After(deadline) || ctx.Err() != nil {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func answered(a harness.Attempt) bool { return !a.AnsweredAt.IsZero() }

// waitUntil polls cond until it holds or within (spec time) has passed.
func waitUntil(ctx context.Context, within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(run.Clock.Wall(within))
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// sessionReq is the requirement ensureSession fails with.
var sessionReq = harness.Requirement{Clause: "7.2.5.7", Rule: "Establish an MQTT connection constantly when all of the following conditions are applied"}

// ensureSession makes sure the DUT holds a session subscribed to its push
// topic: when it does not (a spec refused it, or left it unsubscribed),
// the ignition is switched off and on again, a new session start. The
// spec fails, saying what the DUT did, when no session comes.
func ensureSession(ctx context.Context) {
	b := broker()
	if b.Subscribed(vin(), pushTopic()) {
		return
	}
	if b.Connected(vin()) {
		b.Kick(vin())
	} else {
		Expect(run.Ignition(ctx, bench.IGOff)).To(Succeed())
		run.Wait(ctx, igOffPause)
		Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
	}
	since := time.Now()
	if !waitUntil(ctx, sessionWait, func() bool { return b.Subscribed(vin(), pushTopic()) }) {
		Fail(harness.Verdict(sessionReq, fmt.Sprintf("a session (CONNACK 0x00) subscribed to %s within %v of spec time after IG-ON", pushTopic(), sessionWait),
			"none; what the DUT sent:\n"+harness.Timeline(attempts(sent("", since)), run.Clock)))
	}
}

// provokeConnect makes the DUT send a CONNECT: it drops the DUT's
// connection when it holds one, else it switches the ignition off and on
// again (a session start); it returns the time from which to look.
func provokeConnect(ctx context.Context) time.Time {
	if broker().Connected(vin()) {
		return kick()
	}
	since := time.Now()
	Expect(run.Ignition(ctx, bench.IGOff)).To(Succeed())
	run.Wait(ctx, igOffPause)
	Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
	return since
}

// kick drops the DUT's connection without DISCONNECT, as a lost link or a
// failed server does; an always-on DUT (7.2.5.7) connects again. It
// returns the time of the drop.
func kick() time.Time {
	at := time.Now()
	if !broker().Kick(vin()) {
		Fail(harness.Verdict(sessionReq, "the DUT holds its MQTT connection", "it held none to drop"))
	}
	return at
}

// triggerUpload asks the DUT over CAN for an upload and returns a filter
// for its PUBLISHes: the uploads on the DUT's upload topic since now that
// carry the request ID in their file name (user property filename,
// register I-148), or every upload when the DUT names no file.
func triggerUpload(ctx context.Context, realTime bool) func(harness.Attempt) bool {
	id := harness.NextRequestID()
	since := time.Now()
	Expect(run.TriggerUpload(ctx, bench.UploadTrigger{RealTime: realTime, Trigger: 'c', RequestID: id})).To(Succeed())
	topic := uploadTopic()
	base := sent("PUBLISH", since)
	return func(a harness.Attempt) bool {
		if !base(a) || a.Path != topic {
			return false
		}
		name := center.UserProperty(a.Header, center.MQTTFileNameProp)
		if name == "" {
			return true
		}
		for _, f := range strings.Split(strings.TrimSuffix(name, ".bin"), "_") {
			if n, err := strconv.ParseUint(f, 10, 32); err == nil && uint32(n) == id {
				return true
			}
		}
		return false
	}
}

// firstOf waits (spec time) for the first attempt keep selects.
func firstOf(ctx context.Context, keep func(harness.Attempt) bool, within time.Duration, req harness.Requirement, what string) harness.Attempt {
	from := time.Now()
	got := waitAttempts(ctx, keep, 1, within, nil)
	if len(got) == 0 {
		// Say what the DUT did send meanwhile.
		Fail(harness.Verdict(req, what+fmt.Sprintf(" within %v of spec time", within),
			"none; the DUT sent meanwhile:\n"+harness.Timeline(attempts(sent("", from)), run.Clock)+topics(attempts(sent("PUBLISH", from)))))
	}
	return got[0]
}

// observe waits until the retry window of a pattern (every retry and one
// more interval in which a wrong retry would show) has passed since the
// first attempt.
func observe(ctx context.Context, first harness.Attempt, retries int, interval time.Duration) {
	window := retryWindow(retries, interval, run.Profile.Tolerance.Allowed)
	run.Wait(ctx, window-run.Clock.Spec(time.Since(first.Start())))
}

// igOn switches the ignition on again at the end of a spec that switched
// it off.
func igOn(ctx context.Context) {
	Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func mqttFault(method string, f center.Fault) center.Fault {
	f.Protocol, f.Method = center.ProtoMQTT, method
	return f
}
