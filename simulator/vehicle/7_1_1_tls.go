package vehicle

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// tlsConfig builds the vehicle's side of 7.1.1: TLS 1.3 only, the client
// certificate issued by the OEM (6.2.2), and trust only in chains that end
// at the OEM root (6.2.3). serverName is the center's host name (SNI).
func tlsConfig(cfg Config, serverName string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("client certificate %s / %s: %w", cfg.CertFile, cfg.KeyFile, err)
	}
	pem, err := os.ReadFile(cfg.RootCAFile)
	if err != nil {
		return nil, fmt.Errorf("root CA: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("root CA %s: no PEM certificate in it", cfg.RootCAFile)
	}
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		MaxVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		RootCAs:          roots,
		ServerName:       serverName,
		CurvePreferences: []tls.CurveID{tls.CurveP384, tls.CurveP521},
		NextProtos:       []string{"http/1.1"},
	}, nil
}
