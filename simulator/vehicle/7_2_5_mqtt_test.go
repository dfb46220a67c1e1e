package vehicle_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/bus"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/simulator/vehicle"
)

// recorder keeps the MQTT exchanges a test center answered.
type recorder struct {
	center.HookBase
	ch chan *center.Exchange
}

func (r *recorder) ID() string                   { return "test" }
func (r *recorder) Provides(e center.Event) bool { return e == center.OnAnswer }
func (r *recorder) OnAnswer(x *center.Exchange, _ center.Answer, _ time.Time) {
	if x.Protocol == center.ProtoMQTT {
		r.ch <- x
	}
}

// The reference vehicle over MQTT against the reference center: OTP, then
// CONNECT (Client ID = VIN), SUBSCRIBE to its push topic; an upload
// trigger makes a QoS 1 PUBLISH with PFI and Content Type that the center
// stores; a push is acknowledged on its Response Topic; IG-OFF ends with
// UNSUBSCRIBE and DISCONNECT.
func TestVehicleOverMQTT(t *testing.T) {
	cc := center.NewDefaultConfig()
	cc.CertFile, cc.KeyFile, cc.ClientCAFile = pki.Path(pki.CenterECDSA.ChainFile()), pki.Path(pki.CenterECDSA.KeyFile()), pki.Path(pki.Root.CertFile())
	cc.MQTT.OTP = true
	c, err := center.New(cc)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{ch: make(chan *center.Exchange, 256)}
	c.AddHook(rec)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mc := cc.MQTT
	mc.Addr = "127.0.0.1:0"
	b, err := c.StartMQTT(mc)
	if err != nil {
		t.Fatal(err)
	}
	rs := startRevocation(t)
	emu, err := bus.NewEmulator()
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()

	vc := vehicle.NewDefaultConfig()
	_, port, _ := net.SplitHostPort(c.Addr())
	vc.CenterURL = "https://" + pki.CenterHost + ":" + port
	vc.CenterAddr = c.Addr()
	vc.MQTT.Broker = net.JoinHostPort(pki.CenterHost, "8883")
	vc.MQTT.BrokerAddr = b.Addr()
	vc.MQTT.OTP = true
	vc.Uplink = vehicle.UplinkMQTT
	vc.CertFile, vc.KeyFile, vc.RootCAFile = pki.Path(pki.Vehicle.ChainFile()), pki.Path(pki.Vehicle.KeyFile()), pki.Path(pki.Root.CertFile())
	vc.Bus = emu.Config()
	vc.Revocation.Addr = rs.Addr()
	vc.TimeScale = 0.02
	vc.Logf = t.Logf
	v, err := vehicle.New(vc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	<-v.Ready()
	bc, err := bus.Open(ctx, emu.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	vinFrames, _ := bench.VINFrames(pki.TestVIN)
	ig := bench.IGOn
	tx := func() {
		_ = bc.TransmitFrame(ctx, bench.IgnitionFrame(ig))
		for _, f := range vinFrames {
			_ = bc.TransmitFrame(ctx, f)
		}
	}
	tx()
	wait := func(method string) *center.Exchange {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case x := <-rec.ch:
				if x.Method == method && x.Header.Get(center.MQTTDirection) == center.MQTTInbound {
					return x
				}
			case <-deadline:
				t.Fatalf("no %s within 10 s", method)
			case <-time.After(50 * time.Millisecond):
				tx()
			}
		}
	}
	x := wait("CONNECT")
	if x.Header.Get(center.MQTTClientID) != pki.TestVIN || x.Header.Get(center.MQTTUsername) != pki.TestVIN || x.Header.Get(center.MQTTPassword) == "" {
		t.Errorf("CONNECT: %v", x.Header)
	}
	s := wait("SUBSCRIBE")
	if s.Path != pki.TestVIN+"/push/C2V" {
		t.Errorf("SUBSCRIBE %q", s.Path)
	}
	_ = bc.TransmitFrame(ctx, bench.UploadTrigger{RealTime: true, Trigger: 'c', RequestID: 42}.Frame())
	p := wait("PUBLISH")
	if p.Path != pki.TestVIN+"/can/V2C" || p.Header.Get(center.MQTTQoS) != "1" || p.Header.Get("Payload-Format-Indicator") != "0" || p.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("PUBLISH %s %v", p.Path, p.Header)
	}
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	ack, err := b.Push(pctx, pki.TestVIN, 7, 3, []byte("hello"))
	if err != nil || ack.Topic != pki.TestVIN+"/push/V2C" || ack.ContentType != "application/json" {
		t.Fatalf("push: %+v %v", ack, err)
	}
	if ps := v.Pushes(); len(ps) != 1 || ps[0].AppID != 7 || string(ps[0].Body) != "hello" {
		t.Errorf("pushes: %+v", ps)
	}
	ig = bench.IGOff
	_ = bc.TransmitFrame(ctx, bench.IgnitionFrame(ig))
	wait("UNSUBSCRIBE")
	d := wait("DISCONNECT")
	if d.Header.Get(center.MQTTReasonCode) != "0x00" {
		t.Errorf("DISCONNECT %v", d.Header)
	}
	files := c.Store().Files()
	if len(files) == 0 {
		t.Error("the center stored no file")
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// startRevocation starts the test PKI's CRL distribution point and OCSP
// responder for the test (the vehicle checks the center's chain, 7.1.1.5).
func startRevocation(t *testing.T) *center.RevocationServer {
	t.Helper()
	pp := func(f string) string { return pki.Path(f) }
	rs, err := center.NewRevocationServer(center.RevocationConfig{
		Addr: "127.0.0.1:0",
		CAs: []center.RevocationCA{
			{CertFile: pp(pki.Intermediate.CertFile()), KeyFile: pp(pki.Intermediate.KeyFile()), CRLPath: "/intermediate.crl", CRLFile: pp(pki.IntermediateCRL)},
			{CertFile: pp(pki.Root.CertFile()), KeyFile: pp(pki.Root.KeyFile()), CRLPath: "/root.crl", CRLFile: pp(pki.RootCRL)},
		},
		ResponderCertFile: pp(pki.OCSPResponder.CertFile()), ResponderKeyFile: pp(pki.OCSPResponder.KeyFile()),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	return rs
}
