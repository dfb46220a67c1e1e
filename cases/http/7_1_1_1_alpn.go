package httpcases

import (
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	. "github.com/onsi/ginkgo/v2"
)

const alpnText = "offered h2 and http/1.1 by ALPN, a DUT that speaks HTTP/2 chooses it"

// 7.1.1.1: "If HTTP/2 upgrade is performed by ALPN, it should be compliant
// with RFC7301." 6.1.1: HTTP/2 is "Recommended for many use cases"; HTTP/1.1
// applies "only when it is necessary to follow existing (legacy)
// communication specifications. (Not recommended)".
func (s *suite) alpn() {
	if s.v != HTTP2 {
		return
	}
	Describe("7.1.1.1 ALPN", func() {
		It(harness.SpecName("7.1.1.1", alpnText), harness.Labels(harness.HTTP2, harness.TLS, harness.VehicleDUT), func(ctx SpecContext) {
			run := s.r()
			run.Requires("http2", "data-upload")
			req := harness.Requirement{Clause: "7.1.1.1, 6.1.1", Rule: "If HTTP/2 upgrade is performed by ALPN, it should be compliant with RFC7301; HTTP/1.1 is not recommended"}
			run.Center.SetALPN("h2", "http/1.1")
			st := s.triggerUpload(ctx, true)
			first := s.awaitFirst(req, st, 20*time.Second)
			if first.Handshake.ALPN != "h2" || first.Proto != "HTTP/2.0" {
				Fail(harness.Verdict(req, "ALPN h2 negotiated and the upload sent over HTTP/2",
					fmt.Sprintf("ALPN %q, %s %s over %s", first.Handshake.ALPN, first.Method, first.Path, first.Proto)))
			}
		})
	})
}

func alpnQuirks(v Version) []harness.QuirkCase {
	if v != HTTP2 {
		return nil
	}
	return []harness.QuirkCase{{Quirk: "no-h2", Specs: []string{harness.FormatName("7.1.1.1", alpnText)}}}
}
