package vissclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/viss"
	"github.com/icoc-dev/icoc/spec/viss"
)

// startV3 starts the reference v3 server and returns its endpoint noting
// on rec, and the client TLS configuration.
func startV3(t *testing.T, rec *harness.Recorder) (harness.VISSEndpoint, *tls.Config) {
	t.Helper()
	cfg := viss.NewDefaultConfig()
	cfg.CertFile = pki.Path("viss-server.chain.pem")
	cfg.KeyFile = pki.Path("viss-server.key.pem")
	cfg.Servers = []viss.ServerConfig{{Dialect: "v3", Addr: "127.0.0.1:0"}}
	cfg.TokenSecret = []byte("test-secret-0123456789")
	cfg.TimeScale = 0.02
	s, err := viss.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f, err := bench.Encode("VehicleSpeed", map[string]float64{"VehicleSpeed": 12.5})
	if err != nil {
		t.Fatal(err)
	}
	s.OnFrame(f, time.Now())
	b, err := os.ReadFile(pki.Path(pki.Root.CertFile()))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	e := s.Endpoints()[0]
	d := vissspec.MustLoad(vissspec.V3, vissspec.DefaultOptions())
	return harness.VISSEndpoint{Dialect: d, WS: e.WS, HTTP: e.HTTP, Recorder: rec}, &tls.Config{RootCAs: pool, ServerName: pki.VISSHost}
}

// The client notes on the run's timeline every request it sends (key: its
// requestId, start: when sent), settles it when its answer arrives, and
// notes each event (key: the subscriptionId) and each HTTPS exchange; the
// evidence's exchange log shows the messages themselves.
func TestTimeline(t *testing.T) {
	rec := harness.NewRecorder()
	ep, tc := startV3(t, rec)
	ctx := context.Background()
	c, _, err := Dial(ctx, ep, tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := time.Now()
	if _, err := c.Request(ctx, map[string]any{"action": "get", "path": "Vehicle.Speed", "requestId": "r1"}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Request(ctx, map[string]any{"action": "get", "path": "Vehicle.NoSuch", "requestId": "r2"}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	sub, err := c.Request(ctx, map[string]any{"action": "subscribe", "path": "Vehicle.Speed", "requestId": "r3",
		"filter": map[string]any{"variant": "timebased", "parameter": map[string]any{"period": "100"}}}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	id := sub.Str("subscriptionId")
	if evs := c.WaitEvents(ctx, id, 1, 10*time.Second); len(evs) == 0 {
		t.Fatalf("no event of subscription %s", id)
	}
	if _, err := HTTPGet(ctx, ep, tc, "Vehicle/Speed", "", ""); err != nil {
		t.Fatal(err)
	}
	as := rec.Attempts(func(a harness.Attempt) bool { return a.Protocol == harness.ProtoVISS })
	byKey := map[string]harness.Attempt{}
	for _, a := range as {
		if _, seen := byKey[a.Key]; !seen {
			byKey[a.Key] = a
		}
	}
	r1, r2, r3, ev := byKey["r1"], byKey["r2"], byKey["r3"], byKey[id]
	if r1.Method != "get" || r1.Path != "Vehicle.Speed" || r1.Status != 200 || r1.ReceivedAt.Before(before) || r1.AnsweredAt.Before(r1.ReceivedAt) ||
		!strings.Contains(string(r1.Sent), `"requestId":"r1"`) || !strings.Contains(string(r1.Got), `"12.5"`) || len(r1.Messages) != 2 || r1.Reused {
		t.Errorf("r1: %+v", r1)
	}
	if r2.Status != 404 || !r2.Reused || r2.ConnID != r1.ConnID {
		t.Errorf("r2: status %d reused %v conn %d/%d; want 404 on the same connection", r2.Status, r2.Reused, r2.ConnID, r1.ConnID)
	}
	if r3.Method != "subscribe" || r3.Status != 200 {
		t.Errorf("r3: %+v", r3)
	}
	if ev.Method != "subscription" || ev.Got == nil || ev.Sent != nil || !ev.AnsweredAt.Equal(ev.ReceivedAt) || ev.ReceivedAt.Before(r3.AnsweredAt) {
		t.Errorf("event: %+v", ev)
	}
	var https harness.Attempt
	for _, a := range as {
		if a.Proto == "HTTPS" {
			https = a
		}
	}
	if https.Method != "GET" || https.Status != 200 || !strings.Contains(string(https.Got), "12.5") {
		t.Errorf("https: %+v", https)
	}
	log := harness.ExchangeLog(as, harness.Clock{Mode: "real", Scale: 1})
	for _, want := range []string{
		"VISS get Vehicle.Speed (requestId r1) (new connection) -> answered without an error",
		"VISS get Vehicle.NoSuch (requestId r2) (reused connection) -> error 404",
		"VISS event of subscription " + id,
		"VISS over HTTPS GET /Vehicle/Speed",
		`sent:     {"action":"get","path":"Vehicle.Speed","requestId":"r1"}`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("exchange log lacks %q:\n%s", want, log)
		}
	}
}
