package center

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// BenchmarkUpload measures uploads per second and bytes per second on the
// center, each protocol used as the vehicle uses it: HTTP/1.1 with a new
// TLS connection per upload (7.2.2.7), HTTP/2 over one kept connection
// (7.2.3.7). Run: go test -run '^$' -bench Upload ./simulator/center
func BenchmarkUpload(b *testing.B) {
	cfg := NewDefaultConfig()
	cfg.CertFile = pki.Path(pki.CenterECDSA.ChainFile())
	cfg.KeyFile = pki.Path(pki.CenterECDSA.KeyFile())
	cfg.ClientCAFile = pki.Path(pki.Root.CertFile())
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, proto := range []string{"http/1.1", "h2"} {
		for _, size := range []int{1 << 10, 64 << 10, 8 << 20} {
			b.Run(fmt.Sprintf("%s/%dKB", map[string]string{"http/1.1": "HTTP1.1", "h2": "HTTP2"}[proto], size>>10), func(b *testing.B) {
				c := client(&testing.T{}, s, pki.Vehicle)
				tr := c.Transport.(*http.Transport)
				tr.TLSClientConfig.NextProtos = []string{proto}
				tr.ForceAttemptHTTP2 = proto == "h2"
				tr.DisableKeepAlives = proto != "h2"
				body := bytes.Repeat([]byte{0xA5}, size)
				url := "https://" + s.Addr() + "/files/" + goodName
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
					req.Header.Set("vehicle_id", pki.TestVIN)
					req.Header.Set("Content-Type", "application/octet-stream")
					resp, err := c.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uploads/s")
			})
		}
	}
}
