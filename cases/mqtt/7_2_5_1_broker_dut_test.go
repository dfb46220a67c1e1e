package mqtt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/eclipse/paho.golang/packets"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
)

// brokerCase is one spec of the broker DUT (the harness plays vehicles).
type brokerCase struct {
	id, text string
	quirk    string // the reference center's quirk it catches
	otp      bool   // needs the DUT's one-time password
	// wait is the longest wait for one answer of the broker on the case's
	// way to a verdict (0: answerWait); a silent broker fails the spec at
	// the first such bound, a conformant one answers at once.
	wait time.Duration
	req  harness.Requirement
	run  func(ctx context.Context, c brokerCase)
}

func (c brokerCase) name() string { return harness.FormatName(c.id, "center DUT: "+c.text) }

// covers is the spec time the case declares: the connect and its longest
// wait for an answer. These waits are wall time (a broker keeps real
// time, I-150), equal to spec time on a center DUT's real clock; on a
// scaled clock harness.SpecSetUpAllowance holds them.
func (c brokerCase) covers() time.Duration {
	if c.wait > 0 {
		return dialWait + c.wait
	}
	return dialWait + answerWait
}

// pushWait bounds the wait for the broker DUT's push after the center was
// asked for one.
const pushWait = 60 * time.Second

func (c brokerCase) fail(expected, actual string) {
	Fail(harness.Verdict(c.req, expected, actual))
}

// otherVIN is a VIN that is not the harness's.
func otherVIN() string {
	v := []byte(run.Profile.DUT.VIN)
	v[len(v)-1] = map[bool]byte{true: '2', false: '1'}[v[len(v)-1] != '2']
	return string(v)
}

func brokerCases() []brokerCase {
	authn := harness.Requirement{Clause: "7.2.5.1", Rule: "MQTT broker shall use TLS client authentication to authenticate publishers and subscribers."}
	authz := harness.Requirement{Clause: "7.2.5.1 (I-146)", Rule: "MQTT broker shall user only allow authorized publishers and subscribers to publish to or subscribe from a topic."}
	otp := harness.Requirement{Clause: "7.2.5.7 (I-143)", Rule: "obtain Onetime Password (OTP) [...] before connecting to MQTT. [...] Set VIN for Username and acquired OTP for password."}
	return []brokerCase{
		{id: "7.2.5.1", text: "without a client certificate no CONNACK comes", quirk: "accept-no-client-cert", req: authn, run: func(ctx context.Context, c brokerCase) {
			w, err := dialDUT(ctx, identity{})
			if err != nil {
				return // the handshake failed: no session
			}
			defer w.close()
			ca, cp, err := w.connect(&packets.Connect{ClientID: run.Profile.DUT.VIN, CleanStart: true})
			if ca != nil {
				c.fail("the TLS handshake fails; no CONNACK", fmt.Sprintf("CONNACK 0x%02X", ca.ReasonCode))
			} else if err == nil {
				c.fail("the TLS handshake fails; no MQTT packet", outcome(cp, nil))
			}
		}},
		{id: "7.2.5.1", text: "a vehicle cannot publish to another VIN's topic (PUBACK 0x80 or above, or DISCONNECT)", quirk: "mqtt-no-acl", req: authz, run: func(ctx context.Context, c brokerCase) {
			w, _, err := session(ctx)
			if err != nil {
				c.fail("a session for the harness's own VIN", err.Error())
			}
			defer w.close()
			topic := otherVIN() + "/" + run.Profile.MQTT.Application + "/V2C"
			pfi := byte(0)
			_ = w.send(&packets.Publish{QoS: 1, PacketID: 1, Topic: topic, Payload: []byte("x"), Properties: &packets.Properties{PayloadFormat: &pfi, ContentType: "application/octet-stream"}})
			cp, err := w.recv(answerWait)
			if err == nil {
				switch p := cp.Content.(type) {
				case *packets.Puback:
					if p.ReasonCode < 0x80 {
						c.fail("PUBLISH on "+topic+" refused", fmt.Sprintf("PUBACK 0x%02X", p.ReasonCode))
					}
				case *packets.Disconnect:
				default:
					c.fail("PUBLISH on "+topic+" refused", outcome(cp, nil))
				}
			}
		}},
		{id: "7.2.5.1", text: "a vehicle cannot subscribe to another VIN's topic (SUBACK 0x80 or above)", quirk: "mqtt-no-acl", req: authz, run: func(ctx context.Context, c brokerCase) {
			w, _, err := session(ctx)
			if err != nil {
				c.fail("a session for the harness's own VIN", err.Error())
			}
			defer w.close()
			topic := otherVIN() + "/" + run.Profile.MQTT.PushApplication + "/C2V"
			_ = w.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.SubOptions{{Topic: topic, QoS: 1}}})
			cp, err := w.recv(answerWait)
			if err == nil {
				if sa, ok := cp.Content.(*packets.Suback); !ok || len(sa.Reasons) == 0 || sa.Reasons[0] < 0x80 {
					c.fail("SUBSCRIBE to "+topic+" refused", outcome(cp, nil))
				}
			}
		}},
		{id: "7.2.5.7", text: "a one-time password used before is refused (CONNACK 0x86 or 0x87)", quirk: "mqtt-otp-reuse", otp: true, req: otp, run: func(ctx context.Context, c brokerCase) {
			con, err := goodConnect(ctx, dutIdentity())
			if err != nil {
				c.fail("a one-time password from the center", err.Error())
			}
			for i := 0; i < 2; i++ {
				w, err := dialDUT(ctx, dutIdentity())
				if err != nil {
					c.fail("a TLS connection", err.Error())
				}
				ca, cp, err := w.connect(con)
				w.close()
				switch {
				case i == 0 && (ca == nil || ca.ReasonCode != 0):
					c.fail("the first CONNECT with a fresh OTP accepted", outcome(cp, err))
				case i == 1 && (ca == nil || ca.ReasonCode != 0x86 && ca.ReasonCode != 0x87):
					c.fail("the OTP's second use refused with CONNACK 0x86 or 0x87", outcome(cp, err))
				}
			}
		}},
		{id: "7.2.5.7", text: "a wrong one-time password is refused (CONNACK 0x86 or 0x87)", quirk: "mqtt-otp-any", otp: true, req: otp, run: func(ctx context.Context, c brokerCase) {
			con, err := goodConnect(ctx, dutIdentity())
			if err != nil {
				c.fail("a one-time password from the center", err.Error())
			}
			con.Password = append([]byte("x"), con.Password...)
			w, err := dialDUT(ctx, dutIdentity())
			if err != nil {
				c.fail("a TLS connection", err.Error())
			}
			defer w.close()
			if ca, cp, err := w.connect(con); ca == nil || ca.ReasonCode != 0x86 && ca.ReasonCode != 0x87 {
				c.fail("CONNACK 0x86 or 0x87", outcome(cp, err))
			}
		}},
		{id: "7.2.5.1", text: "a one-time password issued to another client certificate of the same VIN is refused (RFC 8705 binding)", quirk: "mqtt-otp-unbound", otp: true,
			req: harness.Requirement{Clause: "7.2.5.1 (RFC 8705; I-144)", Rule: "The authentication token shall be bound to the client certificate in compliance with RFC8705."},
			run: func(ctx context.Context, c brokerCase) {
				if run.MQTT == nil || run.MQTT.DUTBroker == nil {
					Skip("not applicable: the harness has a second certificate of the VIN only for the test PKI (simulated center)")
				}
				con, err := goodConnect(ctx, dutIdentity())
				if err != nil {
					c.fail("a one-time password from the center", err.Error())
				}
				w, err := dialDUT(ctx, renewedIdentity())
				if err != nil {
					c.fail("a TLS connection with the renewed certificate", err.Error())
				}
				defer w.close()
				if ca, cp, err := w.connect(con); ca == nil || ca.ReasonCode != 0x86 && ca.ReasonCode != 0x87 {
					c.fail("CONNACK 0x86 or 0x87 for an OTP bound to the other certificate", outcome(cp, err))
				}
			}},
		{id: "7.2.5.3", text: "a QoS 1 PUBLISH is acknowledged and delivered at QoS 1 with its Payload Format Indicator and Content Type", quirk: "mqtt-max-qos0",
			req: harness.Requirement{Clause: "7.2.5.3", Rule: `The QoS of the fixed header shall be set to "1 (At least once delivery)".`},
			run: func(ctx context.Context, c brokerCase) {
				w, ca, err := session(ctx)
				if err != nil {
					c.fail("a session", err.Error())
				}
				defer w.close()
				if ca.Properties != nil && ca.Properties.MaximumQOS != nil && *ca.Properties.MaximumQOS < 1 {
					c.fail("Maximum QoS 1 or more", fmt.Sprintf("CONNACK Maximum QoS %d", *ca.Properties.MaximumQOS))
				}
				topic, _ := spec.MQTTPublishTopic(run.Profile.DUT.VIN, run.Profile.MQTT.Application, spec.V2C)
				_ = w.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.SubOptions{{Topic: topic, QoS: 1}}})
				cp, err := w.recv(answerWait)
				if sa, ok := content[*packets.Suback](cp, err); !ok || sa.Reasons[0] != 1 {
					c.fail("SUBACK granting QoS 1 for "+topic, outcome(cp, err))
				}
				pfi := byte(1)
				_ = w.send(&packets.Publish{QoS: 1, PacketID: 2, Topic: topic, Payload: []byte(`{"icoc":1}`), Properties: &packets.Properties{PayloadFormat: &pfi, ContentType: "application/json"}})
				var gotAck, gotMsg bool
				for !(gotAck && gotMsg) {
					cp, err := w.recv(answerWait)
					if err != nil {
						c.fail("PUBACK below 0x80 and the message back at QoS 1", outcome(cp, err))
					}
					switch p := cp.Content.(type) {
					case *packets.Puback:
						if p.ReasonCode >= 0x80 {
							c.fail("PUBACK below 0x80", fmt.Sprintf("PUBACK 0x%02X", p.ReasonCode))
						}
						gotAck = true
					case *packets.Publish:
						if p.QoS != 1 || p.Properties == nil || p.Properties.PayloadFormat == nil || *p.Properties.PayloadFormat != 1 || p.Properties.ContentType != "application/json" {
							c.fail("the message delivered at QoS 1 with PFI 1 and Content Type application/json", p.String())
						}
						_ = w.send(&packets.Puback{PacketID: p.PacketID})
						gotMsg = true
					}
				}
			}},
		{id: "7.2.5.1", text: "CONNACK advertises a Topic Alias Maximum", quirk: "mqtt-no-tam",
			req: harness.Requirement{Clause: "7.2.5.1", Rule: "Use the topic alias function to reduce communication volume."},
			run: func(ctx context.Context, c brokerCase) {
				w, ca, err := session(ctx)
				if err != nil {
					c.fail("a session", err.Error())
				}
				w.close()
				if ca.Properties == nil || ca.Properties.TopicAliasMaximum == nil || *ca.Properties.TopicAliasMaximum == 0 {
					c.fail("a Topic Alias Maximum above 0 in CONNACK", "none")
				}
			}},
		{id: "7.2.5.1", text: "a CONNECT with an Authentication Method is refused (no enhanced authentication)", quirk: "mqtt-enhanced-auth",
			req: harness.Requirement{Clause: "7.2.5.1", Rule: "Since MQTT security (confidentiality and authentication) is achieved by TLS, the extended authentication function should not be used."},
			run: func(ctx context.Context, c brokerCase) {
				con, err := goodConnect(ctx, dutIdentity())
				if err != nil {
					c.fail("a CONNECT", err.Error())
				}
				con.Properties = &packets.Properties{AuthMethod: "SCRAM-SHA-256", AuthData: []byte("n,,n=icoc,r=abc")}
				w, err := dialDUT(ctx, dutIdentity())
				if err != nil {
					c.fail("a TLS connection", err.Error())
				}
				defer w.close()
				if ca, cp, err := w.connect(con); ca == nil || ca.ReasonCode < 0x80 {
					c.fail("CONNACK 0x80 or above (0x8C Bad authentication method)", outcome(cp, err))
				}
			}},
		{id: "7.2.5.7", text: "a CONNECT whose Client ID is not the certificate's VIN is refused (CONNACK 0x85)", quirk: "mqtt-no-client-id-check",
			req: harness.Requirement{Clause: "7.2.5.7, 6.4 (I-145)", Rule: "Set VIN for the Client ID of MQTT CONNECT."},
			run: func(ctx context.Context, c brokerCase) {
				con, err := goodConnect(ctx, dutIdentity())
				if err != nil {
					c.fail("a CONNECT", err.Error())
				}
				con.ClientID = otherVIN()
				w, err := dialDUT(ctx, dutIdentity())
				if err != nil {
					c.fail("a TLS connection", err.Error())
				}
				defer w.close()
				if ca, cp, err := w.connect(con); ca == nil || ca.ReasonCode != 0x85 && ca.ReasonCode != 0x87 {
					c.fail("CONNACK 0x85 Client Identifier not valid (or 0x87)", outcome(cp, err))
				}
			}},
		{id: "7.2.5.7", text: "a client silent for 1.5 times its Keep Alive is disconnected", quirk: "mqtt-no-keepalive",
			req: harness.Requirement{Clause: "7.2.5.7, 7.2.5.3 (MQTT-3.1.2-22)", Rule: "If the Keep Alive value is non-zero and the Server does not receive an MQTT Control Packet from the Client within one and a half times the Keep Alive time period, it MUST close the Network Connection to the Client as if the network had failed."},
			run: func(ctx context.Context, c brokerCase) {
				w, err := dialDUT(ctx, dutIdentity())
				if err != nil {
					c.fail("a TLS connection", err.Error())
				}
				defer w.close()
				con, err := goodConnect(ctx, dutIdentity())
				if err != nil {
					c.fail("a CONNECT", err.Error())
				}
				const ka = 2
				con.KeepAlive = ka
				start := time.Now()
				if ca, cp, err := w.connect(con); ca == nil || ca.ReasonCode >= 0x80 {
					c.fail("a session", outcome(cp, err))
				}
				// MQTT-3.1.2-22 bounds it at 1.5 x Keep Alive; a broker checks
				// its clients' keep alives on an interval of its own
				// (mosquitto 2.0: every 5 s), so 6 s more are allowed.
				limit := time.Duration(ka)*1500*time.Millisecond + 6*time.Second
				cp, err := w.recv(limit + 3*time.Second)
				if _, isDisc := content[*packets.Disconnect](cp, err); isDisc {
					_, err = w.recv(2 * time.Second)
				}
				waited := time.Since(start)
				if err == nil || errors.Is(err, os.ErrDeadlineExceeded) || waited > limit {
					c.fail(fmt.Sprintf("the connection closed within 1.5 x %d s (+6 s for the broker's check interval) of silence", ka), fmt.Sprintf("after %v: %s", waited.Round(10*time.Millisecond), outcome(cp, err)))
				}
			}},
		{id: "7.2.5.2", text: "a push carries a Response Topic, QoS 1, a Payload Format Indicator and a Content Type", quirk: "mqtt-push-no-response-topic", wait: pushWait,
			req: harness.Requirement{Clause: "7.2.5.2, 7.2.5.3 (I-031, I-149)", Rule: "Applications that received PUSH notification shall perform response PUBLISH to the Response Topic included in the PUBLISH of the PUSH notification."},
			run: func(ctx context.Context, c brokerCase) {
				w, _, err := session(ctx)
				if err != nil {
					c.fail("a session", err.Error())
				}
				defer w.close()
				topic, _ := spec.MQTTPublishTopic(run.Profile.DUT.VIN, run.Profile.MQTT.PushApplication, spec.C2V)
				_ = w.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.SubOptions{{Topic: topic, QoS: 1}}})
				if cp, err := w.recv(answerWait); err != nil {
					c.fail("SUBACK for "+topic, outcome(cp, err))
				}
				if err := run.TriggerCenterPush(ctx, 7, 3, []byte("icoc")); err != nil {
					Skip("not applicable: " + err.Error())
				}
				cp, err := w.recv(pushWait)
				p, ok := content[*packets.Publish](cp, err)
				if !ok {
					c.fail(fmt.Sprintf("a push on %s within %v", topic, pushWait), outcome(cp, err))
				}
				var pfi *byte
				ct, rt := "", ""
				if p.Properties != nil {
					pfi, ct, rt = p.Properties.PayloadFormat, p.Properties.ContentType, p.Properties.ResponseTopic
				}
				if p.QoS != 1 || rt == "" {
					c.fail("QoS 1 and a Response Topic", fmt.Sprintf("QoS %d, Response Topic %q", p.QoS, rt))
				}
				if err := spec.CheckPublishFormat(pfi, ct, p.Payload); err != nil {
					c.fail("Payload Format Indicator and Content Type of 7.2.5.3", err.Error())
				}
				_ = w.send(&packets.Puback{PacketID: p.PacketID})
				one := byte(1)
				_ = w.send(&packets.Publish{QoS: 1, PacketID: 2, Topic: rt, Payload: []byte(`{"status":"SUCCESS","messages":[]}`),
					Properties: &packets.Properties{PayloadFormat: &one, ContentType: "application/json", CorrelationData: p.Properties.CorrelationData}})
			}},
	}
}

// content is cp's content as T, when there is no error and it is one.
func content[T any](cp *packets.ControlPacket, err error) (T, bool) {
	var zero T
	if err != nil || cp == nil {
		return zero, false
	}
	v, ok := cp.Content.(T)
	return v, ok
}

// The broker's side of 7.2.5 (the harness plays vehicles): TLS client
// authentication, per-topic authorization, the one-time password and its
// binding to the certificate, QoS 1, the topic alias, no enhanced
// authentication, Client ID = VIN, keep alive, and pushes.
var _ = Describe("7.2.5 MQTT broker, center DUT", func() {
	for _, c := range brokerCases() {
		It(harness.SpecName(c.id, "center DUT: "+c.text), harness.Labels(harness.MQTT, harness.CenterDUT), harness.SpecTime(c.covers()), func(ctx SpecContext) {
			if !run.Profile.HasRole("center") {
				Skip("not applicable: the DUT profile " + run.Profile.Name + " has no center role")
			}
			run.Requires("mqtt")
			if c.otp && !run.Profile.MQTT.OTP {
				Skip("not applicable: the DUT profile " + run.Profile.Name + " says the center uses no one-time password (mqtt.otp: false)")
			}
			if run.MQTTDUTAddr() == "" {
				Fail(harness.Verdict(c.req, "the broker DUT's address (profile mqtt.address)", "none"))
			}
			c.run(ctx, c)
		})
	}
})

// brokerQuirks pairs each quirk of the reference center's broker with the
// specs that must catch it; each failure must say what was expected and
// what came, and cite the clause its specs judge (where they share one).
func brokerQuirks() []harness.QuirkCase {
	var g harness.Grouped
	for _, c := range brokerCases() {
		q := harness.CenterQuirkPrefix + c.quirk
		g.Add(q, c.name())
		g.Say(q, "Expected:", "Actual:")
		g.Cite(q, "Requirement: "+c.req.Clause+": ")
	}
	return g.Quirks()
}
