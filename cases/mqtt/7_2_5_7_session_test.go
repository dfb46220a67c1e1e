package mqtt_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/netfault"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.einride.tech/can"
)

var (
	otpName        = harness.SpecName("7.2.5.7", "before each CONNECT the DUT gets a one-time password by HTTPS GET and connects with username = VIN, password = that OTP")
	clientIDName   = harness.SpecName("7.2.5.7", "CONNECT carries the VIN as Client ID")
	disconnectName = harness.SpecName("7.2.5.7", "when the DUT disconnects on its own (IG-OFF) it sends MQTT DISCONNECT first")
	vinFirstName   = harness.SpecName("7.2.5.7", "no CONNECT before the VIN is known: after power-up with IG-ON but no VIN on the bus the DUT stays silent, then connects once the VIN arrives")
	deadLinkName   = harness.SpecName("7.2.5.7", "after the link to the center is dead for three minutes the DUT connects again by itself, and every CAN frame sent meanwhile arrives once, in order")
)

// 7.2.5.7 Session Management: "Establish an MQTT connection constantly
// when all of the following conditions are applied: WAN side IP address
// [...], Obtaining VIN, ADF upload has been completed. [...] obtain
// Onetime Password (OTP) using HTTP GET from TSC by Onetime Password
// acquisition function before connecting to MQTT. Authenticate with
// username and password of MQTT CONNECT. Set VIN for Username and acquired
// OTP for password. Set VIN for the Client ID of MQTT CONNECT. [...]
// Session discard: When disconnecting the external communication
// automatically by in-Car unit, MQTT DISCONNECT shall be completed."
// Register I-143 (GET /otp), I-151 (session lifecycle), I-156 (no data
// lost while the session is down).
var _ = Describe("7.2.5.7 Session Management", func() {
	It(otpName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(igOffPause+6*firstWait /* up to three drops, each: a session, then a CONNECT */), func(ctx SpecContext) {
		vehicleDUT()
		if !run.Profile.MQTT.OTP {
			Skip("not applicable: the DUT profile " + run.Profile.Name + " says the DUT uses no one-time password (mqtt.otp: false)")
		}
		req := harness.Requirement{Clause: "7.2.5.7 (I-143)", Rule: "obtain Onetime Password (OTP) using HTTP GET from TSC [...] before connecting to MQTT. Set VIN for Username and acquired OTP for password."}
		since := provokeConnect(ctx)
		// judged is what the verdict reads: the OTP fetches and CONNECTs
		// since the first drop. A CONNECT already under way when the
		// connection was dropped may carry an OTP fetched before: judge
		// from the first fetch on.
		judged := func() []harness.Attempt {
			all := attempts(func(a harness.Attempt) bool {
				return !a.ReceivedAt.Before(since) && (a.Method == "CONNECT" && a.Protocol == center.ProtoMQTT || a.Method == http.MethodGet && a.Path == center.OTPPath)
			})
			for len(all) > 0 && all[0].Protocol == center.ProtoMQTT && hasFetch(all) {
				all = all[1:]
			}
			return all
		}
		answeredConnects := func() int {
			n := 0
			for _, a := range judged() {
				if a.Protocol == center.ProtoMQTT && answered(a) {
					n++
				}
			}
			return n
		}
		// Two connections in a row, each needing its own OTP: drop the
		// session again until two judged CONNECTs came (a third drop
		// when the first CONNECT was under way before the first drop).
		last := since
		for drops := 1; answeredConnects() < 2 && drops <= 3; drops++ {
			firstOf(ctx, sent("SUBSCRIBE", last), firstWait, req, "a session (SUBSCRIBE after CONNACK 0x00)")
			last = kick()
			waitAttempts(ctx, sent("CONNECT", last), 1, firstWait, answered)
		}
		all := judged()
		AddReportEntry("icoc.timeline", harness.Timeline(all, run.Clock), ReportEntryVisibilityFailureOrVerbose)
		fetched, connects := 0, 0
		for _, a := range all {
			if a.Protocol != center.ProtoMQTT {
				if a.Status == http.StatusOK {
					fetched++
				}
				continue
			}
			connects++
			switch {
			case fetched == 0:
				Fail(harness.Verdict(req, "a GET "+center.OTPPath+" answered 200 before each CONNECT", fmt.Sprintf("CONNECT #%d without a new one-time password; timeline:\n%s", connects, harness.Timeline(all, run.Clock))))
			case a.Header.Get(center.MQTTUsername) != vin():
				Fail(harness.Verdict(req, "username "+vin(), fmt.Sprintf("CONNECT #%d with username %q", connects, a.Header.Get(center.MQTTUsername))))
			case a.Code != 0:
				Fail(harness.Verdict(req, "CONNACK 0x00: a fresh OTP of this vehicle's certificate as password", fmt.Sprintf("CONNECT #%d answered 0x%02X (%s); timeline:\n%s", connects, a.Code, reasonOf(a.Code), harness.Timeline(all, run.Clock))))
			}
			fetched = 0
		}
		if connects < 2 {
			Fail(harness.Verdict(req, "two CONNECTs after the connection was dropped twice", harness.Timeline(all, run.Clock)))
		}
	})

	It(clientIDName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(igOffPause+firstWait), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.7", Rule: "Set VIN for the Client ID of MQTT CONNECT."}
		c := firstOf(ctx, sent("CONNECT", provokeConnect(ctx)), firstWait, req, "a CONNECT")
		if id := c.Header.Get(center.MQTTClientID); id != vin() {
			Fail(harness.Verdict(req, "Client ID "+vin(), fmt.Sprintf("Client ID %q", id)))
		}
	})

	It(disconnectName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(disconnectWait), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.7", Rule: "When disconnecting the external communication automatically by in-Car unit, MQTT DISCONNECT shall be completed."}
		ensureSession(ctx)
		since := time.Now()
		Expect(run.Ignition(ctx, bench.IGOff)).To(Succeed())
		DeferCleanup(igOn)
		if !waitUntil(ctx, disconnectWait, func() bool { return !broker().Connected(vin()) }) {
			Skip(fmt.Sprintf("not applicable: the DUT kept its MQTT connection for %v of spec time after IG-OFF (Table A2-1: always-on); it did not disconnect on its own", disconnectWait))
		}
		got := attempts(sent("", since))
		for _, a := range got {
			if a.Method == "DISCONNECT" {
				return
			}
		}
		Fail(harness.Verdict(req, "a DISCONNECT before the connection closed", "the connection closed without one; the DUT sent:\n"+harness.Timeline(got, run.Clock)))
	})

	It(vinFirstName, harness.Labels(harness.MQTT, harness.CAN, harness.VehicleDUT), harness.SpecTime(powerOffPause+noVINWatch+vinConnectWait), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.7", Rule: "Establish an MQTT connection constantly when all of the following conditions are applied: [...] Obtaining VIN"}
		DeferCleanup(func(ctx SpecContext) {
			Expect(run.SetVINBroadcast(true)).To(Succeed())
			Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
		})
		Expect(run.SetVINBroadcast(false)).To(Succeed())
		Expect(run.Ignition(ctx, bench.BOff)).To(Succeed())
		run.Wait(ctx, powerOffPause)
		since := time.Now()
		Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
		run.Wait(ctx, noVINWatch)
		// Connecting includes what comes before CONNECT (the OTP, 7.2.5.7),
		// so nothing at all may reach the center.
		early := attempts(func(a harness.Attempt) bool { return !a.ReceivedAt.Before(since) })
		conns := run.Recorder.Connections(since)
		if len(early) > 0 || len(conns) > 0 {
			Fail(harness.Verdict(req, "no connection to the center (HTTPS or MQTT) while the VIN is not on the bus",
				fmt.Sprintf("%d connection(s); requests:\n%s", len(conns), harness.Timeline(early, run.Clock))))
		}
		Expect(run.SetVINBroadcast(true)).To(Succeed())
		c := firstOf(ctx, sent("CONNECT", since), vinConnectWait, req, "a CONNECT once the VIN is on the bus")
		if id := c.Header.Get(center.MQTTClientID); id != vin() {
			Fail(harness.Verdict(req, "the CONNECT carries the VIN from the bus", fmt.Sprintf("Client ID %q", id)))
		}
	})

	It(deadLinkName, harness.Labels(harness.MQTT, harness.CAN, harness.VehicleDUT, harness.Slow), harness.SpecTime(deadLink+deliveryWithin(spec.All(), allowance)), func(ctx SpecContext) {
		vehicleDUT()
		run.Requires("data-upload")
		req := harness.Requirement{Clause: "7.2.5.7 (I-151, I-156); 7.2.5.5; Table 5-1",
			Rule: "Establish an MQTT connection constantly; the retransmission process after timeout shall be under control to extend the retransmission interval; CAN data uploaded periodically"}
		if run.MQTT.Link == nil {
			Skip("not applicable: no fault proxy between the DUT and the center (a real DUT reaches the center directly)")
		}
		ensureSession(ctx)
		tol := run.Profile.Tolerance
		since := time.Now()
		frames := harness.CANData(1200, uint16(rand.IntN(60000)+1))
		sentFrames := burst(ctx, frames[:300])
		// The link dies: the proxies hold every byte the DUT sends.
		dead := time.Now()
		for _, l := range []*netfault.Proxy{run.MQTT.Link, run.Link} {
			Expect(l.Add(netfault.NoResponse("dead-link", netfault.Upstream))).To(Succeed())
			DeferCleanup(l.Clear)
		}
		for i := 300; i < 900; i += 100 {
			sentFrames = append(sentFrames, burst(ctx, frames[i:i+100])...)
			run.Wait(ctx, 25*time.Second)
		}
		run.Wait(ctx, deadLink-run.Clock.Spec(time.Since(dead)))
		for _, l := range []*netfault.Proxy{run.MQTT.Link, run.Link} {
			Expect(l.Remove("dead-link")).To(Succeed())
		}
		relinked := time.Now()
		sentFrames = append(sentFrames, burst(ctx, frames[900:])...)
		var d harness.Delivery
		waitUntil(ctx, deliveryWithin(run.Spec, tol.Allowed), func() bool {
			got, err := run.ReceivedCANData(since)
			Expect(err).NotTo(HaveOccurred(), "decoding the CAN data files the center received")
			d = harness.JudgeDelivery(sentFrames, got, run.Clock)
			return d.Received >= len(sentFrames)
		})
		reconnect := attempts(func(a harness.Attempt) bool { return sent("CONNECT", relinked)(a) && a.Code == 0 && answered(a) })
		if len(reconnect) == 0 {
			Fail(harness.Verdict(req, "a new session (CONNACK 0x00) after the link came back", "none; the DUT sent:\n"+harness.Timeline(attempts(sent("", dead)), run.Clock)))
		}
		if !d.OK() {
			Fail(harness.Verdict(req, "every CAN frame since the start once, in order, after the link came back", d.String()))
		}
	})
})

// The spec time of the session specs' scenarios.
const (
	// disconnectWait bounds the wait for the DUT to close its connection
	// after IG-OFF.
	disconnectWait = 3 * time.Minute
	// powerOffPause is how long +B stays off before the VIN spec's IG-ON.
	powerOffPause = 2 * time.Second
	// noVINWatch is how long the VIN spec watches for silence with IG-ON
	// and no VIN on the bus.
	noVINWatch = 20 * time.Second
	// vinConnectWait bounds the wait for the CONNECT once the VIN is on
	// the bus.
	vinConnectWait = 30 * time.Second
	// deadLink is how long the link stays dead (I-156).
	deadLink = 3 * time.Minute
)

// deliveryWithin bounds the wait, after the link came back, for every CAN
// frame sent to arrive: the retransmission interval after eight timeouts
// of the session rule (I-016; the DUT may have extended it that far while
// the link was dead) and 3 min more, with the timing tolerance allowed.
func deliveryWithin(doc spec.Document, allowed func(time.Duration) time.Duration) time.Duration {
	within := doc.RetransmissionInterval(doc.MQTTSessionRetryRule().Interval, 8) + 3*time.Minute
	return within + allowed(within)
}

// hasFetch reports whether attempts hold a GET /otp answered 200.
func hasFetch(as []harness.Attempt) bool {
	for _, a := range as {
		if a.Protocol != center.ProtoMQTT && a.Status == http.StatusOK {
			return true
		}
	}
	return false
}

// burst puts frames on the bus at full load.
func burst(ctx SpecContext, frames []can.Frame) []harness.SentFrame {
	s, err := run.SendPaced(ctx, 1.0, frames)
	Expect(err).NotTo(HaveOccurred(), "putting CAN data on the bus")
	return s
}

// reasonOf names a CONNACK code by Table 7-21.
func reasonOf(code int) string {
	if r, ok := spec.MQTTReasonFor("CONNACK", code); ok {
		return r.Name
	}
	return "not in Table 7-21"
}

func sessionQuirks() []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "mqtt-otp-reuse", Specs: []string{otpName}},
		{Quirk: "mqtt-username=someone", Specs: []string{otpName}},
		{Quirk: "mqtt-client-id=JT1TESTVH00000002", Specs: []string{clientIDName}},
		{Quirk: "mqtt-no-disconnect", Specs: []string{disconnectName}},
		{Quirk: "ignore-vin", Specs: []string{vinFirstName}},
		{Quirk: "no-buffering-on-link-loss", Specs: []string{deadLinkName}},
		{Quirk: "drop-frame", Specs: []string{deadLinkName}},
	}
}
