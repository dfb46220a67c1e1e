package center

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// handshakes records every handshake a test center sees.
type handshakes struct {
	HookBase
	mu  sync.Mutex
	all []HandshakeInfo
}

func (h *handshakes) ID() string            { return "test-handshakes" }
func (h *handshakes) Provides(e Event) bool { return e == OnHandshake }
func (h *handshakes) OnHandshake(i HandshakeInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.all = append(h.all, i)
}
func (h *handshakes) last() HandshakeInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.all[len(h.all)-1]
}

func startCenter(t *testing.T) (*Server, *handshakes) {
	t.Helper()
	cfg := NewDefaultConfig()
	cfg.CertFile = pki.Path(pki.CenterECDSA.ChainFile())
	cfg.KeyFile = pki.Path(pki.CenterECDSA.KeyFile())
	cfg.ClientCAFile = pki.Path(pki.Root.CertFile())
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &handshakes{}
	s.AddHook(h)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, h
}

func client(t *testing.T, s *Server, cert pki.Name) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	b, err := os.ReadFile(pki.Path(pki.Root.CertFile()))
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(b)
	tc := &tls.Config{RootCAs: roots, ServerName: pki.CenterHost, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP384}}
	if cert != "" {
		c, err := pki.LoadTLS(cert)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

const goodName = "20260601_120000_D24_001_00_0000000001_c.bin"

func upload(t *testing.T, c *http.Client, s *Server, name, vid, ctype string, body []byte) (int, Result) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "https://"+s.Addr()+"/files/"+name, bytes.NewReader(body))
	if vid != "" {
		req.Header.Set("vehicle_id", vid)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r Result
	_ = json.Unmarshal(b, &r)
	return resp.StatusCode, r
}

func TestUploadStoresFile(t *testing.T) {
	s, h := startCenter(t)
	c := client(t, s, pki.Vehicle)
	code, r := upload(t, c, s, goodName, pki.TestVIN, "Application/Octet-Stream", []byte("data"))
	if code != 200 || r.Status != ResultSuccess {
		t.Fatalf("upload: %d %+v", code, r)
	}
	files := s.Store().Files()
	if len(files) != 1 || string(files[0].Data) != "data" || files[0].Name != goodName {
		t.Errorf("store: %+v", files)
	}
	hs := h.last()
	if hs.Err != nil || hs.Version != tls.VersionTLS13 || hs.Group != tls.CurveP384 || hs.SNI != pki.CenterHost {
		t.Errorf("handshake facts: %+v", hs)
	}
}

func TestUploadRefusesBadRequests(t *testing.T) {
	s, _ := startCenter(t)
	c := client(t, s, pki.Vehicle)
	for _, tc := range []struct {
		name, file, vid, ctype string
		want                   int
		msg                    string
	}{
		{"no vehicle_id", goodName, "", "application/octet-stream", 400, "vehicle_id"},
		{"15-character vehicle_id", goodName, "JT1TESTVH000001", "application/octet-stream", 400, "vehicle_id"},
		{"vehicle_id of another vehicle", goodName, "JT1TESTVH00000002", "application/octet-stream", 400, "not the VIN"},
		{"bad file name", "20261301_120000_D24_001_00_0000000001_c.bin", pki.TestVIN, "application/octet-stream", 400, "Appendix 1"},
		{"upper-case extension", strings.TrimSuffix(goodName, "bin") + "BIN", pki.TestVIN, "application/octet-stream", 400, "extension"},
		{"unsupported media type", goodName, pki.TestVIN, "image/png", 415, "Content-Type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, r := upload(t, c, s, tc.file, tc.vid, tc.ctype, []byte("x"))
			if code != tc.want || r.Status != ResultError || len(r.Messages) == 0 || !strings.Contains(r.Messages[0], tc.msg) {
				t.Errorf("got %d %+v, want %d ERROR mentioning %q", code, r, tc.want, tc.msg)
			}
		})
	}
	if n := len(s.Store().Files()); n != 0 {
		t.Errorf("%d bad uploads were stored", n)
	}
}

func TestWrongPathAndMethod(t *testing.T) {
	s, _ := startCenter(t)
	c := client(t, s, pki.Vehicle)
	resp, err := c.Get("https://" + s.Addr() + "/files/" + goodName)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /files/: %d, want 405", resp.StatusCode)
	}
	resp, err = c.Get("https://" + s.Addr() + "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nowhere: %d, want 404", resp.StatusCode)
	}
}

// 7.1.1.3: a client without a certificate, or with one that does not chain
// to the OEM root, never reaches the API.
func TestMutualTLSRefusesClients(t *testing.T) {
	for _, cert := range []pki.Name{"", pki.VehicleUntrusted, pki.VehicleExpired} {
		t.Run(string(cert)+"-", func(t *testing.T) {
			s, h := startCenter(t)
			c := client(t, s, cert)
			req, _ := http.NewRequest(http.MethodPost, "https://"+s.Addr()+"/files/"+goodName, strings.NewReader("x"))
			req.Header.Set("vehicle_id", pki.TestVIN)
			req.Header.Set("Content-Type", "application/octet-stream")
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("request went through: %d", resp.StatusCode)
			}
			time.Sleep(50 * time.Millisecond)
			if hs := h.last(); hs.Err == nil {
				t.Errorf("handshake recorded as good: %+v", hs)
			}
			if len(s.Store().Files()) != 0 {
				t.Error("file stored")
			}
		})
	}
}

func TestFaultPlan(t *testing.T) {
	s, _ := startCenter(t)
	plan := NewFaultPlan(Fault{Times: 2, Status: 503})
	s.AddHook(plan)
	c := client(t, s, pki.Vehicle)
	var got []int
	for i := 0; i < 3; i++ {
		code, _ := upload(t, c, s, goodName, pki.TestVIN, "application/octet-stream", []byte("x"))
		got = append(got, code)
	}
	if got[0] != 503 || got[1] != 503 || got[2] != 200 {
		t.Errorf("answers %v, want [503 503 200]", got)
	}
	plan.Set(Fault{Times: 1, Status: 568})
	if code, _ := upload(t, c, s, goodName, pki.TestVIN, "application/octet-stream", []byte("x")); code != 568 {
		t.Errorf("answer %d, want 568", code)
	}
}

// 7.1.1.1 ALPN, 7.2.3.7: the center speaks HTTP/2 when it and the client
// agree on h2, and gives an HTTP/2 client a sticky session cookie; an
// HTTP/1.1 client gets none (7.2.2.7).
func TestHTTP2AndStickySession(t *testing.T) {
	s, h := startCenter(t)
	for _, proto := range []string{"h2", "http/1.1"} {
		c := client(t, s, pki.Vehicle)
		tr := c.Transport.(*http.Transport)
		tr.TLSClientConfig.NextProtos = []string{proto}
		tr.ForceAttemptHTTP2 = proto == "h2"
		resp, err := c.Post("https://"+s.Addr()+"/files/"+goodName, "application/octet-stream", strings.NewReader("x"))
		if err == nil {
			resp.Body.Close()
		}
		// The request lacks vehicle_id: 400 either way; we look at protocol and cookie.
		if err != nil || resp.StatusCode != 400 {
			t.Fatalf("%s: %v %v", proto, err, resp)
		}
		wantMajor := map[string]int{"h2": 2, "http/1.1": 1}[proto]
		if resp.ProtoMajor != wantMajor || h.last().ALPN != proto {
			t.Errorf("%s: spoke HTTP/%d, ALPN %q", proto, resp.ProtoMajor, h.last().ALPN)
		}
		if got := resp.Header.Get("Set-Cookie") != ""; got != (proto == "h2") {
			t.Errorf("%s: Set-Cookie present = %v", proto, got)
		}
	}
}

// 7.2.2.4: the center can answer with an odd reason phrase.
func TestOddReasonPhrase(t *testing.T) {
	s, _ := startCenter(t)
	s.SetALPN("http/1.1")
	s.AddHook(NewFaultPlan(Fault{Times: 1, Status: 200, Reason: "Totally Broken"}))
	c := client(t, s, pki.Vehicle)
	resp, err := c.Post("https://"+s.Addr()+"/files/"+goodName, "application/octet-stream", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Status != "200 Totally Broken" {
		t.Errorf("status line %q", resp.Status)
	}
}

// The store keeps every delivery: a file uploaded twice under one name is
// one file (its latest content, two puts) and two deliveries, in order.
func TestStoreKeepsEveryDelivery(t *testing.T) {
	s := NewStore()
	t0 := time.Now()
	s.Put(pki.TestVIN, goodName, []byte("one"), t0)
	s.Put(pki.TestVIN, "other.bin", []byte("x"), t0.Add(time.Millisecond))
	s.Put(pki.TestVIN, goodName, []byte("one"), t0.Add(2*time.Millisecond))
	files := s.Files()
	if len(files) != 2 || files[0].Name != goodName || files[0].Puts != 2 || !files[0].Last.Equal(t0.Add(2*time.Millisecond)) {
		t.Errorf("files: %+v", files)
	}
	ds := s.Deliveries()
	if len(ds) != 3 || ds[0].Name != goodName || ds[2].Name != goodName || ds[2].Seq != 3 || string(ds[2].Data) != "one" || ds[0].SHA256 != ds[2].SHA256 {
		t.Errorf("deliveries: %+v", ds)
	}
}
