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
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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
func handshakes(since time.Time) []center.HandshakeInfo { return run.TLS.Log.Handshakes(since) }

// span is one attempt seen on the wire: when it started and ended.
type span struct{ start, end time.Time }

func fetchSpans(fs []center.Fetch) []span {
	out := make([]span, len(fs))
	for i, f := range fs {
		out[i] = span{f.At, f.Done}
	}
	return out
}

func handshakeSpans(hs []center.HandshakeInfo) []span {
	out := make([]span, len(hs))
	for i, h := range hs {
		out[i] = span{h.Conn.AcceptedAt, h.Done}
	}
	return out
}

// describeSpans renders attempts in spec seconds from the first.
func describeSpans(what string, ss []span) string {
	if len(ss) == 0 {
		return "no " + what
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s:", len(ss), what)
	for i, s := range ss {
		fmt.Fprintf(&b, "\n  #%d at %6.2fs spec, lasted %.2fs", i+1, run.Clock.Spec(s.start.Sub(ss[0].start)).Seconds(), run.Clock.Spec(s.end.Sub(s.start)).Seconds())
		if i > 0 {
			fmt.Fprintf(&b, " (%.2fs after #%d ended)", run.Clock.Spec(s.start.Sub(ss[i-1].end)).Seconds(), i)
		}
	}
	return b.String()
}

// expectAttempts checks that there were exactly 1+retries attempts, each
// retry starting interval (spec time) after the previous one ended.
func expectAttempts(req harness.Requirement, what string, ss []span, retries int, interval time.Duration) {
	tol := run.Profile.Tolerance
	exp := fmt.Sprintf("exactly %d %s", retries+1, what)
	if retries > 0 {
		exp += fmt.Sprintf(", each retry %s (spec time) after the previous one ended", tol.Describe(interval))
	}
	ok := len(ss) == retries+1
	for i := 1; ok && i < len(ss); i++ {
		ok = tol.Within(interval, run.Clock.Spec(ss[i].start.Sub(ss[i-1].end)))
	}
	if !ok {
		Fail(harness.Verdict(req, exp, describeSpans(what, ss)))
	}
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
			fmt.Sprintf("none; %d connection(s) to the center since the trigger", len(run.TLS.Log.Connections(since)))))
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
