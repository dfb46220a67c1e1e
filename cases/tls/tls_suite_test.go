// Package tls_test is the TLS conformance suite (7.1.1): one spec per row
// of Tables 7-4 (vehicle DUT) and 7-5 (center DUT) and per rule of 7.1.1.1
// to 7.1.1.6, judged on what crossed the wire: connections and handshakes
// at the harness's center, fetches at its CRL distribution point and OCSP
// responder, and whether application data followed.
package tls_test

import (
	"testing"

	"github.com/icoc-dev/icoc/harness"
)

// run is the conformance run every spec of this suite shares.
var run *harness.Run

var _ = harness.SetUpSuite(&run)

func TestConformance(t *testing.T) {
	harness.RunSuite(t, "icoc TLS conformance")
}
