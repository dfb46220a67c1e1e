package tls_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// ruleCase is one spec of a rule of 7.1.1.1 to 7.1.1.6 with the vehicle as
// DUT: the clause, the normative sentence, the quirk that must make it
// fail, and the body.
type ruleCase struct {
	name   string
	clause string
	rule   string
	quirk  string
	body   func(ctx context.Context, req harness.Requirement)
}

// helloOf waits for the DUT's ClientHello after t0; when none comes it
// fails with req, saying what (if anything) reached the center.
func helloOf(req harness.Requirement, t0 time.Time) center.ClientHello {
	deadline := time.Now().Add(run.Clock.Wall(window))
	for {
		if hs := run.Recorder.ClientHellos(t0); len(hs) > 0 {
			return hs[0]
		}
		if time.Now().After(deadline) {
			Fail(harness.Verdict(req, fmt.Sprintf("a ClientHello within %v (spec time) of the upload trigger", window),
				fmt.Sprintf("none; %d connection(s) to the center since the trigger", len(run.Recorder.Connections(t0)))))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// uploadDelivered triggers an upload and waits until its data reached the
// center.
func uploadDelivered(ctx context.Context, req harness.Requirement) time.Time {
	t0 := upload(ctx)
	expectAppData(ctx, req, t0, window)
	return t0
}

func loadCert(n pki.Name) (c *x509Cert) {
	cert, err := pki.LoadCertificate(n)
	Expect(err).NotTo(HaveOccurred())
	return &x509Cert{cert}
}

func countFetches(t0 time.Time) int { return len(fetches(t0, crlPath)) }

func expectFetchCount(req harness.Requirement, t0 time.Time, want int, what string) {
	if got := fetches(t0, crlPath); len(got) != want {
		Fail(harness.Verdict(req, fmt.Sprintf("%d fetch(es) of %s %s", want, crlPath, what), describeAttempts("fetches of "+crlPath, harness.FetchAttempts(got))))
	}
}

// staleAfter makes the responder's answers stale after one wall second
// (Cache-Control max-age=1) and returns the spec time to wait for that.
func staleAfter() time.Duration {
	run.TLS.Revocation.SetMaxAge(time.Second)
	return run.Clock.Spec(1500 * time.Millisecond)
}

var ruleCases = func() []ruleCase {
	cases := []ruleCase{
		{
			clause: "7.1.1.1", quirk: "offer-tls12",
			rule: "The transport protocol shall conform to the following TLS1.3 specification. RFC8446",
			name: "the vehicle offers TLS 1.3 only (supported_versions)",
			body: func(ctx context.Context, req harness.Requirement) {
				h := helloOf(req, upload(ctx))
				if !slices.Equal(h.SupportedVersions, []uint16{tls.VersionTLS13}) {
					Fail(harness.Verdict(req, "supported_versions = [TLS 1.3]", fmt.Sprintf("%x", h.SupportedVersions)))
				}
			},
		},
		{
			clause: "7.1.1.1", quirk: "no-sni", rule: "Support SNI.",
			name: "the vehicle sends the center's host name in server_name (SNI)",
			body: func(ctx context.Context, req harness.Requirement) {
				h := helloOf(req, upload(ctx))
				if h.ServerName != run.Profile.Center.Host {
					Fail(harness.Verdict(req, "server_name "+run.Profile.Center.Host, fmt.Sprintf("%q", h.ServerName)))
				}
			},
		},
		{
			clause: "7.1.1.1", quirk: "no-alpn", rule: "If HTTP/2 upgrade is performed by ALPN, it should be compliant with RFC7301. (Table 7-2: application_layer_protocol_negotiation: Set HTTP1.1 or / and HTTP2)",
			name: "the vehicle offers http/1.1 and/or h2 in ALPN and only those",
			body: func(ctx context.Context, req harness.Requirement) {
				h := helloOf(req, upload(ctx))
				ok := len(h.ALPN) > 0
				for _, p := range h.ALPN {
					ok = ok && (p == "h2" || p == "http/1.1")
				}
				if !ok {
					Fail(harness.Verdict(req, "ALPN offers http/1.1 and/or h2", fmt.Sprintf("%q", h.ALPN)))
				}
			},
		},
		{
			clause: "7.1.1.2.1", quirk: "offer-aes128", rule: "Table 7-1: 1 TLS_AES_256_GCM_SHA384; TLS_CHACHA20_POLY1305_SHA256 (I-010, I-046)",
			name: "the vehicle offers only Table 7-1 cipher suites, TLS_AES_256_GCM_SHA384 first, and negotiates one",
			body: func(ctx context.Context, req harness.Requirement) {
				t0 := uploadDelivered(ctx, req)
				h := helloOf(req, t0)
				doc := spec.All()
				ok := len(h.CipherSuites) > 0 && h.CipherSuites[0] == tls.TLS_AES_256_GCM_SHA384
				for _, s := range h.CipherSuites {
					ok = ok && doc.CipherSuiteAllowed(s)
				}
				hs := handshakes(t0)
				ok = ok && len(hs) > 0 && doc.CipherSuiteAllowed(hs[0].CipherSuite)
				if !ok {
					neg := "none"
					if len(hs) > 0 {
						neg = tls.CipherSuiteName(hs[0].CipherSuite)
					}
					Fail(harness.Verdict(req, "offer ⊆ {TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256}, AES-256 first; negotiated suite in it", fmt.Sprintf("offered %s; negotiated %s", suiteNames(h.CipherSuites), neg)))
				}
			},
		},
		{
			clause: "7.1.1.2.2", quirk: "offer-x25519", rule: "ECDHE 384 bits or more / DHE 4096 bits or more (I-022)",
			name: "the vehicle offers only key-exchange groups of 384 bits or more",
			body: func(ctx context.Context, req harness.Requirement) {
				h := helloOf(req, upload(ctx))
				doc := spec.All()
				for _, g := range h.SupportedCurves {
					if !doc.GroupAllowed(groupName(g)) {
						Fail(harness.Verdict(req, "supported_groups ⊆ secp384r1, secp521r1, x448, ffdhe4096+", fmt.Sprintf("%v", h.SupportedCurves)))
					}
				}
			},
		},
		{
			clause: "7.1.1.2.3", quirk: "refuse-rsa-server", rule: "The following 2 algorithms shall be kept and utilized: ECDSA256, RSA3072 (RSASSA PKCS#1 3072, RSASSA-PSS 3072) (I-033)",
			name: "the vehicle communicates with an RSA-3072 server certificate as with an ECDSA P-256 one",
			body: func(ctx context.Context, req harness.Requirement) {
				uploadDelivered(ctx, req)
				Expect(run.Center.SetCertificates(chain(pki.CenterRSA))).To(Succeed())
				powerCycle(ctx) // no session to resume: the new certificate is presented
				t1 := uploadDelivered(ctx, req)
				if hs := handshakes(t1); len(hs) == 0 || hs[0].Resumed {
					Fail(harness.Verdict(req, "a full handshake with the RSA-3072 certificate", describeHandshakeFacts(hs)))
				}
			},
		},
		{
			clause: "6.2.3", quirk: "accept-untrusted-server", rule: "When communicating with TSC and TSP, shall only trust certificates be chaining up to root certificates issued by Toyota Motor Corporation",
			name: "the vehicle refuses a server chain that ends at another root, without retry",
			body: func(ctx context.Context, req harness.Requirement) {
				Expect(run.Center.SetCertificates(chain(pki.CenterUntrusted))).To(Succeed())
				t0 := upload(ctx)
				run.Wait(ctx, window)
				expectNoAppData(req, t0)
				expectAttempts(req, "TLS handshakes", harness.HandshakeAttempts(handshakes(t0)), 0, 0)
			},
		},
		{
			clause: "7.1.1.4", quirk: "no-session-resumption", rule: "TLS session resumption shall be performed using the stateless resumption PSK+(EC)DHE 1-RTT method",
			name: "the vehicle resumes its TLS session on the next connection, with an (EC)DHE key share",
			body: func(ctx context.Context, req harness.Requirement) {
				uploadDelivered(ctx, req)
				t1 := uploadDelivered(ctx, req)
				hs := handshakes(t1)
				if len(hs) == 0 || !hs[0].Resumed || hs[0].Group == 0 {
					Fail(harness.Verdict(req, "the second connection resumed (PSK) with a key share (psk_dhe_ke)", describeHandshakeFacts(hs)))
				}
			},
		},
		{
			clause: "7.1.1.5", quirk: "leaf-only-revocation", rule: "In-Car unit shall check the revocation of all certificates in the server certificate chain",
			name: "the vehicle fetches the CRL of every certificate of the server chain (intermediate.crl and root.crl) before communicating",
			body: func(ctx context.Context, req harness.Requirement) {
				t0 := uploadDelivered(ctx, req)
				if len(fetches(t0, "/intermediate.crl")) == 0 || len(fetches(t0, "/root.crl")) == 0 {
					Fail(harness.Verdict(req, "fetches of /intermediate.crl (leaf) and /root.crl (intermediate CA)", describeAttempts("fetches", harness.FetchAttempts(fetches(t0, "")))))
				}
			},
		},
		{
			clause: "7.1.1.5", quirk: "ignore-staple", rule: "When OCSP is stapled in the server certificate, the OCSP shall be checked for revocation based on the stapled OCSP response.",
			name: "the vehicle refuses a server whose stapled OCSP response says revoked",
			body: func(ctx context.Context, req harness.Requirement) {
				leaf, issuer := loadCert(pki.CenterECDSA), loadCert(pki.Intermediate)
				der, err := run.TLS.Revocation.SignOCSP(leaf.Certificate, issuer.Certificate, true, time.Hour)
				Expect(err).NotTo(HaveOccurred())
				run.Center.SetStaple(der)
				t0 := upload(ctx)
				run.Wait(ctx, window)
				expectTried(req, t0)
				expectNoAppData(req, t0)
			},
		},
		{
			clause: "7.1.1.5", quirk: "ignore-must-staple", rule: "When must-staple extension is present in any of the server certificate in the chain, in-Car unit shall reject connection if OCSP is not stapled (RFC7633)",
			name: "the vehicle refuses a must-staple server certificate without a staple and accepts it with one",
			body: func(ctx context.Context, req harness.Requirement) {
				Expect(run.Center.SetCertificates(chain(pki.CenterMustStaple))).To(Succeed())
				t0 := upload(ctx)
				run.Wait(ctx, window)
				expectNoAppData(req, t0)
				staple, err := readFixture(pki.OCSPCenterMustStapleGood)
				Expect(err).NotTo(HaveOccurred())
				run.Center.SetStaple(staple)
				powerCycle(ctx)
				uploadDelivered(ctx, req)
			},
		},
		{
			clause: "7.1.1.5", quirk: "no-revocation-cache", rule: "The CRL/OCSP Response retrieved from the CRL distribution point/OCSP responder shall be cached as content (RFC7234)",
			name: "the vehicle reuses its cached CRL for the next connection while it is fresh",
			body: func(ctx context.Context, req harness.Requirement) {
				t0 := uploadDelivered(ctx, req)
				uploadDelivered(ctx, req)
				expectFetchCount(req, t0, 1, "for two connections")
			},
		},
		{
			clause: "7.1.1.5", quirk: "no-revalidation", rule: "For cache control, the following shall be supported: Content Cache Control (RFC7234), E-Tag and Last-Modified (RFC7232)",
			name: "the vehicle revalidates a stale cached CRL with If-None-Match/If-Modified-Since and keeps it on 304",
			body: func(ctx context.Context, req harness.Requirement) {
				wait := staleAfter()
				t0 := uploadDelivered(ctx, req)
				run.Wait(ctx, wait)
				uploadDelivered(ctx, req)
				fs := fetches(t0, crlPath)
				if len(fs) != 2 || !fs[1].Conditional || fs[1].Status != 304 {
					Fail(harness.Verdict(req, "2 fetches: the second conditional, answered 304", describeFetches(fs)))
				}
			},
		},
		{
			clause: "7.1.1.5", quirk: "drop-cache-on-refresh-failure", rule: "If the CRL/OCSP Response cannot be retrieved at the time of cache update, the cache shall not be cleared, and the revocation check shall be performed using the retained CRL/OCSP Response, as long as it is not expired.",
			name: "the vehicle keeps communicating with its cached CRL when the refresh fails",
			body: func(ctx context.Context, req harness.Requirement) {
				wait := staleAfter()
				uploadDelivered(ctx, req)
				run.Wait(ctx, wait)
				run.TLS.Revocation.SetFaults(center.RevocationFault{Times: -1, Kind: "crl", Status: 503})
				uploadDelivered(ctx, req)
			},
		},
		{
			clause: "7.1.1.5", quirk: "keep-older-crl", rule: "if CRL/OCSP Response for the same certificate already exists in newly acquired CRL/OCSP Response, the existing CRL/OCSP Response shall be discarded and updated with the newly acquired CRL/OCSP Response.",
			name: "the vehicle replaces its cached CRL with a newer one (which revokes the center)",
			body: func(ctx context.Context, req harness.Requirement) {
				wait := staleAfter()
				uploadDelivered(ctx, req)
				run.Wait(ctx, wait)
				Expect(run.TLS.Revocation.Revoke(crlPath, loadCert(pki.CenterECDSA).SerialNumber)).To(Succeed())
				t1 := upload(ctx)
				run.Wait(ctx, window)
				expectNoAppData(req, t1)
			},
		},
		{
			clause: "7.1.1.5", quirk: "keep-cache-at-b-off", rule: "even before the expiration date, CRL/OCSP Response shall be discarded only when +B is turned OFF.",
			name: "the vehicle fetches the CRL again after +B OFF",
			body: func(ctx context.Context, req harness.Requirement) {
				t0 := uploadDelivered(ctx, req)
				powerCycle(ctx)
				uploadDelivered(ctx, req)
				expectFetchCount(req, t0, 2, "(one per power cycle)")
			},
		},
		{
			clause: "7.1.1.5", quirk: "drop-cache-at-ig-off", rule: "retain the acquired CRL/OCSP Response until the expiration date indicated in the CRL/OCSP Response regardless of the IG status",
			name: "the vehicle keeps its cached CRL across IG-OFF and IG-ON (+B on)",
			body: func(ctx context.Context, req harness.Requirement) {
				t0 := uploadDelivered(ctx, req)
				Expect(run.Ignition(ctx, bench.IGOff)).To(Succeed())
				run.Wait(ctx, time.Second)
				Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
				run.Wait(ctx, 2*time.Second)
				uploadDelivered(ctx, req)
				expectFetchCount(req, t0, 1, "across the IG cycle")
			},
		},
	}
	for i := range cases {
		cases[i].name = harness.SpecName(cases[i].clause, cases[i].name)
	}
	return cases
}()

func ruleEntries() []TableEntry {
	var out []TableEntry
	for _, c := range ruleCases {
		out = append(out, Entry(c.name, harness.Labels(harness.TLS, harness.VehicleDUT), SpecTimeout(2*time.Minute), c))
	}
	return out
}

// The rules of 7.1.1.1 to 7.1.1.5 as the in-car unit must keep them; each
// entry quotes its normative sentence in its Requirement.
var _ = DescribeTable("7.1.1 TLS rules (vehicle DUT)",
	func(ctx SpecContext, c ruleCase) {
		freshVehicle(ctx)
		c.body(ctx, harness.Requirement{Clause: c.clause, Rule: c.rule})
	},
	ruleEntries(),
)
