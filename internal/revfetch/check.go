package revfetch

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Verdict is the outcome of checking one CRL or OCSP response for one
// certificate; each maps to a row of Tables 7-4/7-5.
type Verdict int

const (
	// Good: valid, current, and the certificate is not revoked.
	Good Verdict = iota
	// Revoked: the certificate is revoked (7-4 L, 7-5 M).
	Revoked
	// BadSignature: the signature does not verify (7-4 J, 7-5 J).
	BadSignature
	// Expired: nextUpdate has passed (7-4 K, 7-5 L).
	Expired
	// Untrusted: the OCSP signer is not the issuer nor a responder it
	// delegated to (7-5 K).
	Untrusted
	// Malformed: not a CRL/OCSP response, or about another certificate or
	// issuer, or status unknown (7-4 B "response content is incorrect",
	// 7-5 L).
	Malformed
)

// String names the verdict for messages.
func (v Verdict) String() string {
	return [...]string{"good", "revoked", "bad signature", "expired", "untrusted responder", "malformed"}[v]
}

// CheckOptions bend a check; each field exists for one quirk of a
// reference simulator and is false in any real use.
type CheckOptions struct {
	SkipSignature bool
	SkipExpiry    bool
}

// CRLInfo is what a parsed CRL says, for the cache.
type CRLInfo struct {
	ThisUpdate, NextUpdate time.Time
	Number                 *big.Int
}

// CheckCRL checks that der is a CRL issued and signed by issuer, current
// at now, and reports whether it lists cert.
func CheckCRL(der []byte, cert, issuer *x509.Certificate, now time.Time, o CheckOptions) (Verdict, CRLInfo, error) {
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return Malformed, CRLInfo{}, fmt.Errorf("CRL: %w", err)
	}
	info := CRLInfo{ThisUpdate: rl.ThisUpdate, NextUpdate: rl.NextUpdate, Number: rl.Number}
	if !o.SkipSignature {
		if err := rl.CheckSignatureFrom(issuer); err != nil {
			var ce x509.ConstraintViolationError
			if errors.As(err, &ce) || string(rl.RawIssuer) != string(issuer.RawSubject) {
				return Malformed, info, fmt.Errorf("CRL not issued by %s: %w", issuer.Subject, err)
			}
			return BadSignature, info, fmt.Errorf("CRL signature: %w", err)
		}
	}
	if !o.SkipExpiry && (rl.NextUpdate.IsZero() || !rl.NextUpdate.After(now)) {
		return Expired, info, fmt.Errorf("CRL expired at %s", rl.NextUpdate.Format(time.RFC3339))
	}
	for _, e := range rl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return Revoked, info, fmt.Errorf("certificate %s (serial %x) revoked at %s", cert.Subject.CommonName, cert.SerialNumber, e.RevocationTime.Format(time.RFC3339))
		}
	}
	return Good, info, nil
}

// CheckOCSP checks that der is an OCSP response about cert, signed by
// issuer or a responder it delegated to, current at now, and that cert is
// good.
func CheckOCSP(der []byte, cert, issuer *x509.Certificate, now time.Time, o CheckOptions) (Verdict, *ocsp.Response, error) {
	resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		var se x509.InsecureAlgorithmError
		switch {
		case errors.As(err, &se):
			return Malformed, nil, err
		case isSignatureError(err):
			if o.SkipSignature {
				if r, perr := ocsp.ParseResponse(der, nil); perr == nil {
					return checkOCSPFields(r, cert, now, o)
				}
			}
			if untrustedSigner(der, issuer) {
				return Untrusted, nil, fmt.Errorf("OCSP responder not authorised by %s: %w", issuer.Subject.CommonName, err)
			}
			return BadSignature, nil, fmt.Errorf("OCSP signature: %w", err)
		}
		return Malformed, nil, fmt.Errorf("OCSP response: %w", err)
	}
	return checkOCSPFields(resp, cert, now, o)
}

func checkOCSPFields(resp *ocsp.Response, cert *x509.Certificate, now time.Time, o CheckOptions) (Verdict, *ocsp.Response, error) {
	if resp.SerialNumber == nil || resp.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		return Malformed, resp, errors.New("OCSP response about another certificate")
	}
	if !o.SkipExpiry && (resp.NextUpdate.IsZero() || !resp.NextUpdate.After(now)) {
		return Expired, resp, fmt.Errorf("OCSP response expired at %s", resp.NextUpdate.Format(time.RFC3339))
	}
	switch resp.Status {
	case ocsp.Good:
		return Good, resp, nil
	case ocsp.Revoked:
		return Revoked, resp, fmt.Errorf("certificate %s (serial %x) revoked (OCSP)", cert.Subject.CommonName, cert.SerialNumber)
	}
	return Malformed, resp, errors.New("OCSP status unknown")
}

func isSignatureError(err error) bool {
	return errors.Is(err, x509.ErrUnsupportedAlgorithm) || strings.Contains(err.Error(), "signature") || strings.Contains(err.Error(), "verification error")
}

// untrustedSigner reports whether the response carries a responder
// certificate that issuer did not sign (a rogue responder), as opposed to
// a response whose own signature is broken.
func untrustedSigner(der []byte, issuer *x509.Certificate) bool {
	r, err := ocsp.ParseResponse(der, nil)
	if err != nil || r.Certificate == nil {
		return false
	}
	return r.Certificate.CheckSignatureFrom(issuer) != nil
}

// oidTLSFeature is the RFC 7633 TLS feature extension.
var oidTLSFeature = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}

// MustStaple reports whether c carries the RFC 7633 TLS feature extension
// with status_request (5).
func MustStaple(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidTLSFeature) {
			continue
		}
		var features []int
		if _, err := asn1.Unmarshal(e.Value, &features); err != nil {
			return true // unreadable: treat as requiring a staple
		}
		for _, f := range features {
			if f == 5 {
				return true
			}
		}
	}
	return false
}
