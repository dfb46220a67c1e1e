package center

import (
	"crypto/tls"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// exchanges records what the hooks see of requests and answers.
type exchanges struct {
	HookBase
	mu  sync.Mutex
	req []*Exchange
	ans []Answer
}

func (e *exchanges) ID() string { return "test-exchanges" }
func (e *exchanges) Provides(ev Event) bool {
	return ev == OnRequest || ev == OnAnswer
}
func (e *exchanges) OnRequest(x *Exchange) Answer {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.req = append(e.req, x)
	return Answer{}
}
func (e *exchanges) OnAnswer(_ *Exchange, a Answer, _ time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ans = append(e.ans, a)
}

// rawHTTP1 sends raw bytes over mutual TLS (ALPN http/1.1) and returns
// what the center answered.
func rawHTTP1(t *testing.T, s *Server, request string) string {
	t.Helper()
	roots, _ := pki.CertPool(pki.Root)
	cert, _ := pki.LoadTLS(pki.Vehicle)
	c, err := tls.Dial("tcp", s.Addr(), &tls.Config{RootCAs: roots, ServerName: pki.CenterHost, MinVersion: tls.VersionTLS13,
		CurvePreferences: []tls.CurveID{tls.CurveP384}, Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestStackRefusalsReachHooks(t *testing.T) {
	s, _, _ := startPolicyCenter(t, nil)
	e := &exchanges{}
	s.AddHook(e)
	for _, c := range []struct {
		name, request, status, why string
	}{
		{"malformed header line", "POST /files/a.bin HTTP/1.1\r\nHost: center.icoc.test\r\nvehicle_id JT1TESTVH00000001\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 400 ", "malformed MIME header: missing colon"},
		{"no Host", "POST /files/b.bin HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 400 ", "missing required Host header"},
	} {
		out := rawHTTP1(t, s, c.request)
		if !strings.HasPrefix(out, c.status) || !strings.Contains(out, `"status":"ERROR"`) || !strings.Contains(out, c.why) || !strings.Contains(out, "application/json") {
			t.Errorf("%s: answer %q, want %s... with an ERROR Result naming %q", c.name, out, c.status, c.why)
		}
	}
	// A good request on the same kind of connection is not taken for one.
	if out := rawHTTP1(t, s, "GET /nothing HTTP/1.1\r\nHost: center.icoc.test\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(out, "HTTP/1.1 404 ") {
		t.Errorf("good request: %q", out)
	}
	time.Sleep(20 * time.Millisecond)
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.req) != 3 || len(e.ans) != 3 {
		t.Fatalf("hooks saw %d requests and %d answers, want 3 and 3", len(e.req), len(e.ans))
	}
	x := e.req[0]
	if x.Method != "POST" || x.Path != "/files/a.bin" || !strings.Contains(x.Malformed, "missing colon") || x.Conn.ID == 0 || x.VIN != pki.TestVIN {
		t.Errorf("first refused exchange: %s %s malformed=%q conn=%d vin=%q", x.Method, x.Path, x.Malformed, x.Conn.ID, x.VIN)
	}
	if e.ans[0].Status != 400 || e.ans[0].By != "http-stack" {
		t.Errorf("first answer: %d by %s", e.ans[0].Status, e.ans[0].By)
	}
	if e.req[2].Malformed != "" || e.ans[2].Status != 404 {
		t.Errorf("good request taken for a refusal: %q, %d", e.req[2].Malformed, e.ans[2].Status)
	}
}
