package tls_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/dns"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	mdns "github.com/miekg/dns"
)

// freshVehicle prepares a vehicle-DUT spec: the harness's TLS side back to
// normal, HTTP/1.1 only (a new connection, hence a new handshake, per
// exchange, 7.2.2.7), and a power cycle (+B OFF, then IG-ON) so the DUT
// starts with no cached CRL/OCSP response and no upload under way.
func freshVehicle(ctx context.Context) {
	run.Requires("tls1.3")
	Expect(run.ResetTLS()).To(Succeed())
	run.Center.SetALPN("http/1.1")
	powerCycle(ctx)
}

// powerCycle switches +B off and the ignition back on, and lets the DUT
// wake up.
func powerCycle(ctx context.Context) {
	Expect(run.Ignition(ctx, bench.BOff)).To(Succeed())
	run.Wait(ctx, time.Second)
	Expect(run.Ignition(ctx, bench.IGOn)).To(Succeed())
	run.Wait(ctx, 2*time.Second)
}

// upload asks the DUT over CAN for a non-real-time upload (its own retry
// comes 1 min of spec time later, well after every window here) and
// returns when it was asked.
func upload(ctx context.Context) time.Time {
	t0 := time.Now()
	id := harness.NextRequestID()
	Expect(run.TriggerUpload(ctx, bench.UploadTrigger{RealTime: false, Trigger: 'c', RequestID: id})).To(Succeed())
	return t0
}

// appData returns the HTTP requests the harness's center received since t0.
func appData(since time.Time) []harness.Attempt {
	return run.Recorder.Attempts(func(a harness.Attempt) bool { return !a.ReceivedAt.Before(since) })
}

// fetches returns the requests for path at the harness's CDP/OCSP
// responder since t0 ("" for all).
func fetches(since time.Time, path string) []center.Fetch {
	var out []center.Fetch
	for _, f := range run.TLS.Revocation.Fetches(since) {
		if path == "" || f.Path == path {
			out = append(out, f)
		}
	}
	return out
}

// handshakes returns the TLS handshakes (good and failed) on connections
// the harness's center accepted since t0.
func handshakes(since time.Time) []center.HandshakeInfo { return run.Recorder.Handshakes(since) }

// queryAttempts puts DNS queries for a name on the timeline; each ends
// when the DUT's timeout ran out (the harness does not answer them), so
// the next one's start is judged against the previous start plus timeout.
func queryAttempts(qs []dns.Query, timeout time.Duration) []harness.Attempt {
	out := make([]harness.Attempt, len(qs))
	for i, q := range qs {
		out[i] = harness.Attempt{Protocol: center.ProtoDNS, Key: q.Name, Method: dnsType(q.Type), Path: q.Name,
			ReceivedAt: q.At, ConnAccepted: q.At, AnsweredAt: q.At.Add(run.Clock.Wall(timeout)), TimedOut: true}
	}
	return out
}

func dnsType(t uint16) string {
	if s, ok := mdns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}

// waitedOut ends attempts whose answer never reached the DUT when the
// DUT's timeout ran out.
func waitedOut(as []harness.Attempt, timeout time.Duration) []harness.Attempt {
	for i := range as {
		as[i].AnsweredAt = as[i].ReceivedAt.Add(run.Clock.Wall(timeout))
		as[i].TimedOut = true
	}
	return as
}

// describeAttempts renders attempts (what names them) for a failure.
func describeAttempts(what string, as []harness.Attempt) string {
	if len(as) == 0 {
		return "no " + what
	}
	return fmt.Sprintf("%d %s:\n%s", len(as), what, harness.Timeline(as, run.Clock))
}

// expectAttempts checks, with the one retry matcher of the timeline, that
// there were exactly 1+retries attempts (what names them), each retry
// starting interval (spec time) after the previous one ended.
func expectAttempts(req harness.Requirement, what string, as []harness.Attempt, retries int, interval time.Duration) {
	AddReportEntry("icoc.timeline", harness.Timeline(as, run.Clock), ReportEntryVisibilityFailureOrVerbose)
	p := harness.RetryPattern{Retries: retries, Interval: interval, Tolerance: run.Profile.Tolerance, Clock: run.Clock}
	Expect(as).To(harness.FollowRetryPattern(req, p), what)
}

// expectNoAppData checks that no application data reached the center.
func expectNoAppData(req harness.Requirement, since time.Time) {
	if got := appData(since); len(got) > 0 {
		Fail(harness.Verdict(req, "no application data (the DUT must not communicate)", fmt.Sprintf("%d HTTP request(s), the first %s %s", len(got), got[0].Method, got[0].Path)))
	}
}

// expectTried checks that the DUT tried the center since t0 (a TLS
// handshake began): a refusal is judged only of a DUT that tried, never of
// one that stayed silent.
func expectTried(req harness.Requirement, since time.Time) {
	if len(handshakes(since)) == 0 {
		Fail(harness.Verdict(req, "a TLS handshake with the center after the upload trigger (then the refusal)",
			fmt.Sprintf("none; %d connection(s) to the center since the trigger", len(run.Recorder.Connections(since)))))
	}
}

// expectAppData waits (spec time) for application data since t0.
func expectAppData(ctx context.Context, req harness.Requirement, since time.Time, within time.Duration) {
	deadline := time.Now().Add(run.Clock.Wall(within))
	for time.Now().Before(deadline) {
		if len(appData(since)) > 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	Fail(harness.Verdict(req, fmt.Sprintf("application data within %v (spec time)", within), "none; handshakes:\n"+describeHandshakes(handshakes(since))))
}

func describeHandshakes(hs []center.HandshakeInfo) string {
	if len(hs) > 0 {
		return harness.Timeline(harness.HandshakeAttempts(hs), run.Clock)
	}
	if len(hs) == 0 {
		return "  (no handshake)"
	}
	var b strings.Builder
	for i, h := range hs {
		res := "ok"
		if h.Err != nil {
			res = h.Err.Error()
		}
		fmt.Fprintf(&b, "  #%d %s\n", i+1, res)
	}
	return strings.TrimRight(b.String(), "\n")
}

// chain returns the [chain file, key file] of a center certificate of the
// test PKI.
func chain(n pki.Name) [2]string { return [2]string{pki.Path(n.ChainFile()), pki.Path(n.KeyFile())} }

// window is how long (spec time) a spec watches after the upload trigger:
// long enough for every retry a row allows and one more, shorter than the
// 1 min upload retry of 7.2.2.6.
const window = 20 * time.Second

var _ = BeforeEach(func() {
	if run != nil && run.Center != nil {
		Expect(run.ResetTLS()).To(Succeed())
	}
})

// x509Cert wraps a certificate of the test PKI.
type x509Cert struct{ *x509.Certificate }

func readFixture(name string) ([]byte, error) { return os.ReadFile(pki.Path(name)) }

func suiteNames(ids []uint16) string {
	var names []string
	for _, id := range ids {
		names = append(names, tls.CipherSuiteName(id))
	}
	return strings.Join(names, ", ")
}

// groupName is the RFC 8446 name of a TLS group, as spec.GroupAllowed
// wants it.
func groupName(g tls.CurveID) string {
	switch g {
	case tls.CurveP256:
		return "secp256r1"
	case tls.CurveP384:
		return "secp384r1"
	case tls.CurveP521:
		return "secp521r1"
	case tls.X25519:
		return "x25519"
	}
	return g.String()
}

func describeHandshakeFacts(hs []center.HandshakeInfo) string {
	if len(hs) == 0 {
		return "no handshake"
	}
	var b strings.Builder
	for i, h := range hs {
		fmt.Fprintf(&b, "#%d resumed=%v group=%v suite=%s err=%v\n", i+1, h.Resumed, h.Group, tls.CipherSuiteName(h.CipherSuite), h.Err)
	}
	return strings.TrimRight(b.String(), "\n")
}

func describeFetches(fs []center.Fetch) string {
	if len(fs) == 0 {
		return "no fetch"
	}
	var b strings.Builder
	for i, f := range fs {
		fmt.Fprintf(&b, "#%d %s conditional=%v -> %d\n", i+1, f.Path, f.Conditional, f.Status)
	}
	return strings.TrimRight(b.String(), "\n")
}
