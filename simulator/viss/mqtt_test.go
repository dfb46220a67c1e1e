package viss

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/simulator/center"
)

// startMQTTPair starts the reference center's broker (VISS clients
// icoc-viss-client and icoc-viss-peer) and a v3 server whose MQTT
// transport connects to it as the test VIN.
func startMQTTPair(t *testing.T, quirks ...string) (*center.Broker, *Service) {
	t.Helper()
	cfg := center.NewDefaultConfig()
	cfg.CertFile = filepath.Join(pkiDir(), "center-ecdsa.chain.pem")
	cfg.KeyFile = filepath.Join(pkiDir(), "center-ecdsa.key.pem")
	cfg.ClientCAFile = filepath.Join(pkiDir(), "root.crt.pem")
	cs, err := center.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	mc := center.DefaultMQTTConfig()
	mc.Addr = "127.0.0.1:0"
	mc.VISSClients = []string{pki.VISSClientID, pki.VISSPeerID}
	b, err := cs.StartMQTT(mc)
	if err != nil {
		t.Fatal(err)
	}
	vc := NewDefaultConfig()
	vc.CertFile = filepath.Join(pkiDir(), "viss-server.chain.pem")
	vc.KeyFile = filepath.Join(pkiDir(), "viss-server.key.pem")
	vc.Servers = []ServerConfig{{Dialect: "v3", Addr: "127.0.0.1:0", MQTT: true}}
	vc.Quirks = quirks
	s, err := New(vc)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	attachTestMQTT(t, s, b, vehicleMQTTTLS(t))
	return b, s
}

// vehicleMQTTTLS is the test vehicle's TLS configuration for the broker.
func vehicleMQTTTLS(t *testing.T) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(pkiDir(), "vehicle.chain.pem"), filepath.Join(pkiDir(), "vehicle.key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := os.ReadFile(filepath.Join(pkiDir(), "root.crt.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(root)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: pki.CenterHost, NextProtos: []string{"mqtt"}, MinVersion: tls.VersionTLS13}
}

// attachTestMQTT gives the MQTT server of s its vehicle-side client (as
// the reference vehicle does) and waits for it to subscribe to
// VIN/Vehicle.
func attachTestMQTT(t *testing.T, s *Service, b *center.Broker, tc *tls.Config) {
	t.Helper()
	srv := s.MQTTServers()[0]
	srv.Attach(NewMQTT(srv, MQTTOptions{
		VID: func() string { return pki.TestVIN },
		Dial: func(ctx context.Context) (net.Conn, error) {
			return (&tls.Dialer{Config: tc}).DialContext(ctx, "tcp", b.Addr())
		},
		Retry: 100 * time.Millisecond,
	}))
	deadline := time.Now().Add(10 * time.Second)
	for !b.Subscribed(pki.TestVIN, pki.TestVIN+"/Vehicle") {
		if time.Now().After(deadline) {
			t.Fatal("the VISS MQTT client did not subscribe to VIN/Vehicle")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mosquittoTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed: this test drives the mosquitto clients (Debian package mosquitto-clients; .ci/run installs it)", name)
	}
	return p
}

// mosquittoArgs are the connection flags of the README's example: MQTT v5,
// TLS 1.3 with a VISS client's certificate, Client ID = its CN.
// --insecure only skips the host-name check (the certificate names
// center.icoc.test); the chain is still verified.
func mosquittoArgs(b *center.Broker, cert pki.Name, id string) []string {
	_, port, _ := net.SplitHostPort(b.Addr())
	return []string{"-V", "mqttv5", "-h", "127.0.0.1", "-p", port,
		"--cafile", filepath.Join(pkiDir(), "root.crt.pem"), "--cert", filepath.Join(pkiDir(), cert.ChainFile()), "--key", filepath.Join(pkiDir(), cert.KeyFile()),
		"--tls-version", "tlsv1.3", "--insecure", "-i", id}
}

// mosquitto_sub and mosquitto_pub, clients nobody here wrote, play two
// cloud-side VISS clients (v3.0 TRANSPORT 4.3.1): mosquitto_pub publishes
// the envelope to <VIN>/Vehicle through the reference broker, the
// reference vehicle's client answers on the envelope's topic, where
// mosquitto_sub prints the VISS get response.
func TestMosquittoClientsVISSOverMQTT(t *testing.T) {
	pub := mosquittoTool(t, "mosquitto_pub")
	sub := mosquittoTool(t, "mosquitto_sub")
	b, s := startMQTTPair(t)
	s.OnFrame(speed(t, 42.5), time.Now())
	topic := pki.VISSClientID + "/mosquitto-1"

	sargs := append(mosquittoArgs(b, pki.VISSClient, pki.VISSClientID), "-t", topic, "-q", "1", "-C", "1", "-W", "15")
	cmd := exec.Command(sub, sargs...)
	var sout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &sout, &sout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !b.Subscribed(pki.VISSClientID, topic) {
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto_sub did not subscribe: %s", sout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	env := `{"topic":"` + topic + `","request":"{\"action\":\"get\",\"path\":\"Vehicle.Speed\",\"requestId\":\"m1\"}"}`
	pargs := append(mosquittoArgs(b, pki.VISSPeer, pki.VISSPeerID), "-t", pki.TestVIN+"/Vehicle", "-q", "1", "-m", env)
	if out, err := exec.Command(pub, pargs...).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub %s: %v\n%s", strings.Join(pargs, " "), err, out)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mosquitto_sub %s: %v\n%s", strings.Join(sargs, " "), err, sout.String())
	}
	var m map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(sout.Bytes()), &m); err != nil {
		t.Fatalf("mosquitto_sub printed %q: not the VISS response: %v", sout.String(), err)
	}
	dp, _ := m["data"].(map[string]any)["dp"].(map[string]any)
	if m["action"] != "get" || m["requestId"] != "m1" || dp["value"] != "42.5" {
		t.Errorf("the VISS get response on %s: %v", topic, m)
	}
	d, _ := s.servers[0].Dialect().Schema()
	if err := d.Validate(bytes.TrimSpace(sout.Bytes())); err != nil {
		t.Errorf("the response breaks the v3 schema: %v", err)
	}
}

// mosquitto_rr, the request-response client of the same package, is a
// whole cloud client on one connection; an envelope whose request is not
// a string gets the server's 400 on its topic (register I-327).
func TestMosquittoRRVISSOverMQTT(t *testing.T) {
	rr := mosquittoTool(t, "mosquitto_rr")
	b, _ := startMQTTPair(t)
	topic := pki.VISSClientID + "/rr-1"
	for _, c := range []struct{ env, want string }{
		{`{"topic":"` + topic + `","request":"{\"action\":\"get\",\"path\":\"Server.Support.Protocol\",\"requestId\":\"r1\"}"}`, `"mqtt"`},
		{`{"topic":"` + topic + `","request":{"action":"get"}}`, `"400"`},
	} {
		args := append(mosquittoArgs(b, pki.VISSClient, pki.VISSClientID), "-t", pki.TestVIN+"/Vehicle", "-e", topic, "-q", "1", "-W", "15", "-m", c.env)
		out, err := exec.Command(rr, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("mosquitto_rr %s: %v\n%s\nwant %s in the answer", c.env, err, out, c.want)
		}
	}
}

// A lost connection (the broker cuts it) is made again and VID/Vehicle
// subscribed again.
func TestMQTTReconnects(t *testing.T) {
	b, _ := startMQTTPair(t)
	for i := 0; i < 3; i++ {
		if !b.Kick(pki.TestVIN) {
			t.Fatal("no connection to cut")
		}
		deadline := time.Now().Add(5 * time.Second)
		time.Sleep(20 * time.Millisecond)
		for !b.Subscribed(pki.TestVIN, pki.TestVIN+"/Vehicle") {
			if time.Now().After(deadline) {
				t.Fatalf("cut %d: not subscribed again within 5 s", i+1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// +B OFF ends the server's MQTT client with the server; after the
// power-up a client attached again subscribes anew, and a second +B OFF
// ends that one too (the server's stop signal is renewed by PowerOn).
func TestMQTTAcrossPowerCycles(t *testing.T) {
	b, s := startMQTTPair(t)
	tc := vehicleMQTTTLS(t)
	for i := 1; i <= 2; i++ {
		if err := s.PowerOff(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for b.Subscribed(pki.TestVIN, pki.TestVIN+"/Vehicle") {
			if time.Now().After(deadline) {
				t.Fatalf("+B OFF %d: the MQTT client still subscribed", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := s.PowerOn(); err != nil {
			t.Fatal(err)
		}
		attachTestMQTT(t, s, b, tc)
	}
}
