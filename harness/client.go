package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// VehicleClient returns an HTTP client with which the harness plays the
// vehicle against a center DUT. It presents the profile's client identity
// (dut.cert_file and dut.key_file; nil cert means that one, a zero
// tls.Certificate means none), trusts dut.root_ca_file, sends the center's
// host name as SNI and dials the center DUT's address; alpn is the only
// protocol it offers ("http/1.1" or "h2"). Each request uses a new
// connection, so every request is judged on its own handshake.
func (r *Run) VehicleClient(alpn string, cert *tls.Certificate) (*http.Client, error) {
	p := r.Profile
	if cert == nil {
		c, err := tls.LoadX509KeyPair(p.DUT.CertFile, p.DUT.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("profile %s: dut.cert_file/dut.key_file: %w", p.Source, err)
		}
		cert = &c
	}
	pem, err := os.ReadFile(p.DUT.RootCAFile)
	if err != nil {
		return nil, fmt.Errorf("profile %s: dut.root_ca_file: %w", p.Source, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("profile %s: dut.root_ca_file %s: no PEM certificate", p.Source, p.DUT.RootCAFile)
	}
	tc := &tls.Config{
		MinVersion:       tls.VersionTLS13,
		RootCAs:          roots,
		ServerName:       p.Center.Host,
		NextProtos:       []string{alpn},
		CurvePreferences: []tls.CurveID{tls.CurveP384, tls.CurveP521},
	}
	if len(cert.Certificate) > 0 {
		tc.Certificates = []tls.Certificate{*cert}
	}
	addr := r.CenterDUTAddr()
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		TLSClientConfig:   tc,
		ForceAttemptHTTP2: alpn == "h2",
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: tr, Timeout: time.Minute}, nil
}
