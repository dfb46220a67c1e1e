package tls_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/dns"
	"github.com/icoc-dev/icoc/harness/netfault"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// serverAuthScenario is how one situation of a Table 7-4 row is staged by
// the harness (playing the center, its CDP and its DNS) and judged.
type serverAuthScenario struct {
	// variant distinguishes several specs of one row ("" for the only one).
	variant string
	// text is the spec's name after the row ID.
	text string
	// quirk is the reference vehicle's quirk the spec must catch.
	quirk string
	// stage sets the fault up before the upload trigger.
	stage func(ctx context.Context)
	// judge looks at the wire after the window.
	judge func(req harness.Requirement, row spec.TLSScenario, t0 time.Time)
}

// crlPath is the CDP path of the center certificates' issuer.
const crlPath = "/intermediate.crl"

// noDataOnly judges rows without retry whose failure is seen in the
// handshake: one handshake, refused, no application data.
func noDataOnly(req harness.Requirement, _ spec.TLSScenario, t0 time.Time) {
	expectNoAppData(req, t0)
	expectAttempts(req, "TLS handshakes", harness.HandshakeAttempts(handshakes(t0)), 0, 0)
}

// fetchRetries judges the CDP fetches against the row's retry count and
// interval, and that no application data followed.
func fetchRetries(req harness.Requirement, row spec.TLSScenario, t0 time.Time) {
	expectNoAppData(req, t0)
	expectAttempts(req, "fetches of "+crlPath, harness.FetchAttempts(fetches(t0, crlPath)), row.RetryCount, row.RetryInterval())
}

// deadListener accepts on the first spare address (127.0.0.2 on loopback)
// at the responder's port and closes
// every connection at once, logging when: the "other DNS answer" of row G.
type deadListener struct {
	ln  net.Listener
	mu  sync.Mutex
	got []time.Time
}

func (d *deadListener) accepted() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.got...)
}

var dead *deadListener

func startDead() {
	if dead != nil {
		return
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(spareIP(0), strconv.Itoa(run.TLS.RevocationPort())))
	Expect(err).NotTo(HaveOccurred(), "the first spare address (profile center.spare_addresses) for the several-answers case")
	dead = &deadListener{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dead.mu.Lock()
			dead.got = append(dead.got, time.Now())
			dead.mu.Unlock()
			_ = c.Close()
		}
	}()
}

// spareIP is the i-th spare address of the harness (profile
// center.spare_addresses): 127.0.0.2 and 127.0.0.3 on loopback.
func spareIP(i int) string { return run.Profile.Center.SpareAddresses[i] }

// mutedIP is the address of the fault proxy in front of the harness's CDP
// (same port), for the network variant of row H: the second spare address.
func mutedIP() string { return spareIP(1) }

var muted *netfault.Proxy

// mutedProxy returns the toxiproxy between mutedIP and the harness's CDP.
func mutedProxy() *netfault.Proxy {
	if muted == nil {
		p, err := netfault.NewProxy(net.JoinHostPort(mutedIP(), strconv.Itoa(run.TLS.RevocationPort())), run.TLS.Revocation.Addr())
		Expect(err).NotTo(HaveOccurred(), "fault proxy on a second loopback address")
		muted = p
	}
	return muted
}

// serverAuthScenarios stages every row of Table 7-4; a row missing here
// makes the suite panic at tree construction, so no row goes unchecked.
var serverAuthScenarios = map[string][]serverAuthScenario{
	"A": {{
		text:  "server certificate cannot be obtained (connection closed after ClientHello): one retry 1 s later, then no communication",
		quirk: "tls-no-retry=A",
		stage: func(context.Context) { run.Center.SetHandshakeFault(center.HandshakeClose) },
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time) {
			expectNoAppData(req, t0)
			expectAttempts(req, "TLS connections", harness.HandshakeAttempts(handshakes(t0)), row.RetryCount, row.RetryInterval())
		},
	}},
	"B": {{
		text:  "server does not answer the ClientHello: the vehicle gives up after 1 s, no retry, no communication",
		quirk: "tls-handshake-timeout-factor=4",
		stage: func(context.Context) { run.Center.SetHandshakeFault(center.HandshakeSilent) },
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time) {
			expectNoAppData(req, t0)
			hs := harness.HandshakeAttempts(handshakes(t0))
			expectAttempts(req, "TLS connections", hs, 0, 0)
			lasted := run.Clock.Spec(hs[0].AnsweredAt.Sub(hs[0].Start()))
			if !run.Profile.Tolerance.Within(row.Timeout(), lasted) {
				Fail(harness.Verdict(req, fmt.Sprintf("the vehicle closes the connection %s (spec time) after connecting", run.Profile.Tolerance.Describe(row.Timeout())), "TLS connections:\n"+harness.Timeline(hs, run.Clock)))
			}
		},
	}, {
		variant: "garbage",
		text:    "server answers the ClientHello with bytes that are not TLS: failure at once, no retry, no communication",
		quirk:   "tls-retry=B",
		stage:   func(context.Context) { run.Center.SetHandshakeFault(center.HandshakeGarbage) },
		judge:   noDataOnly,
	}},
	"C": {{
		text:  "server certificate signature does not verify: one retry 1 s later, then no communication",
		quirk: "tls-no-retry=C",
		stage: func(context.Context) { Expect(run.Center.SetCertificates(chain(pki.CenterBadSignature))).To(Succeed()) },
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time) {
			expectNoAppData(req, t0)
			expectAttempts(req, "TLS handshakes", harness.HandshakeAttempts(handshakes(t0)), row.RetryCount, row.RetryInterval())
		},
	}},
	"D": {{
		text:  "server certificate without digitalSignature key usage: refused at once, no communication",
		quirk: "ignore-server-key-usage",
		stage: func(context.Context) {
			Expect(run.Center.SetCertificates(chain(pki.CenterWrongKeyUsage))).To(Succeed())
		},
		judge: noDataOnly,
	}, {
		variant: "eku",
		text:    "server certificate with EKU clientAuth instead of serverAuth: refused at once, no retry, no communication",
		quirk:   "tls-retry=D",
		stage:   func(context.Context) { Expect(run.Center.SetCertificates(chain(pki.CenterWrongEKU))).To(Succeed()) },
		judge:   noDataOnly,
	}},
	// Register I-081: a certificate not issued to the center's name is "not
	// suitable" (row D): refused at once, no retry.
	"D-name": {{
		variant: "other-name",
		text:    "server certificate issued to another host name (" + pki.OtherHost + "), valid and trusted: refused at once, no retry, no communication (I-081)",
		quirk:   "ignore-server-name",
		stage:   func(context.Context) { Expect(run.Center.SetCertificates(chain(pki.CenterOtherName))).To(Succeed()) },
		judge:   noDataOnly,
	}, {
		variant: "cn-only",
		text:    "server certificate naming the center only in its subject CN, with no SAN: refused at once, no retry, no communication (I-081)",
		quirk:   "server-name-cn-fallback",
		stage:   func(context.Context) { Expect(run.Center.SetCertificates(chain(pki.CenterCNOnly))).To(Succeed()) },
		judge:   noDataOnly,
	}, {
		variant: "wildcard",
		text:    "wildcard server certificate (" + pki.WildcardHost + "): refused at once unless the DUT profile allows wildcard server names (dut.wildcard_server_names, I-081)",
		quirk:   "accept-wildcard-server",
		stage:   func(context.Context) { Expect(run.Center.SetCertificates(chain(pki.CenterWildcard))).To(Succeed()) },
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time) {
			if run.Profile.DUT.WildcardServerNames {
				if len(appData(t0)) == 0 {
					Fail(harness.Verdict(req, "the DUT communicates: its profile says it accepts wildcard server names", "no application data; handshakes:\n"+describeHandshakes(handshakes(t0))))
				}
				return
			}
			noDataOnly(req, row, t0)
		},
	}},
	"E": {{
		text:  "server certificate expired: refused at once, no communication",
		quirk: "accept-expired-server-cert",
		stage: func(context.Context) { Expect(run.Center.SetCertificates(chain(pki.CenterExpired))).To(Succeed()) },
		judge: noDataOnly,
	}},
	"F": {{
		text:  "server certificate without CRL distribution point: refused at once, no fetch, no communication",
		quirk: "skip-revocation-without-url",
		stage: func(context.Context) { Expect(run.Center.SetCertificates(chain(pki.CenterNoCDP))).To(Succeed()) },
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time) {
			noDataOnly(req, row, t0)
			if n := len(fetches(t0, crlPath)); n != 0 {
				Fail(harness.Verdict(req, "no CRL fetch for a certificate without CDP", fmt.Sprintf("%d fetches of %s", n, crlPath)))
			}
		},
	}},
	"G": {{
		text:  "CDP host name gets no DNS answer: the query waits 1 s, one retry, then no communication",
		quirk: "tls-no-retry=G",
		stage: func(context.Context) { run.TLS.DNS.SetMode(harness.CRLHost, dns.NoAnswer, 0) },
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time) {
			expectNoAppData(req, t0)
			expectQueries(req, t0, row)
		},
	}, {
		variant: "slow",
		text:    "CDP host name answered after more than 1 s: the query times out after 1 s, one retry, then no communication",
		quirk:   "tls-no-retry=G",
		stage: func(context.Context) {
			run.TLS.DNS.SetMode(harness.CRLHost, dns.Slow, run.Clock.Wall(3*time.Second))
		},
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time) {
			expectNoAppData(req, t0)
			expectQueries(req, t0, row)
		},
	}, {
		variant: "several",
		text:    "CDP host name with several DNS answers, the first unreachable: the vehicle connects to them in turn and communicates",
		quirk:   "first-dns-answer-only",
		stage: func(context.Context) {
			startDead()
			run.TLS.DNS.Set(harness.CRLHost, net.ParseIP(spareIP(0)), net.ParseIP(run.Profile.Center.HarnessAddress))
		},
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time) {
			tried := 0
			for _, at := range dead.accepted() {
				if !at.Before(t0) {
					tried++
				}
			}
			if tried == 0 || len(fetches(t0, crlPath)) == 0 || len(appData(t0)) == 0 {
				Fail(harness.Verdict(req, "a connection to the first answer ("+spareIP(0)+"), then a CRL fetch from the second ("+run.Profile.Center.HarnessAddress+"), then application data",
					fmt.Sprintf("%d connection(s) to "+spareIP(0)+", %d fetch(es) of %s, %d HTTP request(s)", tried, len(fetches(t0, crlPath)), crlPath, len(appData(t0)))))
			}
		},
	}},
	"H": {{
		text:  "CDP accepts the connection but never answers: the vehicle waits 5 s, retries once at once, then no communication",
		quirk: "tls-no-retry=H",
		stage: func(context.Context) {
			run.TLS.Revocation.SetFaults(center.RevocationFault{Times: -1, Kind: "crl", Stall: run.Clock.Wall(time.Minute)})
		},
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time) {
			expectNoAppData(req, t0)
			fs := harness.FetchAttempts(fetches(t0, crlPath))
			expectAttempts(req, "fetches of "+crlPath, fs, row.RetryCount, row.RetryInterval())
			for _, f := range fs {
				if d := run.Clock.Spec(f.AnsweredAt.Sub(f.Start())); !run.Profile.Tolerance.Within(row.Timeout(), d) {
					Fail(harness.Verdict(req, fmt.Sprintf("each attempt waits %s (spec time)", run.Profile.Tolerance.Describe(row.Timeout())), describeAttempts("fetches of "+crlPath, fs)))
				}
			}
		},
	}},
	"H-net": {{
		variant: "network",
		text:    "the network delays the CDP's answer beyond 5 s (toxiproxy latency): the vehicle waits 5 s, retries once at once, then no communication",
		quirk:   "tls-no-retry=H",
		stage: func(context.Context) {
			p := mutedProxy()
			Expect(p.Add(netfault.Latency("mute", netfault.Downstream, run.Clock.Wall(time.Minute), 0))).To(Succeed())
			DeferCleanup(func() { p.Clear() })
			run.TLS.DNS.Set(harness.CRLHost, net.ParseIP(mutedIP()))
		},
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time) {
			expectNoAppData(req, t0)
			// The answer never reaches the DUT: an attempt ends when the
			// DUT's 5 s run out.
			ss := waitedOut(harness.FetchAttempts(fetches(t0, crlPath)), row.Timeout())
			expectAttempts(req, "fetches of "+crlPath+" (through the muted link)", ss, row.RetryCount, row.RetryInterval())
		},
	}},
	"I": {{
		text:  "CDP answers 500: one retry 1 s later (X = 1, I-006), then no communication",
		quirk: "tls-no-retry=I",
		stage: func(context.Context) {
			run.TLS.Revocation.SetFaults(center.RevocationFault{Times: -1, Kind: "crl", Status: 500})
		},
		judge: fetchRetries,
	}},
	"J": {{
		text:  "CRL signature does not verify: fetched again 1 s later, same error, then no communication",
		quirk: "ignore-crl-signature",
		stage: func(context.Context) {
			run.TLS.Revocation.SetFaults(center.RevocationFault{Times: -1, Kind: "crl", Corrupt: true})
		},
		judge: fetchRetries,
	}},
	"K": {{
		text:  "CRL expired: refused at once, no refetch, no communication",
		quirk: "accept-expired-crl",
		stage: func(context.Context) {
			run.TLS.Revocation.SetFaults(center.RevocationFault{Times: -1, Kind: "crl", Expired: true})
		},
		judge: fetchRetries,
	}},
	"L": {{
		text:  "server certificate revoked (listed in the CRL): no communication",
		quirk: "ignore-revocation",
		stage: func(context.Context) { Expect(run.Center.SetCertificates(chain(pki.CenterRevoked))).To(Succeed()) },
		judge: func(req harness.Requirement, row spec.TLSScenario, t0 time.Time) {
			noDataOnly(req, row, t0)
			if n := len(fetches(t0, crlPath)); n != 1 {
				Fail(harness.Verdict(req, "exactly 1 fetch of "+crlPath, fmt.Sprintf("%d", n)))
			}
		},
	}},
}

// expectQueries judges row G: 1 + retries A queries for the CDP host, each
// retry when the previous one timed out (1 s).
func expectQueries(req harness.Requirement, t0 time.Time, row spec.TLSScenario) {
	qs := run.TLS.DNS.Queries(harness.CRLHost, t0)
	expectAttempts(req, "DNS queries for "+harness.CRLHost, queryAttempts(qs, row.Timeout()), row.RetryCount, row.RetryInterval())
}

// serverAuthCase is one generated spec.
type serverAuthCase struct {
	name     string
	row      spec.TLSScenario
	scenario serverAuthScenario
}

var serverAuthCases = func() []serverAuthCase {
	var out []serverAuthCase
	for _, row := range spec.TLSServerAuth() {
		scs, ok := serverAuthScenarios[row.Row]
		if !ok {
			panic("Table 7-4 row " + row.Row + " has no scenario in cases/tls")
		}
		scs = append(scs, serverAuthScenarios[row.Row+"-net"]...)
		scs = append(scs, serverAuthScenarios[row.Row+"-name"]...)
		for _, sc := range scs {
			out = append(out, serverAuthCase{
				name:     harness.SpecName("7.1.1.7 "+row.ID(), fmt.Sprintf("%s: %s", row.Title, sc.text)),
				row:      row,
				scenario: sc,
			})
		}
	}
	return out
}()

// serverAuthNames returns the names of the Table 7-4 specs whose quirk is q.
func serverAuthNames(q string) []string {
	var out []string
	for _, c := range serverAuthCases {
		if c.scenario.quirk == q {
			out = append(out, c.name)
		}
	}
	return out
}

func serverAuthEntries() []TableEntry {
	var out []TableEntry
	for _, c := range serverAuthCases {
		out = append(out, Entry(c.name, harness.Labels(harness.TLS, harness.VehicleDUT), SpecTimeout(2*time.Minute), c))
	}
	return out
}

// Table 7-4 (7.1.1.7): "The scenarios of abnormal systems in the
// authentication phase of TLS and their responses" at the in-car unit,
// e.g. row I: "An error code is returned and CRL/OCSP cannot be obtained —
// Retry: Attempt to obtain CRL by 1 sec interval. Termination condition
// (unable to communicate): Terminate authentication process when retry
// failed X times. (fail)". Each row's cells are quoted in the requirement.
var _ = DescribeTable("Table 7-4 abnormal scenarios in server authentication (vehicle DUT)",
	func(ctx SpecContext, c serverAuthCase) {
		freshVehicle(ctx)
		req := harness.Requirement{
			Clause: "7.1.1.7 Table 7-4 row " + c.row.Row + " (" + c.row.Title + ")",
			Rule:   fmt.Sprintf("Retry: %s / Termination: %s", c.row.RetryText, c.row.Termination),
		}
		c.scenario.stage(ctx)
		t0 := upload(ctx)
		run.Wait(ctx, window)
		c.scenario.judge(req, c.row, t0)
	},
	serverAuthEntries(),
)
