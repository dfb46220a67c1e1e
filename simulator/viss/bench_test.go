package viss_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/bus"
	"github.com/icoc-dev/icoc/simulator/vehicle"
	"github.com/icoc-dev/icoc/simulator/viss"
	"go.einride.tech/can"
)

// benchVehicle starts the reference vehicle with a VISS v3 server on an
// emulated bus and returns its endpoint, a transmitter on the bus and a
// client TLS config.
func benchVehicle(b *testing.B) (*vehicle.Vehicle, viss.Endpoint, *bus.Conn, *tls.Config, context.Context) {
	emu, err := bus.NewEmulator()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(emu.Close)
	pki := filepath.Join("..", "..", "fixtures", "pki")
	cfg := vehicle.NewDefaultConfig()
	cfg.CenterURL = "https://center.icoc.test:443"
	cfg.CenterAddr = "127.0.0.1:1"
	cfg.CertFile, cfg.KeyFile, cfg.RootCAFile = filepath.Join(pki, "vehicle.chain.pem"), filepath.Join(pki, "vehicle.key.pem"), filepath.Join(pki, "root.crt.pem")
	cfg.Bus = emu.Config()
	cfg.TimeScale = 100 // no periodic upload during the run
	cfg.VISS.Servers = []viss.ServerConfig{{Dialect: "v3", Addr: "127.0.0.1:0"}}
	cfg.VISS.CertFile, cfg.VISS.KeyFile = filepath.Join(pki, "viss-server.chain.pem"), filepath.Join(pki, "viss-server.key.pem")
	v, err := vehicle.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go func() { _ = v.Run(ctx) }()
	<-v.Ready()
	tx, err := bus.Open(ctx, emu.Config())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tx.Close() })
	_ = tx.TransmitFrame(ctx, bench.IgnitionFrame(bench.IGOn))
	ca, _ := os.ReadFile(filepath.Join(pki, "root.crt.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return v, v.VISS().Endpoints()[0], tx, &tls.Config{RootCAs: pool, ServerName: "viss.icoc.test"}, ctx
}

func dialWS(b *testing.B, ctx context.Context, ep viss.Endpoint, tc *tls.Config) *websocket.Conn {
	c, _, err := websocket.Dial(ctx, ep.WS, &websocket.DialOptions{Subprotocols: []string{"VISSv3"}, HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}})
	if err != nil {
		b.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	return c
}

// speedFrames are n VehicleSpeed frames whose speed is i*0.01 km/h (mod
// 655.35): consecutive frames differ, so a change (ne 0) subscription
// fires on each.
func speedFrames(b *testing.B, n int) []can.Frame {
	out := make([]can.Frame, n)
	for i := range out {
		f, err := bench.Encode("VehicleSpeed", map[string]float64{"VehicleSpeed": float64(i%65535+1) * 0.01})
		if err != nil {
			b.Fatal(err)
		}
		out[i] = f
	}
	return out
}

// BenchmarkNotifications puts VehicleSpeed frames on the bus at 100% load
// of a 1 Mbit/s classic CAN bus (one second of bus time, 9,009 frames, per
// iteration) while subscribers, each on its own WebSocket, hold a change
// subscription on Vehicle.Speed that fires on every frame: it reports the
// notifications per second they received in all (from the first frame to
// the last notification), the share of the offered notifications that did
// not arrive before half a second of silence (%missing) and the share the
// server dropped for clients that fell behind (v3.0 TRANSPORT 4.1.2.8: "the
// server MAY limit the number of subcriptionEvent messages sent"), and the
// bus-to-notification latency of the first subscriber (frame sent to event
// received) p50 and p99.
func BenchmarkNotifications(b *testing.B) {
	for _, subs := range []int{1, 100} {
		b.Run("subscribers="+strconv.Itoa(subs)+"/load=100%", func(b *testing.B) { benchNotifications(b, subs, 1) })
	}
}

func benchNotifications(b *testing.B, subs int, load float64) {
	v, ep, tx, tc, ctx := benchVehicle(b)
	frames := speedFrames(b, int(bus.MaxFrameRate(1_000_000, 8)*load))
	var received atomic.Int64
	var lastArrival atomic.Int64 // unix nanoseconds
	var mu sync.Mutex
	arrived := make([]time.Time, len(frames))
	var lat []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < subs; i++ {
		c := dialWS(b, ctx, ep, tc)
		defer c.CloseNow()
		req, _ := json.Marshal(map[string]any{"action": "subscribe", "path": "Vehicle.Speed", "requestId": "1",
			"filter": map[string]any{"variant": "change", "parameter": map[string]any{"logic-op": "ne", "diff": "0"}}})
		if err := c.Write(ctx, websocket.MessageText, req); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			b.Fatal(err)
		}
		first := i == 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, m, err := c.Read(ctx)
				if err != nil {
					return
				}
				at := time.Now()
				received.Add(1)
				lastArrival.Store(at.UnixNano())
				if !first {
					continue
				}
				var ev struct {
					Data struct {
						DP struct {
							Value string `json:"value"`
						} `json:"dp"`
					} `json:"data"`
				}
				if json.Unmarshal(m, &ev) != nil {
					continue
				}
				f, _ := strconv.ParseFloat(ev.Data.DP.Value, 64)
				idx := int(f*100+0.5) - 1
				mu.Lock()
				if idx >= 0 && idx < len(arrived) {
					arrived[idx] = at
				}
				mu.Unlock()
			}
		}()
	}
	p := &bus.Pacer{Bitrate: 1_000_000, Load: load}
	b.ResetTimer()
	var wall time.Duration
	offered := 0
	var got int64
	for it := 0; it < b.N; it++ {
		before := received.Load()
		start := time.Now()
		times, err := p.Transmit(ctx, tx, frames)
		if err != nil {
			b.Fatal(err)
		}
		// Until everything arrived, or nothing has for half a second.
		want := before + int64(len(frames)*subs)
		for received.Load() < want {
			if time.Since(time.Unix(0, lastArrival.Load())) > 500*time.Millisecond {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		wall += time.Unix(0, lastArrival.Load()).Sub(start)
		got += received.Load() - before
		offered += len(frames) * subs
		mu.Lock()
		for i, at := range arrived {
			if !at.IsZero() && i < len(times) && at.After(times[i]) {
				lat = append(lat, at.Sub(times[i]))
			}
			arrived[i] = time.Time{}
		}
		mu.Unlock()
	}
	b.StopTimer()
	b.ReportMetric(float64(got)/wall.Seconds(), "notifications/s")
	b.ReportMetric(100*(1-float64(got)/float64(offered)), "%missing")
	b.ReportMetric(100*float64(v.VISS().DroppedEvents())/float64(offered), "%dropped-by-server")
	mu.Lock()
	defer mu.Unlock()
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkGetRoundTrip sends gets of Vehicle.Speed one after the other
// over one WebSocket and reports round trips per second.
func BenchmarkGetRoundTrip(b *testing.B) {
	_, ep, tx, tc, ctx := benchVehicle(b)
	_ = tx.TransmitFrame(ctx, speedFrames(b, 1)[0])
	time.Sleep(20 * time.Millisecond)
	c := dialWS(b, ctx, ep, tc)
	defer c.CloseNow()
	req := []byte(`{"action":"get","path":"Vehicle.Speed","requestId":"1"}`)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := c.Write(ctx, websocket.MessageText, req); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "round-trips/s")
}
