package vehicle_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/bus"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/simulator/vehicle"
	"github.com/icoc-dev/icoc/simulator/viss"
)

// +B OFF stops the vehicle's VISS servers (a TLS connection to them is
// refused) and forgets what they had read off the bus; the power-up after
// it (IG-ON) starts them again on the same port, and IG-OFF with +B on
// leaves them running.
func TestVISSFollowsPower(t *testing.T) {
	emu, err := bus.NewEmulator()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	vc := vehicle.NewDefaultConfig()
	vc.CertFile, vc.KeyFile, vc.RootCAFile = pki.Path(pki.Vehicle.ChainFile()), pki.Path(pki.Vehicle.KeyFile()), pki.Path(pki.Root.CertFile())
	// No center listens there: the VISS side does not need one.
	vc.CenterURL, vc.CenterAddr = "https://"+pki.CenterHost+":9", "127.0.0.1:9"
	vc.Bus = emu.Config()
	vc.TimeScale = 0.02
	vc.Logf = t.Logf
	vc.VISS.Servers = []viss.ServerConfig{{Dialect: "v3", Addr: "127.0.0.1:0"}}
	vc.VISS.CertFile, vc.VISS.KeyFile = pki.Path("viss-server.chain.pem"), pki.Path("viss-server.key.pem")
	vc.VISS.TokenSecret = []byte("test-secret-0123456789")
	v, bc := runVISSVehicle(t, vc)
	ctx := context.Background()
	addr := strings.TrimPrefix(v.VISS().Endpoints()[0].WS, "wss://")
	b, err := os.ReadFile(pki.Path(pki.Root.CertFile()))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	reach := func() error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: pki.VISSHost})
		if err == nil {
			c.Close()
		}
		return err
	}
	// until waits for the servers' power state and reachability to agree
	// with want.
	until := func(what string, want bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := reach()
			if v.VISS().Powered() == want && (err == nil) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: powered %v, connection error %v; want reachable %v", what, v.VISS().Powered(), err, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	speed, err := bench.Encode("VehicleSpeed", map[string]float64{"VehicleSpeed": 42})
	if err != nil {
		t.Fatal(err)
	}
	tx := func(i bench.Ignition) {
		if err := bc.TransmitFrame(ctx, bench.IgnitionFrame(i)); err != nil {
			t.Fatal(err)
		}
	}
	until("started", true)
	tx(bench.IGOn)
	if err := bc.TransmitFrame(ctx, speed); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := v.VISS().Store().Current("Vehicle.Speed"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the speed frame never reached the VISS store")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tx(bench.IGOff)
	time.Sleep(100 * time.Millisecond)
	until("IG-OFF with +B on", true)
	tx(bench.BOff)
	until("+B OFF", false)
	if _, ok := v.VISS().Store().Current("Vehicle.Speed"); ok {
		t.Error("+B OFF: the VISS store still holds the speed read before")
	}
	tx(bench.IGOn)
	until("IG-ON after +B OFF", true)
	if got := strings.TrimPrefix(v.VISS().Endpoints()[0].WS, "wss://"); got != addr {
		t.Errorf("after the power-up the server listens on %s, before on %s", got, addr)
	}
}

// The VISS v3 server's MQTT client (v3.0 TRANSPORT 4.3.1) follows the
// power too: +B OFF ends its subscription to VIN/Vehicle with the server,
// and the power-up after it subscribes again.
func TestVISSMQTTFollowsPower(t *testing.T) {
	emu, err := bus.NewEmulator()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	cc := center.NewDefaultConfig()
	cc.CertFile, cc.KeyFile, cc.ClientCAFile = pki.Path(pki.CenterECDSA.ChainFile()), pki.Path(pki.CenterECDSA.KeyFile()), pki.Path(pki.Root.CertFile())
	cs, err := center.New(cc)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	mc := center.DefaultMQTTConfig()
	mc.Addr = "127.0.0.1:0"
	b, err := cs.StartMQTT(mc)
	if err != nil {
		t.Fatal(err)
	}
	rs := startRevocation(t)
	vc := vehicle.NewDefaultConfig()
	vc.CertFile, vc.KeyFile, vc.RootCAFile = pki.Path(pki.Vehicle.ChainFile()), pki.Path(pki.Vehicle.KeyFile()), pki.Path(pki.Root.CertFile())
	vc.CenterURL, vc.CenterAddr = "https://"+pki.CenterHost+":9", "127.0.0.1:9"
	vc.Revocation.Addr = rs.Addr()
	vc.MQTT.Broker, vc.MQTT.BrokerAddr = pki.CenterHost+":8883", b.Addr()
	vc.Bus = emu.Config()
	vc.TimeScale = 0.02
	vc.Logf = t.Logf
	vc.VISS.Servers = []viss.ServerConfig{{Dialect: "v3", Addr: "127.0.0.1:0", MQTT: true}}
	vc.VISS.CertFile, vc.VISS.KeyFile = pki.Path("viss-server.chain.pem"), pki.Path("viss-server.key.pem")
	vc.VISS.TokenSecret = []byte("test-secret-0123456789")
	_, bc := runVISSVehicle(t, vc)
	ctx := context.Background()
	subscribed := func(what string, want bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for b.Subscribed(pki.TestVIN, pki.TestVIN+"/Vehicle") != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: subscribed to %s/Vehicle: %v, want %v", what, pki.TestVIN, !want, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	tx := func(i bench.Ignition) {
		if err := bc.TransmitFrame(ctx, bench.IgnitionFrame(i)); err != nil {
			t.Fatal(err)
		}
	}
	vin, err := bench.VINFrames(pki.TestVIN)
	if err != nil {
		t.Fatal(err)
	}
	sendVIN := func() {
		for _, f := range vin {
			if err := bc.TransmitFrame(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
	}
	sendVIN()
	subscribed("started, the VIN on the bus", true)
	tx(bench.BOff)
	subscribed("+B OFF", false)
	tx(bench.IGOn)
	sendVIN() // the VIN is broadcast cyclically; a unit may forget it without power
	subscribed("IG-ON after +B OFF", true)
	tx(bench.BOff)
	subscribed("+B OFF again", false)
}

// runVISSVehicle runs the vehicle of vc until the test ends and opens the
// test's own connection to its bus.
func runVISSVehicle(t *testing.T, vc vehicle.Config) (*vehicle.Vehicle, *bus.Conn) {
	t.Helper()
	v, err := vehicle.New(vc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	<-v.Ready()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	bc, err := bus.Open(ctx, vc.Bus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bc.Close() })
	return v, bc
}
