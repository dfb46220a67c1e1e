package center

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// startBroker starts a center with its MQTT broker (OTP as given) and a
// hook that keeps every exchange and answer.
func startBroker(t *testing.T, otp bool, quirks ...string) (*Server, *Broker, *mqttExchanges) {
	t.Helper()
	cfg := NewDefaultConfig()
	cfg.CertFile = pki.Path(pki.CenterECDSA.ChainFile())
	cfg.KeyFile = pki.Path(pki.CenterECDSA.KeyFile())
	cfg.ClientCAFile = pki.Path(pki.Root.CertFile())
	cfg.MQTT.OTP = otp
	cfg.Quirks = quirks
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ex := &mqttExchanges{}
	s.AddHook(ex)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	b, err := s.StartMQTT(mqttAt(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, b, ex
}

// mqttExchanges records every exchange and how it ended.
type mqttExchanges struct {
	HookBase
	mu  sync.Mutex
	all []answered
}

type answered struct {
	x *Exchange
	a Answer
}

func (e *mqttExchanges) ID() string            { return "test-exchanges" }
func (e *mqttExchanges) Provides(v Event) bool { return v == OnAnswer }
func (e *mqttExchanges) OnAnswer(x *Exchange, a Answer, _ time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, answered{x, a})
}

func (e *mqttExchanges) of(method string) []answered {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []answered
	for _, a := range e.all {
		if a.x.Protocol == ProtoMQTT && a.x.Method == method {
			out = append(out, a)
		}
	}
	return out
}

// wire is a raw MQTT v5 client over TLS 1.3 for these tests.
type wire struct {
	t    *testing.T
	conn net.Conn
}

func dialWire(t *testing.T, b *Broker, cert pki.Name) *wire {
	t.Helper()
	roots := x509.NewCertPool()
	pem, _ := os.ReadFile(pki.Path(pki.Root.CertFile()))
	roots.AppendCertsFromPEM(pem)
	tc := &tls.Config{RootCAs: roots, ServerName: pki.CenterHost, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP384}, NextProtos: []string{"mqtt"}}
	if cert != "" {
		c, err := pki.LoadTLS(cert)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	c, err := tls.Dial("tcp", b.Addr(), tc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &wire{t: t, conn: c}
}

func (w *wire) send(p interface {
	WriteTo(io.Writer) (int64, error)
}) {
	w.t.Helper()
	if _, err := p.WriteTo(w.conn); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wire) recv() *packets.ControlPacket {
	w.t.Helper()
	cp, err := packets.ReadPacket(w.conn)
	if err != nil {
		w.t.Fatalf("reading a packet: %v", err)
	}
	return cp
}

func (w *wire) connect(id, user, pass string, props *packets.Properties) *packets.Connack {
	w.t.Helper()
	c := &packets.Connect{ProtocolName: "MQTT", ProtocolVersion: 5, ClientID: id, KeepAlive: 30, CleanStart: true, Properties: props}
	if user != "" {
		c.UsernameFlag, c.Username = true, user
	}
	if pass != "" {
		c.PasswordFlag, c.Password = true, []byte(pass)
	}
	w.send(c)
	cp := w.recv()
	ca, ok := cp.Content.(*packets.Connack)
	if !ok {
		w.t.Fatalf("got %s, want CONNACK", cp.PacketType())
	}
	return ca
}

func getOTP(t *testing.T, s *Server, cert pki.Name) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "https://"+s.Addr()+OTPPath, nil)
	req.Header.Set("vehicle_id", pki.TestVIN)
	resp, err := client(t, s, cert).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a OTPAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != 200 || a.OTP == "" {
		t.Fatalf("GET /otp: %d %v %+v", resp.StatusCode, err, a)
	}
	return a.OTP
}

func pfi(b byte) *byte { return &b }

func TestBrokerConnectChecks(t *testing.T) {
	s, b, ex := startBroker(t, true)
	vin := pki.TestVIN
	otp := getOTP(t, s, pki.Vehicle)
	if ca := dialWire(t, b, pki.Vehicle).connect(vin, vin, otp, nil); ca.ReasonCode != 0 || ca.Properties == nil || ca.Properties.TopicAliasMaximum == nil || *ca.Properties.TopicAliasMaximum != 10 {
		t.Fatalf("good CONNECT: %+v", ca)
	}
	for _, c := range []struct {
		name, id, user, pass string
		props                *packets.Properties
		want                 byte
	}{
		{"reused OTP", vin, vin, otp, nil, 0x86},
		{"wrong OTP", vin, vin, "nope", nil, 0x86},
		{"username not the VIN", vin, "someone", getOTP(t, s, pki.Vehicle), nil, 0x86},
		{"client ID not VIN", "JT1TESTVH00000002", vin, getOTP(t, s, pki.Vehicle), nil, 0x85},
		{"enhanced auth", vin, vin, getOTP(t, s, pki.Vehicle), &packets.Properties{AuthMethod: "SCRAM-SHA-1"}, 0x8C},
	} {
		if ca := dialWire(t, b, pki.Vehicle).connect(c.id, c.user, c.pass, c.props); ca.ReasonCode != c.want {
			t.Errorf("%s: CONNACK 0x%02X, want 0x%02X", c.name, ca.ReasonCode, c.want)
		}
	}
	if got := ex.of("CONNECT"); len(got) != 6 {
		t.Errorf("%d CONNECT exchanges answered, want 6", len(got))
	} else if got[0].a.Code != 0 || got[1].a.Code != 0x86 || got[0].x.VIN != vin || got[0].x.Header.Get(MQTTClientID) != vin {
		t.Errorf("CONNECT exchanges: %+v / %+v", got[0], got[1])
	}
}

func TestBrokerPublishACLAndStore(t *testing.T) {
	s, b, ex := startBroker(t, false)
	vin := pki.TestVIN
	w := dialWire(t, b, pki.Vehicle)
	if ca := w.connect(vin, "", "", nil); ca.ReasonCode != 0 {
		t.Fatalf("CONNACK 0x%02X", ca.ReasonCode)
	}
	pub := func(id uint16, topic string, alias uint16, payload string, pf *byte) byte {
		p := &packets.Publish{QoS: 1, PacketID: id, Topic: topic, Payload: []byte(payload),
			Properties: &packets.Properties{PayloadFormat: pf, ContentType: "application/octet-stream",
				User: []packets.User{{Key: MQTTFileNameProp, Value: fmt.Sprintf("f%d.bin", id)}}}}
		if alias > 0 {
			p.Properties.TopicAlias = &alias
		}
		w.send(p)
		cp := w.recv()
		pa, ok := cp.Content.(*packets.Puback)
		if !ok || pa.PacketID != id {
			t.Fatalf("got %s, want PUBACK %d", cp.PacketType(), id)
		}
		return pa.ReasonCode
	}
	if rc := pub(1, vin+"/can/V2C", 1, "one", pfi(0)); rc != 0 {
		t.Errorf("own topic: PUBACK 0x%02X", rc)
	}
	if rc := pub(2, "", 1, "two", pfi(0)); rc != 0 {
		t.Errorf("aliased: PUBACK 0x%02X", rc)
	}
	if rc := pub(3, "JT1TESTVH00000002/can/V2C", 0, "three", pfi(0)); rc != 0x87 {
		t.Errorf("another VIN's topic: PUBACK 0x%02X, want 0x87", rc)
	}
	if rc := pub(4, vin+"/can/V2C", 0, "\xff\xfe", pfi(1)); rc != 0x99 {
		t.Errorf("PFI 1 on bytes: PUBACK 0x%02X, want 0x99", rc)
	}
	w.send(&packets.Subscribe{PacketID: 5, Subscriptions: []packets.SubOptions{{Topic: "JT1TESTVH00000002/push/C2V", QoS: 1}}})
	if sa := w.recv().Content.(*packets.Suback); sa.Reasons[0] != 0x87 {
		t.Errorf("subscribing to another VIN's topic: SUBACK 0x%02X", sa.Reasons[0])
	}
	files := s.Store().Files()
	if len(files) != 2 || files[1].Name != "f2.bin" || files[1].VehicleID != vin {
		t.Errorf("store: %+v", files)
	}
	got := ex.of("PUBLISH")
	if len(got) != 4 || got[1].x.Path != vin+"/can/V2C" || got[1].x.Header.Get(MQTTTopicOnWire) != "" || got[2].a.Code != 0x87 {
		t.Errorf("PUBLISH exchanges: %d, %+v", len(got), got)
	}
}

func TestBrokerFaults(t *testing.T) {
	s, b, ex := startBroker(t, false)
	vin := pki.TestVIN
	plan := NewFaultPlan()
	s.AddHook(plan)

	// CONNACK with a table code.
	plan.Set(Fault{Times: 1, Protocol: ProtoMQTT, Method: "CONNECT", Code: 0x89})
	if ca := dialWire(t, b, pki.Vehicle).connect(vin, "", "", nil); ca.ReasonCode != 0x89 {
		t.Errorf("CONNACK 0x%02X, want 0x89", ca.ReasonCode)
	}
	// PUBACK 0x10 (below 0x80) reaches the wire; SUBACK 0x97; UNSUBACK 0x83.
	plan.Set(Fault{Times: 1, Protocol: ProtoMQTT, Method: "PUBLISH", Code: 0x10},
		Fault{Times: 1, Protocol: ProtoMQTT, Method: "SUBSCRIBE", Code: 0x97},
		Fault{Times: 1, Protocol: ProtoMQTT, Method: "UNSUBSCRIBE", Code: 0x83})
	w := dialWire(t, b, pki.Vehicle)
	w.connect(vin, "", "", nil)
	w.send(&packets.Publish{QoS: 1, PacketID: 7, Topic: vin + "/can/V2C", Payload: []byte("x")})
	if pa := w.recv().Content.(*packets.Puback); pa.ReasonCode != 0x10 {
		t.Errorf("PUBACK 0x%02X, want 0x10", pa.ReasonCode)
	}
	w.send(&packets.Subscribe{PacketID: 8, Subscriptions: []packets.SubOptions{{Topic: vin + "/push/C2V", QoS: 1}}})
	if sa := w.recv().Content.(*packets.Suback); sa.Reasons[0] != 0x97 {
		t.Errorf("SUBACK 0x%02X, want 0x97", sa.Reasons[0])
	}
	w.send(&packets.Unsubscribe{PacketID: 9, Topics: []string{vin + "/push/C2V"}})
	if ua := w.recv().Content.(*packets.Unsuback); ua.Reasons[0] != 0x83 {
		t.Errorf("UNSUBACK 0x%02X, want 0x83", ua.Reasons[0])
	}
	// A withheld PUBACK: no answer, the connection stays (PINGREQ works);
	// the exchange ends abandoned when the client leaves.
	plan.Set(Fault{Times: 1, Protocol: ProtoMQTT, Method: "PUBLISH", Withhold: true})
	w.send(&packets.Publish{QoS: 1, PacketID: 10, Topic: vin + "/can/V2C", Payload: []byte("y")})
	w.send(packets.NewControlPacket(packets.PINGREQ))
	if cp := w.recv(); cp.Type != packets.PINGRESP {
		t.Errorf("got %s, want PINGRESP (no PUBACK)", cp.PacketType())
	}
	w.conn.Close()
	waitFor(t, func() bool {
		p := ex.of("PUBLISH")
		return len(p) == 2 && p[1].x.Abandoned
	}, "the withheld PUBLISH ends abandoned")

	// A withheld CONNACK: the client's wait decides.
	plan.Set(Fault{Times: 1, Protocol: ProtoMQTT, Method: "CONNECT", Withhold: true})
	w = dialWire(t, b, pki.Vehicle)
	w.send(&packets.Connect{ProtocolName: "MQTT", ProtocolVersion: 5, ClientID: vin, KeepAlive: 30, CleanStart: true})
	_ = w.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := packets.ReadPacket(w.conn); err == nil {
		t.Error("a CONNACK came although withheld")
	}
	w.conn.Close()
	waitFor(t, func() bool {
		c := ex.of("CONNECT")
		return len(c) == 3 && c[2].x.Abandoned
	}, "the withheld CONNECT ends abandoned")

	// A server DISCONNECT with a reason on the next PINGREQ.
	plan.Set(Fault{Times: 1, Protocol: ProtoMQTT, Method: "PINGREQ", Disconnect: true, Code: 0x98})
	w = dialWire(t, b, pki.Vehicle)
	w.connect(vin, "", "", nil)
	w.send(packets.NewControlPacket(packets.PINGREQ))
	if d, ok := w.recv().Content.(*packets.Disconnect); !ok || d.ReasonCode != 0x98 {
		t.Errorf("want DISCONNECT 0x98, got %+v", d)
	}
}

func TestBrokerPush(t *testing.T) {
	_, b, ex := startBroker(t, false)
	vin := pki.TestVIN
	w := dialWire(t, b, pki.Vehicle)
	w.connect(vin, "", "", nil)
	w.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.SubOptions{{Topic: vin + "/push/C2V", QoS: 1}}})
	if sa := w.recv().Content.(*packets.Suback); sa.Reasons[0] != 1 {
		t.Fatalf("SUBACK 0x%02X", sa.Reasons[0])
	}
	type result struct {
		ack MQTTPushAck
		err error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a, err := b.Push(ctx, vin, 7, 3, []byte("hello"))
		done <- result{a, err}
	}()
	cp := w.recv()
	p, ok := cp.Content.(*packets.Publish)
	if !ok || p.Topic != vin+"/push/C2V" || p.QoS != 1 || p.Properties.ResponseTopic != vin+"/push/V2C" || len(p.Properties.CorrelationData) == 0 {
		t.Fatalf("push: %s %+v", cp.PacketType(), p)
	}
	w.send(&packets.Puback{PacketID: p.PacketID})
	w.send(&packets.Publish{QoS: 1, PacketID: 2, Topic: p.Properties.ResponseTopic, Payload: []byte(`{"status":"SUCCESS"}`),
		Properties: &packets.Properties{CorrelationData: p.Properties.CorrelationData, ContentType: "application/json", PayloadFormat: pfi(1)}})
	w.recv() // PUBACK
	r := <-done
	if r.err != nil || string(r.ack.Payload) != `{"status":"SUCCESS"}` || r.ack.Topic != vin+"/push/V2C" {
		t.Fatalf("push ack: %+v %v", r.ack, r.err)
	}
	out := ex.of("PUBLISH")
	var push *answered
	for i := range out {
		if out[i].x.Header.Get(MQTTDirection) == MQTTOutbound {
			push = &out[i]
		}
	}
	if push == nil || push.a.By != "client" || push.a.Code != 0 {
		t.Errorf("the push is not on the timeline as answered by the client's PUBACK: %+v", push)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var _ = strings.Contains

func mqttAt(cfg Config) MQTTConfig {
	m := cfg.MQTT
	m.Addr = "127.0.0.1:0"
	return m
}

// Closing the center ends the connections of its broker's clients, a
// connected one and one that sent nothing yet: mochi-mqtt's Close waits
// for its clients but stops only those of listeners it runs itself.
func TestBrokerCloseEndsConnections(t *testing.T) {
	s, b, _ := startBroker(t, false)
	connected := dialWire(t, b, pki.Vehicle)
	if ca := connected.connect(pki.TestVIN, pki.TestVIN, "", nil); ca.ReasonCode != 0 {
		t.Fatalf("CONNECT: %+v", ca)
	}
	dialWire(t, b, pki.Vehicle) // silent: no CONNECT
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the center's Close did not return within 10 s while clients were connected")
	}
}
