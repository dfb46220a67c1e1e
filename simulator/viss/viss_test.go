package viss

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/spec/viss"
	"go.einride.tech/can"
)

func pkiDir() string {
	_, f, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(f), "..", "..", "fixtures", "pki")
}

func startService(t testing.TB, quirks ...string) *Service {
	t.Helper()
	cfg := NewDefaultConfig()
	cfg.CertFile = filepath.Join(pkiDir(), "viss-server.chain.pem")
	cfg.KeyFile = filepath.Join(pkiDir(), "viss-server.key.pem")
	cfg.Servers = []ServerConfig{{Dialect: "v3", Addr: "127.0.0.1:0"}, {Dialect: "gen2", Addr: "127.0.0.1:0"}}
	cfg.TokenSecret = []byte("test-secret-0123456789")
	cfg.Quirks = quirks
	cfg.TimeScale = 0.02
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func tlsClient(t testing.TB) *tls.Config {
	b, err := os.ReadFile(filepath.Join(pkiDir(), "root.crt.pem"))
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(b)
	return &tls.Config{RootCAs: p, ServerName: "viss.icoc.test"}
}

type wsClient struct {
	t *testing.T
	c *websocket.Conn
	s *vissspec.Schema
}

func dial(t *testing.T, ep Endpoint, proto string, d vissspec.Dialect) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsClient(t)}}
	c, resp, err := websocket.Dial(ctx, ep.WS, &websocket.DialOptions{Subprotocols: []string{proto}, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Sec-WebSocket-Protocol") != proto {
		t.Fatalf("subprotocol %q", resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	t.Cleanup(func() { c.CloseNow() })
	return &wsClient{t: t, c: c, s: d.MustSchema()}
}

func (w *wsClient) roundTrip(req string) map[string]any {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
		w.t.Fatal(err)
	}
	return w.read(ctx)
}

func (w *wsClient) read(ctx context.Context) map[string]any {
	w.t.Helper()
	_, b, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.s.Validate(b); err != nil {
		w.t.Errorf("schema: %s\n%v", b, err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func speed(t testing.TB, v float64) can.Frame {
	f, err := bench.Encode("VehicleSpeed", map[string]float64{"VehicleSpeed": v})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestGetSubscribe(t *testing.T) {
	s := startService(t)
	v3 := vissspec.MustLoad(vissspec.V3, vissspec.DefaultOptions())
	g2 := vissspec.MustLoad(vissspec.Gen2, vissspec.DefaultOptions())
	eps := s.Endpoints()
	s.OnFrame(speed(t, 42.5), time.Now())
	c := dial(t, eps[0], "VISSv3", v3)
	m := c.roundTrip(`{"action":"get","path":"Vehicle.Speed","requestId":"1"}`)
	dp := m["data"].(map[string]any)["dp"].(map[string]any)
	if dp["value"] != "42.5" {
		t.Errorf("get: %v", m)
	}
	m = c.roundTrip(`{"action":"get","path":"Vehicle/NoSuch","requestId":"2"}`)
	if e := m["error"].(map[string]any); e["number"] != "404" || e["reason"] != "unavailable_data" {
		t.Errorf("unknown: %v", m)
	}
	m = c.roundTrip(`{"action":"subscribe","path":"Vehicle.Speed","filter":{"variant":"change","parameter":{"logic-op":"gt","diff":"5"}},"requestId":"3"}`)
	if m["subscriptionId"] == nil {
		t.Fatalf("subscribe: %v", m)
	}
	s.OnFrame(speed(t, 44), time.Now())
	s.OnFrame(speed(t, 50), time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ev := c.read(ctx)
	if v := ev["data"].(map[string]any)["dp"].(map[string]any)["value"]; v != "50" {
		t.Errorf("event: %v", ev)
	}
	m = c.roundTrip(`{"action":"set","path":"Vehicle.Speed","value":"3","requestId":"4"}`)
	if e := m["error"].(map[string]any); e["number"] != "400" || e["reason"] != "invalid_data" {
		t.Errorf("set on sensor: %v", m)
	}
	m = c.roundTrip(`{"action":"get","path":"Server.Support.Filter","requestId":"5"}`)
	if !strings.Contains(mustString(m), "timebased") {
		t.Errorf("server tree: %v", m)
	}

	g := dial(t, eps[1], "gen21.0", g2)
	m = g.roundTrip(`{"action":"get","path":"Vehicle/Speed","requestId":"1"}`)
	if m["value"] != "50" {
		t.Errorf("gen2 get: %v", m)
	}
	m = g.roundTrip(`{"action":"subscribe","path":"Vehicle/Speed","filter":"$rangeGT60AND$rangeLT80","requestId":"2"}`)
	if m["subscriptionId"] == nil {
		t.Fatalf("gen2 subscribe: %v", m)
	}
	for _, v := range []float64{55, 65, 70, 90} {
		s.OnFrame(speed(t, v), time.Now())
	}
	for _, want := range []string{"65", "90"} {
		ev := g.read(ctx)
		if ev["value"] != want {
			t.Errorf("gen2 range event %v, want %s", ev, want)
		}
	}
	m = g.roundTrip(`{"action":"get","path":"Vehicle/Chassis?$specEQ1","requestId":"3"}`)
	if m["metadata"] == nil {
		t.Errorf("gen2 metadata: %v", m)
	}
}

func mustString(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestHandEncodedEvents checks the hand-written event encoding against
// encoding/json and the schema.
func TestHandEncodedEvents(t *testing.T) {
	s := startService(t)
	for _, srv := range s.servers {
		sub := &subscription{id: "7\"x", srv: srv, trig: trigger{kind: "change"}}
		now := time.Date(2026, 6, 1, 12, 0, 0, 123456000, time.UTC)
		for _, data := range [][]pathData{
			{{path: "Vehicle.Speed", dps: []dataPoint{{wire: "4\\2", at: now}}}},
			{{path: "Vehicle.Speed", dps: []dataPoint{{wire: "1", at: now}, {wire: "2", at: now}}, multi: true}, {path: "Vehicle.IsMoving", dps: []dataPoint{{wire: "true", at: now}}}},
		} {
			for _, m := range srv.codec.events(sub, data, now) {
				var got any
				if err := json.Unmarshal(m, &got); err != nil {
					t.Fatalf("%s: %v", m, err)
				}
				if err := srv.d.MustSchema().Validate(m); err != nil {
					t.Errorf("%s: %v", m, err)
				}
				var want any
				if srv.d.Name == vissspec.V3 {
					want = obj{"action": "subscription", "subscriptionId": sub.id, "data": v3Codec{srv}.data(data), "ts": srv.ts(now)}
					b, _ := json.Marshal(want)
					_ = json.Unmarshal(b, &want)
					if mustString(got) != mustString(want) {
						t.Errorf("v3 event\n got %s\nwant %s", mustString(got), mustString(want))
					}
				}
			}
		}
	}
}
