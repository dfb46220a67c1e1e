// Package tls13rec is the TLS 1.3 record layer (RFC 8446 §5.2, §7) outside
// crypto/tls: traffic keys from a traffic secret (HKDF-Expand-Label), and
// the AEAD protection of one record with its sequence number. It lets the
// harness's probe read a server's encrypted flight, and the reference
// center see (and amend) the records its own crypto/tls writes, from the
// secrets crypto/tls hands to a KeyLogWriter. Only the suites of Table 7-1
// and TLS_AES_128_GCM_SHA256 are supported.
package tls13rec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/hkdf"
)

// Record content types (RFC 8446 §5.1).
const (
	TypeChangeCipherSpec = 20
	TypeAlert            = 21
	TypeHandshake        = 22
	TypeApplicationData  = 23
)

// HeaderLen is the length of a record header.
const HeaderLen = 5

// Hash returns the hash function of a TLS 1.3 cipher suite.
func Hash(suite uint16) (func() hash.Hash, error) {
	switch suite {
	case tls.TLS_AES_256_GCM_SHA384:
		return sha512.New384, nil
	case tls.TLS_AES_128_GCM_SHA256, tls.TLS_CHACHA20_POLY1305_SHA256:
		return sha256.New, nil
	}
	return nil, fmt.Errorf("tls13rec: cipher suite %#04x is not supported", suite)
}

// ExpandLabel is HKDF-Expand-Label (RFC 8446 §7.1).
func ExpandLabel(h func() hash.Hash, secret []byte, label string, context []byte, n int) []byte {
	var b cryptobyte.Builder
	b.AddUint16(uint16(n))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("tls13 " + label)) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(context) })
	out := make([]byte, n)
	if _, err := hkdf.Expand(h, secret, b.BytesOrPanic()).Read(out); err != nil {
		panic("tls13rec: HKDF-Expand-Label: " + err.Error())
	}
	return out
}

// Extract is HKDF-Extract.
func Extract(h func() hash.Hash, secret, salt []byte) []byte {
	if secret == nil {
		secret = make([]byte, h().Size())
	}
	return hkdf.Extract(h, secret, salt)
}

// DeriveSecret is Derive-Secret(secret, label, messages) of RFC 8446 §7.1,
// with transcript the hash of the messages.
func DeriveSecret(h func() hash.Hash, secret []byte, label string, transcript []byte) []byte {
	return ExpandLabel(h, secret, label, transcript, h().Size())
}

// FinishedMAC is the verify_data of a Finished message (RFC 8446 §4.4.4).
func FinishedMAC(h func() hash.Hash, trafficSecret, transcript []byte) []byte {
	key := ExpandLabel(h, trafficSecret, "finished", nil, h().Size())
	m := hmac.New(h, key)
	m.Write(transcript)
	return m.Sum(nil)
}

// Protection protects the records of one direction under one traffic
// secret. Seq counts the records opened or sealed so far; each call uses
// and advances it.
type Protection struct {
	aead cipher.AEAD
	iv   []byte
	Seq  uint64
}

// New derives the key and IV of a traffic secret for suite.
func New(suite uint16, trafficSecret []byte) (*Protection, error) {
	h, err := Hash(suite)
	if err != nil {
		return nil, err
	}
	keyLen := 16
	if suite != tls.TLS_AES_128_GCM_SHA256 {
		keyLen = 32
	}
	key := ExpandLabel(h, trafficSecret, "key", nil, keyLen)
	iv := ExpandLabel(h, trafficSecret, "iv", nil, 12)
	var aead cipher.AEAD
	if suite == tls.TLS_CHACHA20_POLY1305_SHA256 {
		aead, err = chacha20poly1305.New(key)
	} else {
		var blk cipher.Block
		if blk, err = aes.NewCipher(key); err == nil {
			aead, err = cipher.NewGCM(blk)
		}
	}
	if err != nil {
		return nil, err
	}
	return &Protection{aead: aead, iv: iv}, nil
}

func (p *Protection) nonce(seq uint64) []byte {
	n := make([]byte, len(p.iv))
	copy(n, p.iv)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	for i := range s {
		n[len(n)-8+i] ^= s[i]
	}
	return n
}

// ErrOpen is returned by Open when a record does not authenticate under
// this protection and sequence number.
var ErrOpen = errors.New("tls13rec: record does not authenticate")

// Open decrypts one whole record (header and fragment) at p.Seq and
// returns the inner content type and content, padding removed. Seq
// advances only when the record authenticates.
func (p *Protection) Open(record []byte) (byte, []byte, error) {
	if len(record) < HeaderLen || record[0] != TypeApplicationData {
		return 0, nil, ErrOpen
	}
	plain, err := p.aead.Open(nil, p.nonce(p.Seq), record[HeaderLen:], record[:HeaderLen])
	if err != nil {
		return 0, nil, ErrOpen
	}
	p.Seq++
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 {
		return 0, nil, errors.New("tls13rec: record without content type")
	}
	return plain[i], plain[:i], nil
}

// Seal encrypts content of the inner type typ at p.Seq into a whole record
// (no padding) and advances Seq.
func (p *Protection) Seal(typ byte, content []byte) []byte {
	inner := append(append([]byte(nil), content...), typ)
	n := len(inner) + p.aead.Overhead()
	hdr := []byte{TypeApplicationData, 3, 3, byte(n >> 8), byte(n)}
	out := p.aead.Seal(hdr, p.nonce(p.Seq), inner, hdr)
	p.Seq++
	return out
}

// Records splits b into whole records; rest is an incomplete tail.
func Records(b []byte) (recs [][]byte, rest []byte) {
	for len(b) >= HeaderLen {
		n := HeaderLen + int(binary.BigEndian.Uint16(b[3:5]))
		if len(b) < n {
			break
		}
		recs = append(recs, b[:n])
		b = b[n:]
	}
	return recs, b
}

// AlertName is the RFC 8446 §6 name of an alert description.
func AlertName(d byte) string {
	if n, ok := alertNames[d]; ok {
		return n
	}
	return fmt.Sprintf("alert(%d)", d)
}

var alertNames = map[byte]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
	40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
	45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
	49: "access_denied", 50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
	71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled",
	109: "missing_extension", 110: "unsupported_extension", 112: "unrecognized_name",
	113: "bad_certificate_status_response", 115: "unknown_psk_identity", 116: "certificate_required",
	120: "no_application_protocol",
}
