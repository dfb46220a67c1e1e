// Package conformance is a sample suite whose only purpose is to produce the
// Ginkgo JSON fixture that harness/report's golden tests read. It lives under
// testdata/_sample so neither `go test ./...` nor `ginkgo -r` runs it; see
// ../generate.sh. Several of its specs fail on purpose.
package conformance

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/icoc-dev/icoc/harness/report"
)

func TestConformance(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "icoc sample: HTTP/1.1 retries")
}

var _ = BeforeSuite(func() {
	AddReportEntry(report.EntryRun, report.RunMetadata{
		Profile: "builtin:sim",
		DUT: report.DUTIdentity{
			Name:     "reference vehicle <sim>",
			Roles:    []string{"vehicle"},
			Firmware: "sim-0.1.0",
			VIN:      "JT000000000000017",
		},
		ClockMode: "scaled",
		TimeScale: 0.01,
		Transport: "loopback",
		Certificates: []report.CertFingerprint{
			{Name: "vehicle client", SHA256: "3f2a9c0d5e8b7a6f1c4d2e9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a99"},
			{Name: "center server", SHA256: "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"},
		},
	}, ReportEntryVisibilityNever)
})

var _ = Describe("HTTP/1.1 retries", Label("http1"), func() {
	It("[7.2.2.4 T7-8 503] after 503 the DUT retried twice, 1 min apart", Label("retry"), func() {
		AddReportEntry(report.EntrySpecTime, 180.0, ReportEntryVisibilityNever)
	})

	It("[7.2.2.10 T7-9 400] after 400 the DUT did not retry", Label("retry"), func() {
		AddReportEntry(report.EntrySpecTime, 120.0, ReportEntryVisibilityNever)
		attempts := 3
		Expect(attempts).To(Equal(1), "clause 7.2.2.10 T7-9 400: expected 1 attempt (no retry) after status 400, observed %d attempts | <retry> *twice*", attempts)
	})

	It("[7.2.2.4 T7-8 500] after 500 the DUT retried twice", Label("retry", "slow"), SpecTimeout(50e6), func(ctx context.Context) {
		AddReportEntry(report.EntrySpecTime, 60.0, ReportEntryVisibilityNever)
		<-ctx.Done()
	})

	It("[7.2.2.4 T7-8 504] header <X-Retry-After> | a*b_c", func() {
		AddReportEntry(report.EntrySpecTime, 30.5, ReportEntryVisibilityNever)
	})

	It("[7.2.3 T7-4 B] OCSP responder unreachable: the DUT refused the session", Label("revocation"), func() {
		Fail("clause 7.2.3 T7-4 B: expected the DUT to refuse the session, observed a completed handshake")
	})

	It("[7.2.3 T7-4 A] CRL expired: the DUT refused the session", Label("revocation"), func() {
		AddReportEntry(report.EntrySpecTime, 12.0, ReportEntryVisibilityNever)
	})

	It("the DUT stops retrying eventually", func() {})

	It("[7.2.2.6] CAN data: the DUT keeps its data while the center is away", Label("can"), func() {
		AddReportEntry(report.EntrySpecTime, 480.0, ReportEntryVisibilityNever)
		AddReportEntry(report.EntryPhaseNotRun, "dead-link phase: no fault proxy between the DUT and the center")
	})
})

var _ = Describe("TLS", Label("tls"), func() {
	It("[7.1.1.7] the DUT offered only TLS 1.3", func() {
		var offered map[string][]string
		offered["versions"] = append(offered["versions"], "TLS1.3") // nil map: panics on purpose
	})

	It("[7.1.1.10] the DUT's certificate chain is complete", func() {
		AddReportEntry(report.EntrySpecTime, 1.0, ReportEntryVisibilityNever)
	})
})

var _ = Describe("HTTP/2", Label("http2"), func() {
	It("[7.3.1 T7-12] the DUT used server push as the seed says", func() {
		Skip("not applicable: the DUT profile lacks capability http2")
	})

	It("[7.4.2] MQTT v5 session expiry", func() {
		Skip("broker fault plan not implemented yet")
	})

	PIt("[7.5.1] gRPC deadline propagation", func() {})
})
