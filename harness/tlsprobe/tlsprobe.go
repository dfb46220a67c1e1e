// Package tlsprobe is the harness's TLS 1.3 hello probe: a client written
// on the wire format of RFC 8446, not on crypto/tls, that offers exactly
// what a spec asks (signature schemes, groups, SNI) and reads the server's
// answer up to its CertificateVerify: the alert it sent, or the suite, the
// certificate chain and the signature scheme it chose, with the signature
// verified. crypto/tls cannot be told which signature_algorithms a client
// offers, so a center DUT's choice of certificate (7.1.1.2.3) and its
// alerts are judged with this probe. It never completes a handshake: after
// the CertificateVerify it closes the connection.
package tlsprobe

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"time"

	"github.com/icoc-dev/icoc/internal/tls13rec"
	"golang.org/x/crypto/cryptobyte"
)

// Options is what the probe offers. The zero value offers SNI none, the
// Table 7-1 suites, secp384r1 and every TLS 1.3 signature scheme Go knows.
type Options struct {
	// ServerName is sent in server_name; empty: no SNI.
	ServerName string
	// SignatureSchemes are offered in signature_algorithms, in order.
	SignatureSchemes []tls.SignatureScheme
	// CipherSuites are offered, in order; default TLS_AES_256_GCM_SHA384,
	// TLS_CHACHA20_POLY1305_SHA256.
	CipherSuites []uint16
	// ALPN is offered when set.
	ALPN []string
	// Timeout bounds the whole probe (wall time); default 10 s.
	Timeout time.Duration
}

// DefaultSchemes are the TLS 1.3 signature schemes Go's client offers.
var DefaultSchemes = []tls.SignatureScheme{
	tls.ECDSAWithP256AndSHA256, tls.ECDSAWithP384AndSHA384, tls.ECDSAWithP521AndSHA512, tls.Ed25519,
	tls.PSSWithSHA256, tls.PSSWithSHA384, tls.PSSWithSHA512,
}

// RSAPSSSchemes are the rsa_pss_rsae schemes: a client that signs only with
// RSA-PSS offers these alone.
var RSAPSSSchemes = []tls.SignatureScheme{tls.PSSWithSHA256, tls.PSSWithSHA384, tls.PSSWithSHA512}

// Result is what the server answered.
type Result struct {
	// Alert is the alert the server sent (RFC 8446 §6 name), "" if none.
	Alert string
	// ServerHello is true when a ServerHello arrived.
	ServerHello bool
	CipherSuite uint16
	// Certificates is the server's chain, leaf first.
	Certificates []*x509.Certificate
	// SignatureScheme is the scheme of the server's CertificateVerify, whose
	// signature verified against the leaf's key.
	SignatureScheme tls.SignatureScheme
	// CertificateRequested is true when the server asked for a client
	// certificate.
	CertificateRequested bool
	// Err says why the probe stopped short of a CertificateVerify (other
	// than an alert), nil when it got one.
	Err error
}

// Describe renders the result for failure messages.
func (r Result) Describe() string {
	switch {
	case r.Alert != "":
		stage := "before its ServerHello"
		if r.ServerHello {
			stage = "after its ServerHello"
		}
		return fmt.Sprintf("the server sent alert %s %s", r.Alert, stage)
	case r.Err != nil && !r.ServerHello:
		return "no ServerHello: " + r.Err.Error()
	case r.Err != nil:
		return fmt.Sprintf("ServerHello (%s), then: %v", tls.CipherSuiteName(r.CipherSuite), r.Err)
	}
	leaf := "no certificate"
	if len(r.Certificates) > 0 {
		leaf = fmt.Sprintf("certificate %q (%s key)", r.Certificates[0].Subject.CommonName, keyDesc(r.Certificates[0]))
	}
	return fmt.Sprintf("ServerHello (%s), %s, CertificateVerify %s", tls.CipherSuiteName(r.CipherSuite), leaf, r.SignatureScheme)
}

func keyDesc(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}

// Probe connects to addr, sends a ClientHello made from o and reads the
// server's answer.
func Probe(ctx context.Context, addr string, o Options) Result {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.CipherSuites == nil {
		o.CipherSuites = []uint16{tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256}
	}
	if o.SignatureSchemes == nil {
		o.SignatureSchemes = DefaultSchemes
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Result{Err: err}
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	p := &probe{conn: c}
	return p.run(o)
}

type probe struct {
	conn net.Conn
	buf  []byte // record bytes read but not used
}

func (p *probe) run(o Options) (res Result) {
	key, err := ecdh.P384().GenerateKey(rand.Reader)
	if err != nil {
		return Result{Err: err}
	}
	hello := clientHello(o, key.PublicKey().Bytes())
	rec := append([]byte{tls13rec.TypeHandshake, 3, 1, byte(len(hello) >> 8), byte(len(hello))}, hello...)
	if _, err := p.conn.Write(rec); err != nil {
		return Result{Err: err}
	}
	transcript := [][]byte{hello}
	// The ServerHello, in plaintext records.
	var hs []byte
	var sh []byte
	for sh == nil {
		typ, frag, err := p.record()
		if err != nil {
			return Result{Err: err}
		}
		switch typ {
		case tls13rec.TypeAlert:
			return Result{Alert: alertOf(frag)}
		case tls13rec.TypeHandshake:
			hs = append(hs, frag...)
			if msg, rest, ok := nextMessage(hs); ok {
				if msg[0] != 2 {
					return Result{Err: fmt.Errorf("first message of the server is type %d, not ServerHello", msg[0])}
				}
				sh, hs = msg, rest
			}
		default:
			return Result{Err: fmt.Errorf("record type %d before the ServerHello", typ)}
		}
	}
	res.ServerHello = true
	suite, share, err := parseServerHello(sh)
	if err != nil {
		res.Err = err
		return res
	}
	res.CipherSuite = suite
	transcript = append(transcript, sh)
	h, err := tls13rec.Hash(suite)
	if err != nil {
		res.Err = err
		return res
	}
	pub, err := ecdh.P384().NewPublicKey(share)
	if err != nil {
		res.Err = fmt.Errorf("server key share: %w", err)
		return res
	}
	shared, err := key.ECDH(pub)
	if err != nil {
		res.Err = err
		return res
	}
	early := tls13rec.Extract(h, nil, nil)
	derived := tls13rec.DeriveSecret(h, early, "derived", sum(h))
	hsSecret := tls13rec.Extract(h, shared, derived)
	sHS := tls13rec.DeriveSecret(h, hsSecret, "s hs traffic", sum(h, transcript...))
	prot, err := tls13rec.New(suite, sHS)
	if err != nil {
		res.Err = err
		return res
	}
	// The server's encrypted flight.
	for {
		msg, rest, ok := nextMessage(hs)
		if !ok {
			typ, frag, err := p.record()
			if err != nil {
				res.Err = err
				return res
			}
			switch typ {
			case tls13rec.TypeChangeCipherSpec:
				continue
			case tls13rec.TypeAlert:
				res.Alert = alertOf(frag)
				return res
			case tls13rec.TypeApplicationData:
				raw := append([]byte{typ, 3, 3, byte(len(frag) >> 8), byte(len(frag))}, frag...)
				inner, content, err := prot.Open(raw)
				if err != nil {
					res.Err = fmt.Errorf("server record %d: %w", prot.Seq, err)
					return res
				}
				if inner == tls13rec.TypeAlert {
					res.Alert = alertOf(content)
					return res
				}
				if inner != tls13rec.TypeHandshake {
					res.Err = fmt.Errorf("record of inner type %d in the server's flight", inner)
					return res
				}
				hs = append(hs, content...)
			default:
				res.Err = fmt.Errorf("record type %d in the server's flight", typ)
				return res
			}
			continue
		}
		hs = rest
		body := msg[4:]
		switch msg[0] {
		case 8: // EncryptedExtensions
		case 13: // CertificateRequest
			res.CertificateRequested = true
		case 11: // Certificate
			if res.Certificates, err = parseCertificate(body); err != nil {
				res.Err = err
				return res
			}
		case 15: // CertificateVerify
			if len(res.Certificates) == 0 {
				res.Err = errors.New("CertificateVerify without a Certificate")
				return res
			}
			res.SignatureScheme, err = verify(body, res.Certificates[0], sum(h, transcript...))
			if err != nil {
				res.Err = err
			}
			return res
		default:
			res.Err = fmt.Errorf("handshake message type %d before the CertificateVerify", msg[0])
			return res
		}
		transcript = append(transcript, msg)
	}
}

// record reads one record.
func (p *probe) record() (byte, []byte, error) {
	for {
		if len(p.buf) >= tls13rec.HeaderLen {
			n := int(binary.BigEndian.Uint16(p.buf[3:5]))
			if len(p.buf) >= tls13rec.HeaderLen+n {
				typ, frag := p.buf[0], bytes.Clone(p.buf[tls13rec.HeaderLen:tls13rec.HeaderLen+n])
				p.buf = p.buf[tls13rec.HeaderLen+n:]
				return typ, frag, nil
			}
		}
		b := make([]byte, 16<<10)
		n, err := p.conn.Read(b)
		p.buf = append(p.buf, b[:n]...)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, nil, errors.New("the server closed the connection")
			}
			return 0, nil, err
		}
	}
}

func alertOf(frag []byte) string {
	if len(frag) < 2 {
		return "malformed alert"
	}
	return tls13rec.AlertName(frag[1])
}

func sum(h func() hash.Hash, msgs ...[]byte) []byte {
	d := h()
	for _, m := range msgs {
		d.Write(m)
	}
	return d.Sum(nil)
}

// nextMessage splits one handshake message (with its 4-byte header) off b.
func nextMessage(b []byte) (msg, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, b, false
	}
	n := 4 + (int(b[1])<<16 | int(b[2])<<8 | int(b[3]))
	if len(b) < n {
		return nil, b, false
	}
	return b[:n], b[n:], true
}

func clientHello(o Options, share []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(1) // client_hello
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(0x0303)
		random := make([]byte, 32)
		_, _ = rand.Read(random)
		b.AddBytes(random)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(random) }) // legacy_session_id
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, s := range o.CipherSuites {
				b.AddUint16(s)
			}
		})
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			ext := func(id uint16, body func(*cryptobyte.Builder)) {
				b.AddUint16(id)
				b.AddUint16LengthPrefixed(body)
			}
			if o.ServerName != "" {
				ext(0, func(b *cryptobyte.Builder) {
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
						b.AddUint8(0)
						b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(o.ServerName)) })
					})
				})
			}
			ext(10, func(b *cryptobyte.Builder) { // supported_groups: secp384r1
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(uint16(tls.CurveP384)) })
			})
			ext(13, func(b *cryptobyte.Builder) { // signature_algorithms
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					for _, s := range o.SignatureSchemes {
						b.AddUint16(uint16(s))
					}
				})
			})
			if len(o.ALPN) > 0 {
				ext(16, func(b *cryptobyte.Builder) {
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
						for _, p := range o.ALPN {
							b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
						}
					})
				})
			}
			ext(43, func(b *cryptobyte.Builder) { // supported_versions: TLS 1.3
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(tls.VersionTLS13) })
			})
			ext(51, func(b *cryptobyte.Builder) { // key_share: secp384r1
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint16(uint16(tls.CurveP384))
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(share) })
				})
			})
		})
	})
	return b.BytesOrPanic()
}

// helloRetryRandom marks a HelloRetryRequest (RFC 8446 §4.1.3).
var helloRetryRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

func parseServerHello(msg []byte) (suite uint16, share []byte, err error) {
	s := cryptobyte.String(msg[4:])
	var vers uint16
	var random, sid []byte
	var comp uint8
	var exts cryptobyte.String
	if !s.ReadUint16(&vers) || !s.ReadBytes(&random, 32) || !s.ReadUint8LengthPrefixed((*cryptobyte.String)(&sid)) ||
		!s.ReadUint16(&suite) || !s.ReadUint8(&comp) || !s.ReadUint16LengthPrefixed(&exts) {
		return 0, nil, errors.New("malformed ServerHello")
	}
	if bytes.Equal(random, helloRetryRandom) {
		return suite, nil, errors.New("the server sent a HelloRetryRequest (it wants another key share than secp384r1)")
	}
	for !exts.Empty() {
		var id uint16
		var body cryptobyte.String
		if !exts.ReadUint16(&id) || !exts.ReadUint16LengthPrefixed(&body) {
			return suite, nil, errors.New("malformed ServerHello extensions")
		}
		if id == 51 {
			var group uint16
			var ke []byte
			if !body.ReadUint16(&group) || !body.ReadUint16LengthPrefixed((*cryptobyte.String)(&ke)) {
				return suite, nil, errors.New("malformed key_share")
			}
			if group != uint16(tls.CurveP384) {
				return suite, nil, fmt.Errorf("key share of group %#04x, not the secp384r1 offered", group)
			}
			share = ke
		}
	}
	if share == nil {
		return suite, nil, errors.New("ServerHello without key_share")
	}
	return suite, share, nil
}

func parseCertificate(body []byte) ([]*x509.Certificate, error) {
	s := cryptobyte.String(body)
	var ctx, list cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&ctx) || !s.ReadUint24LengthPrefixed(&list) {
		return nil, errors.New("malformed Certificate")
	}
	var out []*x509.Certificate
	for !list.Empty() {
		var der, exts cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&der) || !list.ReadUint16LengthPrefixed(&exts) {
			return nil, errors.New("malformed CertificateEntry")
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("server certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("empty Certificate")
	}
	return out, nil
}

// verify checks the CertificateVerify signature (RFC 8446 §4.4.3) over
// the transcript hash th with the leaf's key and returns its scheme.
func verify(body []byte, leaf *x509.Certificate, th []byte) (tls.SignatureScheme, error) {
	s := cryptobyte.String(body)
	var scheme uint16
	var sig []byte
	if !s.ReadUint16(&scheme) || !s.ReadUint16LengthPrefixed((*cryptobyte.String)(&sig)) {
		return 0, errors.New("malformed CertificateVerify")
	}
	ss := tls.SignatureScheme(scheme)
	signed := append(bytes.Repeat([]byte{0x20}, 64), []byte("TLS 1.3, server CertificateVerify\x00")...)
	signed = append(signed, th...)
	digest := func(hf crypto.Hash) []byte { d := hf.New(); d.Write(signed); return d.Sum(nil) }
	var err error
	switch ss {
	case tls.PSSWithSHA256, tls.PSSWithSHA384, tls.PSSWithSHA512:
		hf := map[tls.SignatureScheme]crypto.Hash{tls.PSSWithSHA256: crypto.SHA256, tls.PSSWithSHA384: crypto.SHA384, tls.PSSWithSHA512: crypto.SHA512}[ss]
		k, ok := leaf.PublicKey.(*rsa.PublicKey)
		if !ok {
			return ss, fmt.Errorf("CertificateVerify %s with a %s key", ss, keyDesc(leaf))
		}
		err = rsa.VerifyPSS(k, hf, digest(hf), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case tls.ECDSAWithP256AndSHA256, tls.ECDSAWithP384AndSHA384, tls.ECDSAWithP521AndSHA512:
		hf := map[tls.SignatureScheme]crypto.Hash{tls.ECDSAWithP256AndSHA256: crypto.SHA256, tls.ECDSAWithP384AndSHA384: crypto.SHA384, tls.ECDSAWithP521AndSHA512: crypto.SHA512}[ss]
		k, ok := leaf.PublicKey.(*ecdsa.PublicKey)
		if !ok {
			return ss, fmt.Errorf("CertificateVerify %s with a %s key", ss, keyDesc(leaf))
		}
		if !ecdsa.VerifyASN1(k, digest(hf), sig) {
			err = errors.New("ECDSA signature does not verify")
		}
	case tls.Ed25519:
		k, ok := leaf.PublicKey.(ed25519.PublicKey)
		if !ok || !ed25519.Verify(k, signed, sig) {
			err = errors.New("Ed25519 signature does not verify")
		}
	default:
		return ss, fmt.Errorf("CertificateVerify with scheme %s, not a TLS 1.3 signature scheme", ss)
	}
	if err != nil {
		return ss, fmt.Errorf("CertificateVerify %s: %v", ss, err)
	}
	return ss, nil
}
