package exve_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/simulator/exve"
)

// latencies collects request times for a percentile.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) p(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	return l.d[int(float64(len(l.d)-1)*q)]
}

// benchGET reads path as fast as the clients can (b.RunParallel, each
// goroutine its own keep-alive connection) and reports requests/s and
// the p50 and p99 latency.
func benchGET(b *testing.B, r *rig, path string) {
	var lat latencies
	url := r.op.BaseURI() + path
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+r.token)
			req.Header.Set("Accept", "application/json")
			t0 := time.Now()
			resp, err := r.http.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("%s: %d", path, resp.StatusCode)
				return
			}
			lat.add(time.Since(t0))
		}
	})
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
	b.ReportMetric(float64(lat.p(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat.p(0.99).Microseconds())/1000, "p99-ms")
}

// BenchmarkResourceRead is one resource read: a vehicle's odometers (six
// samples) in the latest version.
func BenchmarkResourceRead(b *testing.B) {
	r := startWith(b, func(c *exve.Config) { c.TimeScale = 1; c.DefaultRateLimit.Limit = 0 })
	benchGET(b, r, "/vehicles/"+exve.DemoVIN(7)+"/odometers")
}

// BenchmarkFleetRead is a filtered, paged read over a fleet of 10,000
// vehicles: the wildcard odometers of every vehicle since a date, 100 from
// the 5,000th on (60,000 samples scanned, filtered, sorted and paged per
// request); and the vehicle list sorted by last upload, a page of 50.
func BenchmarkFleetRead(b *testing.B) {
	r := startWith(b, func(c *exve.Config) { c.TimeScale = 1; c.DemoFleet = 10000; c.DefaultRateLimit.Limit = 0 })
	since := time.Now().Add(-13 * time.Minute).UTC().Format(time.RFC3339)
	b.Run("wildcard-odometers", func(b *testing.B) {
		benchGET(b, r, "/vehicles/*/odometers?startDate="+since+"&start=5000&limit=100")
	})
	b.Run("vehicles-sorted", func(b *testing.B) {
		benchGET(b, r, "/vehicles?sortField=lastSeen&sortOrder=desc&start=5000&limit=50")
	})
}

// BenchmarkPushes is pushes per second to one callback: one subscription,
// pushes delivered one at a time (each a POST answered by the accessing
// party's callback over a kept TLS connection).
func BenchmarkPushes(b *testing.B) {
	r := startWith(b, func(c *exve.Config) { c.TimeScale = 1 })
	tag := fmt.Sprintf("bench%d", time.Now().UnixNano())
	body := `{"profile":{"token_type":"bearer_token","token":"` + r.ap.NewBearerToken(time.Hour) + `","expires_in":3600,"callbackBaseURI":"` + r.ap.CallbackBaseURI() + "/" + tag + `"}}`
	st, h, _ := r.do(b, "POST", "/odometerSubscriptions", body)
	if st != 201 {
		b.Fatalf("subscribe: %d", st)
	}
	id := h.Get("Location")
	id = id[len(id)-36:]
	before := len(r.ap.Pushes())
	b.ResetTimer()
	start := time.Now()
	if err := r.op.PushTest(context.Background(), id, b.N); err != nil {
		b.Fatal(err)
	}
	for len(r.ap.Pushes())-before < b.N {
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "pushes/s")
}
