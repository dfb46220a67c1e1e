package tls_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/dns"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
)

// ocspFetches returns the OCSP requests about the test vehicle's
// certificates since t0.
func ocspFetches(since time.Time) []center.Fetch {
	var out []center.Fetch
	for _, f := range run.TLS.Revocation.Fetches(since) {
		if f.Kind == "ocsp" && f.Serial != "2" { // not the intermediate CA's
			out = append(out, f)
		}
	}
	return out
}

// clientAuthScenario stages one situation of a Table 7-5 row: the harness
// plays the vehicle (identity, client behaviour) and the OCSP responder.
type clientAuthScenario struct {
	variant string
	text    string
	// quirk is the reference center's quirk (without the "center." prefix).
	quirk    string
	identity harness.ClientIdentity
	opts     harness.VisitOptions
	stage    func()
	// judge decides; the default expects a refusal, no application data.
	judge func(req harness.Requirement, row spec.TLSScenario, t0 time.Time, v harness.CenterVisit)
}

func expectRefused(req harness.Requirement, v harness.CenterVisit) {
	if !v.Refused() {
		Fail(harness.Verdict(req, "the center refuses the client: no application data", v.Describe()))
	}
}

// ocspRetries judges the OCSP requests against the row's retries and
// interval, and the refusal.
func ocspRetries(req harness.Requirement, row spec.TLSScenario, t0 time.Time, v harness.CenterVisit) {
	expectRefused(req, v)
	expectAttempts(req, "OCSP requests about the client certificate", harness.FetchAttempts(ocspFetches(t0)), row.RetryCount, row.RetryInterval())
}

var good = harness.Identity(pki.Vehicle, false)

// refusedNoOCSP judges row F: refused without asking an OCSP responder.
func refusedNoOCSP(req harness.Requirement, _ spec.TLSScenario, t0 time.Time, v harness.CenterVisit) {
	expectRefused(req, v)
	if n := len(ocspFetches(t0)); n != 0 {
		Fail(harness.Verdict(req, "no OCSP request", fmt.Sprintf("%d OCSP request(s)", n)))
	}
}

// clientAuthScenariosG judges row G at the center: refused after 1 + retries
// DNS queries for the OCSP host, each retry when the previous one timed out.
func clientAuthScenariosG(req harness.Requirement, row spec.TLSScenario, t0 time.Time, v harness.CenterVisit) {
	expectRefused(req, v)
	qs := run.TLS.DNS.Queries(harness.OCSPHost, t0)
	expectAttempts(req, "DNS queries for "+harness.OCSPHost, queryAttempts(qs, row.Timeout()), row.RetryCount, row.RetryInterval())
}

var clientAuthScenarios = map[string][]clientAuthScenario{
	"A": {{
		text: "client sends no certificate: refused, no communication", quirk: "accept-no-client-cert",
		identity: harness.ClientIdentity{},
	}, {
		variant: "partial", text: "client sends its certificate without the intermediate CA: refused, no communication", quirk: "accept-partial-chain",
		identity: harness.Identity(pki.Vehicle, true),
	}},
	"B": {{
		text: "client stops answering after its ClientHello: the center closes the connection after 1 s", quirk: "client-timeout-factor=4",
		identity: good,
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time, v harness.CenterVisit) {
			if v.Closed.IsZero() {
				Fail(harness.Verdict(req, "the center closes the connection", v.Describe()))
			}
			// The wait starts when the center has sent its flight and the
			// client's answer is due; the client's Write of its second
			// flight marks it, within the handshake's first round trip.
			waited := run.Clock.Spec(v.Closed.Sub(v.Start))
			if !run.Profile.Tolerance.Within(row.Timeout(), waited) {
				Fail(harness.Verdict(req, fmt.Sprintf("the center closes the connection %s (spec time) after the ClientHello", run.Profile.Tolerance.Describe(row.Timeout())), fmt.Sprintf("closed after %.2fs (spec time)", waited.Seconds())))
			}
		},
	}},
	"C": {{
		text: "client certificate signature does not verify: refused, no communication", quirk: "accept-bad-client-signature",
		identity: harness.Identity(pki.VehicleBadSignature, false),
	}},
	"D": {{
		text: "client certificate without digitalSignature key usage: refused", quirk: "ignore-client-key-usage",
		identity: harness.Identity(pki.VehicleWrongKeyUsage, false),
	}, {
		variant: "eku", text: "client certificate with EKU serverAuth instead of clientAuth: refused", quirk: "ignore-client-eku",
		identity: harness.Identity(pki.VehicleWrongEKU, false),
	}},
	"E": {{
		text: "client certificate expired: refused", quirk: "accept-expired-client-cert",
		identity: harness.Identity(pki.VehicleExpired, false),
	}},
	"F": {{
		text: "client certificate without OCSP responder URL: refused, no OCSP request", quirk: "accept-client-without-ocsp-url",
		identity: harness.Identity(pki.VehicleNoOCSP, false),
		judge:    refusedNoOCSP,
	}, {
		variant: "no-revocation-info", text: "client certificate with neither CDP nor OCSP responder URL: refused, no OCSP request", quirk: "accept-client-without-ocsp-url",
		identity: harness.Identity(pki.VehicleNoRevocationInfo, false),
		judge:    refusedNoOCSP,
	}},
	"G": {{
		text: "OCSP responder host gets no DNS answer: the query waits 1 s, one retry, then refused", quirk: "client-ocsp-no-retry=G",
		identity: good,
		stage:    func() { run.TLS.DNS.SetMode(harness.OCSPHost, dns.NoAnswer, 0) },
		judge:    clientAuthScenariosG,
	}},
	"G-more": {{
		variant: "slow", text: "OCSP responder host answered after more than 1 s: the query times out after 1 s, one retry, then refused", quirk: "client-ocsp-no-retry=G",
		identity: good,
		stage:    func() { run.TLS.DNS.SetMode(harness.OCSPHost, dns.Slow, run.Clock.Wall(3*time.Second)) },
		judge:    clientAuthScenariosG,
	}, {
		variant: "several", text: "OCSP responder host with several DNS answers, the first unreachable: the center tries them in turn and serves the client", quirk: "first-dns-answer-only",
		identity: good,
		stage: func() {
			startDead()
			run.TLS.DNS.Set(harness.OCSPHost, net.ParseIP(spareIP(0)), net.ParseIP(run.Profile.Center.HarnessAddress))
		},
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time, v harness.CenterVisit) {
			tried := 0
			for _, at := range dead.accepted() {
				if !at.Before(t0) {
					tried++
				}
			}
			if tried == 0 || len(ocspFetches(t0)) == 0 || !v.Answered {
				Fail(harness.Verdict(req, "a connection to the first answer ("+spareIP(0)+"), then an OCSP request at the second ("+run.Profile.Center.HarnessAddress+"), then the client is served",
					fmt.Sprintf("%d connection(s) to "+spareIP(0)+", %d OCSP request(s); %s", tried, len(ocspFetches(t0)), v.Describe())))
			}
		},
	}},
	"H": {{
		text: "OCSP responder never answers: the center waits 5 s, retries once at once, then refuses", quirk: "client-ocsp-no-retry=H",
		identity: good,
		stage: func() {
			run.TLS.Revocation.SetFaults(center.RevocationFault{Times: -1, Kind: "ocsp", Stall: run.Clock.Wall(time.Minute)})
		},
		judge: ocspRetries,
	}},
	"I": {{
		text: "OCSP responder answers 500: one retry 1 s later, then refused", quirk: "client-ocsp-no-retry=I",
		identity: good,
		stage: func() {
			run.TLS.Revocation.SetFaults(center.RevocationFault{Times: -1, Kind: "ocsp", Status: 500})
		},
		judge: ocspRetries,
	}},
	"J": {{
		text: "OCSP response signature does not verify: refused at once", quirk: "ignore-ocsp-signature",
		identity: good,
		stage: func() {
			run.TLS.Revocation.SetFaults(center.RevocationFault{Times: -1, Kind: "ocsp", Corrupt: true})
		},
		judge: ocspRetries,
	}},
	"K": {{
		text: "OCSP response signed by a responder the OEM CA did not authorise: refused at once", quirk: "accept-untrusted-ocsp",
		identity: good,
		stage: func() {
			run.TLS.Revocation.SetFaults(center.RevocationFault{Times: -1, Kind: "ocsp", WrongResponder: true})
		},
		judge: ocspRetries,
	}},
	"L": {{
		text: "OCSP response expired: refused at once", quirk: "accept-expired-ocsp",
		identity: good,
		stage: func() {
			run.TLS.Revocation.SetFaults(center.RevocationFault{Times: -1, Kind: "ocsp", Expired: true})
		},
		judge: ocspRetries,
	}},
	"M": {{
		text: "client certificate revoked (OCSP): refused", quirk: "ignore-client-revocation",
		identity: harness.Identity(pki.VehicleRevoked, false),
		judge:    ocspRetries,
	}},
}

type clientAuthCase struct {
	name     string
	row      spec.TLSScenario
	scenario clientAuthScenario
}

var clientAuthCases = func() []clientAuthCase {
	var out []clientAuthCase
	for _, row := range spec.TLSClientAuth() {
		scs, ok := clientAuthScenarios[row.Row]
		if !ok {
			panic("Table 7-5 row " + row.Row + " has no scenario in cases/tls")
		}
		scs = append(scs, clientAuthScenarios[row.Row+"-more"]...)
		for _, sc := range scs {
			out = append(out, clientAuthCase{
				name:     harness.SpecName("7.1.1.7 "+row.ID(), fmt.Sprintf("%s: %s", row.Title, sc.text)),
				row:      row,
				scenario: sc,
			})
		}
	}
	return out
}()

func clientAuthEntries() []TableEntry {
	var out []TableEntry
	for _, c := range clientAuthCases {
		out = append(out, Entry(c.name, harness.Labels(harness.TLS, harness.CenterDUT), SpecTimeout(2*time.Minute), c))
	}
	return out
}

// freshCenter prepares a center-DUT spec: the harness's OCSP responder and
// DNS back to normal.
func freshCenter() {
	if !run.Profile.HasRole("center") {
		Skip(fmt.Sprintf("not applicable: the DUT profile %s has no role center", run.Profile.Name))
	}
	run.Requires("tls1.3")
	if err := run.ResetTLS(); err != nil {
		Fail(err.Error())
	}
	// max-age=0: the center may not serve a client from an OCSP response
	// cached in an earlier spec (RFC 7234); each spec sees its own fetches.
	run.TLS.Revocation.SetMaxAge(-1)
}

// visitGood checks the center serves the good vehicle, so a refusal in the
// spec is not a broken set-up.
func visitGood(ctx context.Context, req harness.Requirement) {
	if v := run.VisitCenterDUT(ctx, good, harness.VisitOptions{}); !v.Answered {
		Fail(harness.Verdict(req, "the good vehicle certificate is served (set-up check)", v.Describe()))
	}
}

// Table 7-5 (7.1.1.7): "Regarding the abnormal system scenario in client
// authentication at server side, the sequence and correspondence based on
// revocation confirmation of client certificate by OCSP", e.g. row M: "The
// client certificate has been invalid or revoked — Retry: None;
// Termination condition (unable to communicate): The center communication
// shall be unacceptable by normal judgement."
var _ = DescribeTable("Table 7-5 abnormal scenarios in client authentication (center DUT)",
	func(ctx SpecContext, c clientAuthCase) {
		freshCenter()
		req := harness.Requirement{
			Clause: "7.1.1.7 Table 7-5 row " + c.row.Row + " (" + c.row.Title + ")",
			Rule:   fmt.Sprintf("Retry: %s / Termination: %s", c.row.RetryText, c.row.Termination),
		}
		// Control: the center DUT is up and serves the good vehicle before
		// the row's fault is staged, so a refusal below is the row's doing
		// and not an unreachable center or a harness that cannot connect.
		visitGood(ctx, req)
		if c.scenario.stage != nil {
			c.scenario.stage()
		}
		opts := c.scenario.opts
		if c.row.Row == "B" {
			opts.StallAfterHello, opts.StallLimit = true, run.Clock.Wall(window)
		}
		t0 := time.Now()
		v := run.VisitCenterDUT(ctx, c.scenario.identity, opts)
		run.Wait(ctx, time.Second) // let late retries show
		judge := c.scenario.judge
		if judge == nil {
			judge = func(req harness.Requirement, _ spec.TLSScenario, _ time.Time, v harness.CenterVisit) {
				expectRefused(req, v)
			}
		}
		judge(req, c.row, t0, v)
	},
	clientAuthEntries(),
)

// centerRuleCases are the 7.1.1 rules judged with the center as DUT.
var centerRuleCases = func() []ruleCase {
	cases := []ruleCase{
		{
			clause: "7.1.1.2.2", quirk: "center.accept-p256", rule: "ECDHE 384 bits or more / DHE 4096 bits or more (I-022)",
			name: "the center refuses a client that offers only P-256 key exchange",
			body: func(ctx context.Context, req harness.Requirement) {
				visitGood(ctx, req)
				v := run.VisitCenterDUT(ctx, good, harness.VisitOptions{Mutate: func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.CurveP256} }})
				expectRefused(req, v)
			},
		},
		{
			clause: "6.2.3", quirk: "center.accept-untrusted-client", rule: "shall only trust certificates be chaining up to root certificates issued by Toyota Motor Corporation",
			name: "the center refuses a client chain that ends at another root",
			body: func(ctx context.Context, req harness.Requirement) {
				visitGood(ctx, req)
				expectRefused(req, run.VisitCenterDUT(ctx, harness.Identity(pki.VehicleUntrusted, false), harness.VisitOptions{}))
			},
		},
		{
			clause: "7.1.1.4", quirk: "center.no-resumption", rule: "TLS session resumption shall be performed using the stateless resumption PSK+(EC)DHE 1-RTT method",
			name: "the center resumes a session with a PSK and an (EC)DHE key share",
			body: func(ctx context.Context, req harness.Requirement) {
				cache := tls.NewLRUClientSessionCache(2)
				first := run.VisitCenterDUT(ctx, good, harness.VisitOptions{Sessions: cache})
				second := run.VisitCenterDUT(ctx, good, harness.VisitOptions{Sessions: cache})
				if !first.Answered || !second.Answered || !second.State.DidResume || second.State.CurveID == 0 {
					Fail(harness.Verdict(req, "the second connection resumes (PSK) with an (EC)DHE key share and is served", first.Describe()+"; then "+second.Describe()+fmt.Sprintf(" resumed=%v group=%v", second.State.DidResume, second.State.CurveID)))
				}
			},
		},
	}
	cases = append(cases, centerPeerCases()...)
	for i := range cases {
		cases[i].name = harness.SpecName(cases[i].clause, cases[i].name)
	}
	return cases
}()

func centerRuleEntries() []TableEntry {
	var out []TableEntry
	for _, c := range centerRuleCases {
		out = append(out, Entry(c.name, harness.Labels(harness.TLS, harness.CenterDUT), SpecTimeout(time.Minute), c))
	}
	return out
}

// The rules of 7.1.1 as the center must keep them.
var _ = DescribeTable("7.1.1 TLS rules (center DUT)",
	func(ctx SpecContext, c ruleCase) {
		freshCenter()
		c.body(ctx, harness.Requirement{Clause: c.clause, Rule: c.rule})
	},
	centerRuleEntries(),
)
