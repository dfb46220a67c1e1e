package vehicle

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/icoc-dev/icoc/spec"
)

// client returns an HTTP/1.1 client that opens a new connection per
// exchange and keeps no cookies (7.2.2.7), with the 7.2.2.5 response timeout
// counted from the end of the request, not the connection set-up.
func (v *Vehicle) client() *http.Client {
	dialer := &net.Dialer{Timeout: v.cfg.wall(5 * time.Second)}
	tr := &http.Transport{
		TLSClientConfig:       v.tls.Clone(),
		DisableKeepAlives:     true,
		ForceAttemptHTTP2:     false,
		ResponseHeaderTimeout: v.cfg.wall(spec.HTTPResponseTimeout),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if v.cfg.CenterAddr != "" {
				addr = v.cfg.CenterAddr
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: tr}
}
