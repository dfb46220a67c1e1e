package tls13suites

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

func handshake(t *testing.T, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	cert, err := pki.LoadTLS(pki.CenterECDSA)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	srv := tls.Server(b, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}})
	done := make(chan error, 1)
	go func() { done <- srv.Handshake(); b.Close() }()
	cli := tls.Client(a, client)
	err = cli.Handshake()
	a.Close()
	<-done
	return cli.ConnectionState(), err
}

func TestRestricted(t *testing.T) {
	if !Active() {
		t.Fatalf("restriction not active: %x", Allowed())
	}
	for _, s := range Allowed() {
		if s == tls.TLS_AES_128_GCM_SHA256 {
			t.Fatal("AES-128 allowed")
		}
	}
	st, err := handshake(t, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	if st.CipherSuite != tls.TLS_AES_256_GCM_SHA384 && st.CipherSuite != tls.TLS_CHACHA20_POLY1305_SHA256 {
		t.Errorf("negotiated %s", tls.CipherSuiteName(st.CipherSuite))
	}
}
