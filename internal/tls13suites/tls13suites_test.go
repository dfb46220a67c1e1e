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

func TestOnlyAES256(t *testing.T) {
	saved, savedNoAES := defaultCipherSuitesTLS13, defaultCipherSuitesTLS13NoAES
	defer func() { defaultCipherSuitesTLS13, defaultCipherSuitesTLS13NoAES = saved, savedNoAES }()
	OnlyAES256()
	if got := Allowed(); len(got) != 1 || got[0] != tls.TLS_AES_256_GCM_SHA384 {
		t.Fatalf("Allowed() = %x", got)
	}
	// A client that would rather have ChaCha20 still gets AES-256: the
	// server has nothing else.
	st, err := handshake(t, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, CipherSuites: []uint16{tls.TLS_CHACHA20_POLY1305_SHA256}})
	if err != nil {
		t.Fatal(err)
	}
	if st.CipherSuite != tls.TLS_AES_256_GCM_SHA384 {
		t.Errorf("negotiated %s", tls.CipherSuiteName(st.CipherSuite))
	}
}
