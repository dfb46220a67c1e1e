package tls13rec

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// TestExpandLabelRFC8448 checks the traffic key derivation against the
// server handshake keys of RFC 8448 §3 (simple 1-RTT handshake).
func TestExpandLabelRFC8448(t *testing.T) {
	secret := unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38")
	key := ExpandLabel(sha256.New, secret, "key", nil, 16)
	iv := ExpandLabel(sha256.New, secret, "iv", nil, 12)
	if !bytes.Equal(key, unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")) || !bytes.Equal(iv, unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30")) {
		t.Errorf("key %x iv %x", key, iv)
	}
}

func TestSealOpen(t *testing.T) {
	for _, suite := range []uint16{tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256, tls.TLS_AES_128_GCM_SHA256} {
		secret := bytes.Repeat([]byte{7}, 48)
		a, _ := New(suite, secret)
		b, _ := New(suite, secret)
		r1, r2 := a.Seal(TypeHandshake, []byte("first")), a.Seal(TypeAlert, []byte{2, 42})
		if _, _, err := b.Open(r2); err == nil {
			t.Errorf("%#04x: record 2 opened at sequence 0", suite)
		}
		typ, c, err := b.Open(r1)
		if err != nil || typ != TypeHandshake || string(c) != "first" {
			t.Errorf("%#04x: record 1: %d %q %v", suite, typ, c, err)
		}
		typ, c, err = b.Open(r2)
		if err != nil || typ != TypeAlert || AlertName(c[1]) != "bad_certificate" {
			t.Errorf("%#04x: record 2: %d %x %v", suite, typ, c, err)
		}
		recs, rest := Records(append(append(r1, r2...), r1[:3]...))
		if len(recs) != 2 || len(rest) != 3 {
			t.Errorf("Records: %d records, %d bytes left", len(recs), len(rest))
		}
	}
}
