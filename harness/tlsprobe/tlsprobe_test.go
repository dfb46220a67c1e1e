package tlsprobe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// server starts a crypto/tls TLS 1.3 server with the ECDSA and the RSA
// center certificates, asking for a client certificate.
func server(t *testing.T) string {
	t.Helper()
	var certs []tls.Certificate
	for _, n := range []pki.Name{pki.CenterECDSA, pki.CenterRSA} {
		c, err := pki.LoadTLS(n)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: certs, ClientAuth: tls.RequireAnyClientCert,
		CurvePreferences: []tls.CurveID{tls.CurveP384},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) { defer c.Close(); _ = c.(*tls.Conn).Handshake() }(c)
		}
	}()
	return ln.Addr().String()
}

func TestProbe(t *testing.T) {
	addr := server(t)
	ctx := context.Background()
	r := Probe(ctx, addr, Options{ServerName: pki.CenterHost})
	if r.Err != nil || r.Alert != "" || r.SignatureScheme != tls.ECDSAWithP256AndSHA256 || !r.CertificateRequested ||
		r.CipherSuite != tls.TLS_AES_256_GCM_SHA384 || len(r.Certificates) != 2 {
		t.Errorf("default offer: %s (requested=%v, %d certificates)", r.Describe(), r.CertificateRequested, len(r.Certificates))
	}
	r = Probe(ctx, addr, Options{SignatureSchemes: RSAPSSSchemes})
	if r.Err != nil || r.Certificates[0].PublicKeyAlgorithm != x509.RSA || r.SignatureScheme != tls.PSSWithSHA256 {
		t.Errorf("RSA-PSS only: %s", r.Describe())
	}
	r = Probe(ctx, addr, Options{SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP521AndSHA512}})
	if r.Alert != "handshake_failure" || r.ServerHello {
		t.Errorf("no common scheme: %s, want alert handshake_failure before the ServerHello", r.Describe())
	}
	r = Probe(ctx, addr, Options{CipherSuites: []uint16{tls.TLS_AES_128_GCM_SHA256}, SignatureSchemes: DefaultSchemes})
	if r.Alert == "" && r.Err == nil && r.CipherSuite != tls.TLS_AES_128_GCM_SHA256 {
		t.Errorf("AES-128 only: %s", r.Describe())
	}
}
