// Package http_test is the HTTP conformance suite (7.2.2, 7.2.3 and
// Appendix 1): one spec per clause or table row, judged on what the
// harness's center recorded on the wire.
package http_test

import (
	"testing"

	"github.com/icoc-dev/icoc/harness"
)

// run is the conformance run every spec of this suite shares.
var run *harness.Run

var _ = harness.SetUpSuite(&run)

func TestConformance(t *testing.T) {
	harness.RunSuite(t, "icoc HTTP conformance")
}
