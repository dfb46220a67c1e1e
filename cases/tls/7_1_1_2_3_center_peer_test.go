package tls_test

import (
	"context"
	"crypto/rsa"
	"crypto/tls"

	"fmt"
	"slices"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/tlsprobe"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
)

// probe runs the harness's hello probe (harness/tlsprobe) against the
// center DUT: a ClientHello with exactly the signature schemes and server
// name given, read up to the center's CertificateVerify or alert.
func probe(ctx context.Context, serverName string, schemes []tls.SignatureScheme) tlsprobe.Result {
	return tlsprobe.Probe(ctx, run.CenterDUTAddr(), tlsprobe.Options{ServerName: serverName, SignatureSchemes: schemes, ALPN: []string{"http/1.1"}})
}

// servedByProbe reports whether the probe got the center's certificate and
// a verified CertificateVerify.
func servedByProbe(r tlsprobe.Result) bool {
	return r.Alert == "" && r.Err == nil && len(r.Certificates) > 0
}

// centerPeerCases are the center-DUT rules of 7.1.1.1, 7.1.1.2.3 and 7.1.1.4
// that a peer of the center sees in the handshake itself: which client keys
// it accepts, which certificate it serves, which alert it sends, which
// ticket lifetime it announces.
func centerPeerCases() []ruleCase {
	weak := func(n pki.Name, what string) ruleCase {
		return ruleCase{
			// 7.1.1.2.3: "The following 2 algorithms shall be kept and
			// utilized ...: ECDSA256, RSA3072 (RSASSA PKCS#1 3072,
			// RSASSA-PSS 3072)"; register I-080.
			clause: "7.1.1.2.3", quirk: "center.accept-weak-client-key",
			rule: "The following 2 algorithms shall be kept and utilized: ECDSA256, RSA3072 (I-033, I-080: a client key is ECDSA P-256 or RSA of 3072 bits or more)",
			name: "the center refuses a client certificate with " + what + " key (I-080)",
			body: func(ctx context.Context, req harness.Requirement) {
				visitGood(ctx, req)
				expectRefused(req, run.VisitCenterDUT(ctx, harness.Identity(n, false), harness.VisitOptions{}))
			},
		}
	}
	// ECDSA on P-384 is ECDSA, but not the ECDSA256 (P-256) of the list:
	// a quirk of its own (a center that takes any ECDSA curve) beside the
	// one that accepts every weak key.
	p384 := weak(pki.VehicleP384, "an ECDSA P-384")
	p384.quirk, p384.alsoCaught = "center.accept-p384-client", []string{"center.accept-weak-client-key"}
	return []ruleCase{
		weak(pki.VehicleRSA2048, "an RSA-2048"),
		weak(pki.VehicleEd25519, "an Ed25519"),
		p384,
		{
			clause: "7.1.1.2.3", quirk: "center.refuse-rsa-client",
			rule: "The following 2 algorithms shall be kept and utilized: ECDSA256, RSA3072 (RSASSA PKCS#1 3072, RSASSA-PSS 3072)",
			name: "the center serves a client certificate with an RSA-3072 key",
			body: func(ctx context.Context, req harness.Requirement) {
				if v := run.VisitCenterDUT(ctx, harness.Identity(pki.VehicleRSA, false), harness.VisitOptions{}); !v.Answered {
					Fail(harness.Verdict(req, "the vehicle with an RSA-3072 client certificate is served", v.Describe()))
				}
			},
		},
		{
			clause: "7.1.1.2.3", quirk: "center.ecdsa-only-server",
			rule: "The following 2 algorithms shall be kept and utilized: ECDSA256, RSA3072 (RSASSA PKCS#1 3072, RSASSA-PSS 3072) (I-033: PSS in CertificateVerify)",
			name: "the center serves a client that offers only RSA-PSS signature schemes, with an RSA certificate of 3072 bits or more",
			body: func(ctx context.Context, req harness.Requirement) {
				r := probe(ctx, run.Profile.Center.Host, tlsprobe.RSAPSSSchemes)
				ok := servedByProbe(r) && slices.Contains(tlsprobe.RSAPSSSchemes, r.SignatureScheme)
				if ok {
					k, isRSA := r.Certificates[0].PublicKey.(*rsa.PublicKey)
					ok = isRSA && k.N.BitLen() >= 3072
				}
				if !ok {
					Fail(harness.Verdict(req, "a ServerHello, an RSA certificate of 3072 bits or more and a CertificateVerify signed with RSA-PSS (ClientHello signature_algorithms: rsa_pss_rsae_sha256/384/512 only)", r.Describe()))
				}
			},
		},
		{
			// RFC 8446 §4.1.1: "If the server is unable to negotiate a
			// supported set of parameters ..., it MUST abort the handshake
			// with either a "handshake_failure" or "insufficient_security"
			// fatal alert"; register I-082.
			clause: "7.1.1.1", quirk: "center.internal-error-alerts",
			rule: "The transport protocol shall conform to RFC8446 (§4.1.1: no common parameters: handshake_failure or insufficient_security; I-082)",
			name: "the center answers a client whose signature schemes it cannot use with alert handshake_failure or insufficient_security (or serves it)",
			body: func(ctx context.Context, req harness.Requirement) {
				r := probe(ctx, run.Profile.Center.Host, []tls.SignatureScheme{tls.ECDSAWithP521AndSHA512})
				if !servedByProbe(r) && r.Alert != "handshake_failure" && r.Alert != "insufficient_security" {
					Fail(harness.Verdict(req, "alert handshake_failure or insufficient_security (ClientHello signature_algorithms: ecdsa_secp521r1_sha512 only), or a certificate it can sign for", r.Describe()))
				}
			},
		},
		{
			// RFC 6066 §3: "If the server understood the ClientHello
			// extension but does not recognize the server name, the server
			// SHOULD take one of two actions: either abort the handshake by
			// sending a fatal-level unrecognized_name(112) alert or continue
			// the handshake."
			clause: "7.1.1.1", quirk: "center.internal-error-alerts",
			rule: "Support SNI. (RFC 6066 §3: an unknown server name is refused with unrecognized_name or the handshake continues; I-082)",
			name: "the center answers an unknown server name by carrying on or with alert unrecognized_name, not another alert",
			body: func(ctx context.Context, req harness.Requirement) {
				r := probe(ctx, "unknown.icoc.invalid", nil)
				if !servedByProbe(r) && r.Alert != "unrecognized_name" {
					Fail(harness.Verdict(req, "the handshake continues (a certificate and a verified CertificateVerify) or alert unrecognized_name (SNI unknown.icoc.invalid)", r.Describe()))
				}
			},
		},
		{
			clause: "7.1.1.4", quirk: "center.ticket-lifetime-7d",
			rule: "TLS session timeout shall be set as 12 hours. (I-053: the NewSessionTicket's ticket_lifetime does not exceed it)",
			name: "the center announces a session ticket lifetime of at most 12 h",
			body: func(ctx context.Context, req harness.Requirement) {
				v := run.VisitCenterDUT(ctx, good, harness.VisitOptions{Sessions: tls.NewLRUClientSessionCache(1)})
				got := run.Clock.Spec(v.TicketLifetime)
				limit := spec.TLSSessionTimeout
				if !v.Answered || v.TicketLifetime <= 0 || (got > limit && !run.Profile.Tolerance.Within(limit, got)) {
					Fail(harness.Verdict(req, fmt.Sprintf("a NewSessionTicket with 0 < ticket_lifetime <= %v (spec time)", limit),
						fmt.Sprintf("%s; ticket_lifetime %v wall (%v spec)", v.Describe(), v.TicketLifetime, got)))
				}
			},
		},
	}
}
