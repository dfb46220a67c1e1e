// Package grid is a sample suite of behaviour-table rows (Table 7-8 over
// two HTTP versions and two retry rules, Table 7-4 rows), with the wire
// evidence a failed spec keeps, for harness/report's golden tests; see
// ../generate.sh. One spec fails on purpose.
package grid

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/icoc-dev/icoc/harness/report"
)

func TestGrid(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "icoc sample: behaviour tables")
}

// The same DUT and profile as the conformance sample, another transport:
// the matrix shows the shared metadata once.
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
		Transport: "netns",
		Certificates: []report.CertFingerprint{
			{Name: "vehicle client", SHA256: "3f2a9c0d5e8b7a6f1c4d2e9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a99"},
			{Name: "center server", SHA256: "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"},
		},
	}, ReportEntryVisibilityNever)
})

var _ = Describe("Table 7-8", func() {
	for _, v := range []struct{ name, label string }{{"HTTP/1.1", "protocol:http1"}, {"HTTP/2", "protocol:http2"}} {
		for _, rule := range []string{"real-time", "non-real-time"} {
			It("[7.2.2.4 T7-8 400] "+v.name+" "+rule+" upload answered 400 Bad Request is never retried", Label(v.label), func() {})
			if v.name == "HTTP/2" && rule == "real-time" {
				It("[7.2.2.4 T7-8 503] "+v.name+" "+rule+" upload answered 503 Service Unavailable is retried 2 times, 3s apart", Label(v.label), func() {
					AddReportEntry(report.EntryEvidence, report.Evidence{Files: []report.EvidenceFile{
						{Kind: report.EvidenceCapture, Path: "evidence/cases-http-h2/7.2.2.4_T7-8_503-0a1b2c3d/capture.pcapng", Title: "capture (pcapng)"},
						{Kind: report.EvidenceKeyLog, Path: "evidence/cases-http-h2/7.2.2.4_T7-8_503-0a1b2c3d/tls-keys.log", Title: "TLS key log"},
						{Kind: report.EvidenceCAN, Path: "evidence/cases-http-h2/7.2.2.4_T7-8_503-0a1b2c3d/can.log", Title: "CAN frames (candump log)"},
						{Kind: report.EvidenceTimeline, Path: "evidence/cases-http-h2/7.2.2.4_T7-8_503-0a1b2c3d/timeline.svg", Title: "timeline (SVG)"},
					}}, ReportEntryVisibilityNever)
					Fail("Requirement: 7.2.2.4 Table 7-8 row 503: retried 2 times, 3 s apart\nExpected:    exactly 3 attempts\nActual:      2 attempts")
				})
			} else {
				It("[7.2.2.4 T7-8 503] "+v.name+" "+rule+" upload answered 503 Service Unavailable is retried 2 times", Label(v.label), func() {})
			}
		}
	}
	It("[7.2.2.4 T7-8 568] HTTP/1.1 upload answered 568: no communication for 10 minutes", Label("protocol:http1"), func() {})
})

var _ = Describe("Table 7-4", func() {
	It("[7.1.1.7 T7-4 A] server certificate cannot be obtained: one retry 1 s later", Label("protocol:tls"), func() {})
	It("[7.1.1.7 T7-4 B] server answers with bytes that are not TLS: no retry", Label("protocol:tls"), func() {
		Skip("not applicable: the DUT profile does not list capability \"tls\"")
	})
	It("[7.1.1.7 T7-4 B] server answers with an alert: no retry", Label("protocol:tls"), func() {})
})
