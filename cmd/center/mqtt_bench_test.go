package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// envCenter, when set, makes this test binary run the center with the
// flags it holds instead of the tests: the benchmark's broker process.
const envCenter = "ICOC_BENCH_CENTER"

func TestMain(m *testing.M) {
	if args := os.Getenv(envCenter); args != "" {
		os.Args = append([]string{"center"}, strings.Fields(args)...)
		main()
		return
	}
	os.Exit(m.Run())
}

// benchSizes are the vehicle counts BenchmarkMQTTVehicles runs:
// ICOC_BENCH_MQTT_N (comma-separated), default 1000.
func benchSizes() []int {
	v := os.Getenv("ICOC_BENCH_MQTT_N")
	if v == "" {
		return []int{1000}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// BenchmarkMQTTVehicles connects N simulated vehicles, each an MQTT v5
// client over TLS 1.3 with a client certificate of its own (Client ID and
// certificate CN = its VIN), to a broker running as its own process, then
// has each publish one QoS 1 message of 256 bytes at a random moment of a
// 5 s window. It reports the broker process's resident memory per
// connected vehicle (VmRSS growth / N), the connect rate (TLS handshake,
// CONNECT, CONNACK; 32 at a time), and the PUBACK latency p50 and p99;
// for the reference center's broker (mochi-mqtt) and, as the anchor, for
// Debian's mosquitto in the same run. Run it with -benchtime 1x;
// ICOC_BENCH_MQTT_N=1000,10000 adds the 10,000-vehicle run.
func BenchmarkMQTTVehicles(b *testing.B) {
	for _, n := range benchSizes() {
		fleet := newFleet(b, n)
		for _, broker := range []string{"icoc", "mosquitto"} {
			b.Run(fmt.Sprintf("broker=%s/vehicles=%d", broker, n), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					r := fleet.run(b, broker)
					b.ReportMetric(r.kibPerVehicle, "KiB/vehicle")
					b.ReportMetric(r.connectsPerS, "connects/s")
					b.ReportMetric(r.p50, "puback-p50-ms")
					b.ReportMetric(r.p99, "puback-p99-ms")
					b.ReportMetric(float64(r.failed), "failed")
				}
			})
		}
	}
}

// fleet is N vehicle identities issued by a CA of the benchmark's own
// (ECDSA P-256, so that 10,000 certificates take a second, not minutes of
// RSA-3072 signing), which the broker trusts beside the OEM root.
type fleet struct {
	dir   string
	caPEM string // the OEM root and the benchmark CA
	certs []tls.Certificate
	vins  []string
	roots *x509.CertPool
}

func newFleet(b *testing.B, n int) *fleet {
	b.Helper()
	dir := b.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "icoc benchmark CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		b.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	root, err := os.ReadFile(pki.Path(pki.Root.CertFile()))
	if err != nil {
		b.Fatal(err)
	}
	caFile := filepath.Join(dir, "client-ca.pem")
	both := append(append([]byte(nil), root...), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	if err := os.WriteFile(caFile, both, 0o644); err != nil {
		b.Fatal(err)
	}
	f := &fleet{dir: dir, caPEM: caFile, roots: x509.NewCertPool()}
	f.roots.AppendCertsFromPEM(root)
	for i := 0; i < n; i++ {
		vin := fmt.Sprintf("JT1BENCH%09d", i)
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: vin},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			b.Fatal(err)
		}
		f.certs = append(f.certs, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})
		f.vins = append(f.vins, vin)
	}
	return f
}

type benchResult struct {
	kibPerVehicle, connectsPerS, p50, p99 float64
	failed                                int
}

// run starts the broker, connects the fleet, publishes, and measures.
func (f *fleet) run(b *testing.B, broker string) benchResult {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var cmd *exec.Cmd
	switch broker {
	case "icoc":
		cmd = exec.Command(os.Args[0], "-test.run=^$")
		// The benchmark's certificates name no OCSP responder: client
		// revocation is off, as for mosquitto.
		cmd.Env = append(os.Environ(), envCenter+"=-quiet -addr 127.0.0.1:0 -mqtt-addr "+addr+" -pki "+pki.Path("")+
			" -client-revocation off -responder off -alt-cert none -client-ca "+f.caPEM)
	case "mosquitto":
		bin, err := exec.LookPath("mosquitto")
		if err != nil {
			bin = "/usr/sbin/mosquitto"
			if _, err := os.Stat(bin); err != nil {
				b.Skip("mosquitto is not installed (Debian package mosquitto)")
			}
		}
		_, port, _ := net.SplitHostPort(addr)
		acl := filepath.Join(f.dir, "acl")
		_ = os.WriteFile(acl, []byte("pattern readwrite %u/#\n"), 0o644)
		u := "root"
		if cu, err := user.Current(); err == nil {
			u = cu.Username
		}
		conf := filepath.Join(f.dir, "mosquitto.conf")
		_ = os.WriteFile(conf, []byte(fmt.Sprintf("per_listener_settings false\nallow_anonymous false\npersistence false\nuser %s\nlog_dest none\n"+
			"listener %s 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\nuse_identity_as_username true\ntls_version tlsv1.3\nacl_file %s\nmax_queued_messages 1000\n",
			u, port, f.caPEM, pki.Path(pki.CenterECDSA.ChainFile()), pki.Path(pki.CenterECDSA.KeyFile()), acl)), 0o644)
		cmd = exec.Command(bin, "-c", conf)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: not listening on %s", broker, addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	rss0 := rssKiB(cmd.Process.Pid)

	n := len(f.certs)
	conns := make([]*benchConn, n)
	var failed atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := f.connect(addr, i)
				if err != nil {
					failed.Add(1)
					continue
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	connectTime := time.Since(start)
	b.StopTimer()
	time.Sleep(2 * time.Second)
	rss1 := rssKiB(cmd.Process.Pid)
	b.StartTimer()

	// Each vehicle publishes once at a random moment of a 5 s window.
	lat := make([]time.Duration, n)
	for i, c := range conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(mrand.Int64N(int64(5 * time.Second))))
			d, err := c.publish(f.vins[i])
			if err != nil {
				failed.Add(1)
				return
			}
			lat[i] = d
		}()
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.close()
		}
	}
	var ok []time.Duration
	for _, d := range lat {
		if d > 0 {
			ok = append(ok, d)
		}
	}
	slices.Sort(ok)
	pct := func(p float64) float64 {
		if len(ok) == 0 {
			return 0
		}
		return float64(ok[int(p*float64(len(ok)-1))]) / float64(time.Millisecond)
	}
	return benchResult{
		kibPerVehicle: float64(rss1-rss0) / float64(n),
		connectsPerS:  float64(n) / connectTime.Seconds(),
		p50:           pct(0.50), p99: pct(0.99),
		failed: int(failed.Load()),
	}
}

// benchConn is one vehicle's connection.
type benchConn struct {
	c    net.Conn
	acks chan *packets.Puback
}

// connect runs one vehicle's TLS 1.3 handshake (P-384, its own
// certificate) and CONNECT; a reader goroutine passes PUBACKs on.
func (f *fleet) connect(addr string, i int) (*benchConn, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: f.roots, ServerName: pki.CenterHost,
		CurvePreferences: []tls.CurveID{tls.CurveP384}, Certificates: []tls.Certificate{f.certs[i]}, NextProtos: []string{"mqtt"}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := (&tls.Dialer{Config: tc}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	cp := &packets.Connect{ProtocolName: "MQTT", ProtocolVersion: 5, ClientID: f.vins[i], KeepAlive: 600, CleanStart: true}
	if _, err := cp.WriteTo(c); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	ack, err := packets.ReadPacket(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	if ca, ok := ack.Content.(*packets.Connack); !ok || ca.ReasonCode != 0 {
		c.Close()
		return nil, fmt.Errorf("%s: %v", f.vins[i], ack)
	}
	_ = c.SetReadDeadline(time.Time{})
	bc := &benchConn{c: c, acks: make(chan *packets.Puback, 1)}
	go func() {
		r := bufio.NewReader(c)
		for {
			p, err := packets.ReadPacket(r)
			if err != nil {
				close(bc.acks)
				return
			}
			if pa, ok := p.Content.(*packets.Puback); ok {
				bc.acks <- pa
			}
		}
	}()
	return bc, nil
}

var benchPayload = make([]byte, 256)

// publish sends one QoS 1 PUBLISH (Payload Format Indicator 0, Content
// Type application/octet-stream) and waits for its PUBACK.
func (bc *benchConn) publish(vin string) (time.Duration, error) {
	zero := byte(0)
	p := &packets.Publish{QoS: 1, PacketID: 1, Topic: vin + "/can/V2C", Payload: benchPayload,
		Properties: &packets.Properties{PayloadFormat: &zero, ContentType: "application/octet-stream"}}
	t := time.Now()
	if _, err := p.WriteTo(bc.c); err != nil {
		return 0, err
	}
	select {
	case pa, ok := <-bc.acks:
		if !ok || pa.ReasonCode >= 0x80 {
			return 0, fmt.Errorf("no PUBACK (%v)", pa)
		}
		return time.Since(t), nil
	case <-time.After(30 * time.Second):
		return 0, fmt.Errorf("no PUBACK within 30 s")
	}
}

func (bc *benchConn) close() {
	_, _ = (&packets.Disconnect{}).WriteTo(bc.c)
	_ = bc.c.Close()
}

// rssKiB is a process's resident set size (VmRSS) in KiB.
func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
