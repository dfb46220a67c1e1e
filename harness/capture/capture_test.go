package capture_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/harness/capture"
	"github.com/icoc-dev/icoc/simulator/center"
	"go.einride.tech/can"
	"golang.org/x/net/http2"
)

// openSniffer opens a capture or skips, saying why none can be had here.
func openSniffer(t *testing.T) *capture.Sniffer {
	t.Helper()
	s, err := capture.Open()
	if err != nil {
		t.Skipf("no capture on this machine: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// startCenter starts the reference center with its TLS secrets going to
// keys and answering every upload with status.
func startCenter(t *testing.T, keys *capture.KeyLog, status int) *center.Server {
	t.Helper()
	cfg := center.NewDefaultConfig()
	cfg.CertFile = pki.Path(pki.CenterECDSA.ChainFile())
	cfg.KeyFile = pki.Path(pki.CenterECDSA.KeyFile())
	cfg.ClientCAFile = pki.Path(pki.Root.CertFile())
	cfg.KeyLogWriter = keys
	s, err := center.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if status != 0 {
		s.AddHook(center.NewFaultPlan(center.Fault{Times: -1, Status: status}))
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func vehicleClient(t *testing.T, h2 bool) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	b, err := os.ReadFile(pki.Path(pki.Root.CertFile()))
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(b)
	c, err := pki.LoadTLS(pki.Vehicle)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{RootCAs: roots, ServerName: pki.CenterHost, MinVersion: tls.VersionTLS13,
		CurvePreferences: []tls.CurveID{tls.CurveP384}, Certificates: []tls.Certificate{c}}
	if h2 {
		tc.NextProtos = []string{"h2"}
		return &http.Client{Transport: &http2.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
	}
	tc.NextProtos = []string{"http/1.1"}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

const uploadPath = "/files/20260601_120000_D24_001_00_0000000001_c.bin"

// TestTsharkDecryptsCapture proves the evidence is usable by an outside
// tool: a real TLS 1.3 upload to the reference center, captured on
// loopback by the kernel-filtered AF_PACKET socket and written as pcapng,
// is decrypted by Wireshark's tshark with the center's key log, which
// finds the request path and the status the center answered. HTTP/1.1
// and HTTP/2.
func TestTsharkDecryptsCapture(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark (Wireshark) is not installed: apt-get install -y tshark (.ci/run does)")
	}
	sn := openSniffer(t)
	for _, tc := range []struct {
		name   string
		h2     bool
		fields []string
		filter string
	}{
		{"HTTP/1.1", false, []string{"http.request.uri", "http.response.code"}, "http"},
		{"HTTP/2", true, []string{"http2.headers.path", "http2.headers.status"}, "http2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys := &capture.KeyLog{}
			c := startCenter(t, keys, 503)
			p := port(t, c.Addr())
			if err := sn.SetPorts([]int{p}); err != nil {
				t.Fatal(err)
			}
			from := time.Now()
			req, _ := http.NewRequest(http.MethodPost, "https://"+c.Addr()+uploadPath, strings.NewReader("some CAN data"))
			req.Header.Set("vehicle_id", "JT1TESTVH00000001")
			req.Header.Set("Content-Type", "application/octet-stream")
			resp, err := vehicleClient(t, tc.h2).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 503 {
				t.Fatalf("center answered %d, want the fault plan's 503", resp.StatusCode)
			}
			time.Sleep(200 * time.Millisecond) // let the last packets reach the capture
			to := time.Now()
			pkts, _ := sn.Window(from, to)
			if len(pkts) == 0 {
				t.Fatalf("nothing captured on port %d", p)
			}
			dir := t.TempDir()
			pcap, keyFile := filepath.Join(dir, "capture.pcapng"), filepath.Join(dir, "tls-keys.log")
			var b bytes.Buffer
			if err := sn.WritePCAPNG(&b, pkts, "test"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(pcap, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(keyFile, keys.Between(from, to), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append(capture.TsharkArgs(pcap, keyFile, []capture.Port{{Number: p, Proto: capture.TLS}}),
				"-Y", tc.filter, "-T", "fields")
			for _, f := range tc.fields {
				args = append(args, "-e", f)
			}
			out, err := exec.Command(tshark, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("tshark %v: %v\n%s", args, err, out)
			}
			text := string(out)
			if !strings.Contains(text, uploadPath) || !strings.Contains(text, "503") {
				t.Fatalf("tshark did not decrypt the path %s and status 503 from the capture (%d packets); it printed:\n%s", uploadPath, len(pkts), text)
			}
			// Without the key log the same capture shows neither.
			plain, _ := exec.Command(tshark, "-r", pcap, "-d", "tcp.port=="+strconv.Itoa(p)+",tls", "-Y", tc.filter, "-T", "fields", "-e", tc.fields[0]).CombinedOutput()
			if strings.Contains(string(plain), uploadPath) {
				t.Fatalf("the path is readable without the key log: the capture is not of TLS traffic:\n%s", plain)
			}
		})
	}
}

// TestSnifferKeepsOnlyItsPorts checks the kernel filter: traffic on a port
// not in the set is never kept, traffic on one in it is, from the first
// packet of its connection.
func TestSnifferKeepsOnlyItsPorts(t *testing.T) {
	sn := openSniffer(t)
	in, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for _, l := range []net.Listener{in, out} {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				b := make([]byte, 64)
				n, _ := c.Read(b)
				c.Write(b[:n])
				c.Close()
			}
		}()
	}
	if err := sn.SetPorts([]int{port(t, in.Addr().String())}); err != nil {
		t.Fatal(err)
	}
	from := time.Now()
	for _, l := range []net.Listener{in, out} {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("hello " + l.Addr().String()))
		io := make([]byte, 64)
		c.Read(io)
		c.Close()
	}
	time.Sleep(200 * time.Millisecond)
	pkts, _ := sn.Window(from, time.Now())
	var sawSYN bool
	for _, p := range pkts {
		if bytes.Contains(p.Data, []byte(out.Addr().String())) {
			t.Fatalf("kept a packet of port %s, which is not in the set", out.Addr())
		}
		if len(p.Data) > 14+20+13 && p.Data[14+20+13]&0x02 != 0 {
			sawSYN = true
		}
	}
	if len(pkts) == 0 || !sawSYN {
		t.Fatalf("kept %d packets of port %s, want the whole connection from its SYN", len(pkts), in.Addr())
	}
	// Each loopback packet once, not twice.
	payloads := 0
	for _, p := range pkts {
		if bytes.Contains(p.Data, []byte("hello "+in.Addr().String())) {
			payloads++
		}
	}
	if payloads != 2 { // the request and its echo
		t.Fatalf("the payload appears in %d packets, want 2 (request and echo, each once)", payloads)
	}
}

func TestKeyLogBetween(t *testing.T) {
	var k capture.KeyLog
	k.Write([]byte("CLIENT_HANDSHAKE_TRAFFIC_SECRET aa bb\n"))
	mid := time.Now()
	time.Sleep(2 * time.Millisecond)
	k.Write([]byte("SERVER_HANDSHAKE_TRAFFIC_SECRET cc dd\nEXPORTER_SECRET ee "))
	k.Write([]byte("ff\n"))
	got := string(k.Between(mid, time.Now()))
	if strings.Contains(got, "aa bb") || !strings.Contains(got, "SERVER_HANDSHAKE_TRAFFIC_SECRET cc dd\n") || !strings.Contains(got, "EXPORTER_SECRET ee ff\n") {
		t.Fatalf("Between = %q", got)
	}
}

func TestCandumpFormat(t *testing.T) {
	var l capture.CANLog
	f1 := can.Frame{ID: 0x123, Length: 3, Data: can.Data{0xde, 0xad, 0x01}}
	f2 := can.Frame{ID: 0x18DAF110, IsExtended: true, Length: 8, Data: can.Data{1, 2, 3, 4, 5, 6, 7, 8}}
	f3 := can.Frame{ID: 0x7DF, IsRemote: true}
	l.Sent(f1)
	l.Received(f1) // the emulator's echo of our own frame: not logged twice
	l.Received(f2)
	l.Received(f3)
	var b bytes.Buffer
	if err := capture.WriteCandump(&b, "can0", "", l.Between(time.Time{}, time.Now())); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "# ") {
		t.Fatalf("got %d lines:\n%s", len(lines), b.String())
	}
	for i, want := range []string{" can0 123#DEAD01 T", " can0 18DAF110#0102030405060708 R", " can0 7DF#R R"} {
		if !strings.HasSuffix(lines[i+1], want) || !strings.HasPrefix(lines[i+1], "(") {
			t.Errorf("line %d = %q, want (seconds.micros)%s", i+1, lines[i+1], want)
		}
	}
}
