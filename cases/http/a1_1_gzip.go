package httpcases

import (
	"fmt"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/canfile"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// gzipCase is a CAN data file just under or at/over the 2 KB threshold.
// Files are a 16-byte header and 21-byte records, so 96 frames make 2032
// bytes (under 2048) and 97 make 2053 (the first size at or over it).
type gzipCase struct {
	frames int
	gzip   bool
	quirk  string
}

var gzipCases = []gzipCase{{frames: 96, gzip: false, quirk: "gzip-threshold=1"}, {frames: 97, gzip: true, quirk: "gzip-threshold=4096"}}

func (c gzipCase) size() int { return 16 + canfile.RecordSize*c.frames }

func (c gzipCase) text(v Version) string {
	if c.gzip {
		return fmt.Sprintf("%s upload of a %d-byte file (at or over 2 KB) is gzip-compressed", v.Name, c.size())
	}
	return fmt.Sprintf("%s upload of a %d-byte file (under 2 KB) is sent uncompressed", v.Name, c.size())
}

// Appendix 1 §1: "When using HTTP or gRPC, if the data size is 2KB* or
// larger (fixed size), it shall be compressed using gzip." (2 KB = 2048
// bytes, register I-018.)
func (s *suite) gzip() {
	Describe("Appendix 1 §1 Data format over "+s.v.Name, func() {
		for _, c := range gzipCases {
			It(harness.SpecName("A1.1", c.text(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), harness.SpecTime(time.Minute), func(ctx SpecContext) {
				run := s.r()
				run.Requires(s.v.Cap, "data-upload")
				req := harness.Requirement{Clause: "Appendix 1 §1", Rule: "if the data size is 2KB or larger (fixed size), it shall be compressed using gzip"}
				s.speak()
				Expect(run.Send(ctx, canData(c.frames, 3)...)).To(Succeed())
				run.Wait(ctx, time.Second)
				_, keep := s.triggerUpload(ctx, true)
				first := s.firstAttempt(keep, 20*time.Second)
				enc := first.Header.Get("Content-Encoding")
				Expect(first.BodyLen).To(Equal(c.size()), req.String()+"\nsize of the uploaded file after decoding")
				if c.gzip {
					Expect(strings.EqualFold(enc, "gzip")).To(BeTrue(), "%s\nExpected:    Content-Encoding: gzip for %d bytes (threshold %d)\nActual:      Content-Encoding: %q, %d bytes on the wire", req, c.size(), spec.GzipThreshold, enc, first.RawBodyLen)
				} else {
					Expect(enc).To(BeEmpty(), "%s\nExpected:    no Content-Encoding for %d bytes (threshold %d)\nActual:      Content-Encoding: %q", req, c.size(), spec.GzipThreshold, enc)
				}
			})
		}
	})
}

func gzipQuirks(v Version) []harness.QuirkCase {
	var out []harness.QuirkCase
	for _, c := range gzipCases {
		out = append(out, harness.QuirkCase{Quirk: c.quirk, Specs: []string{harness.FormatName("A1.1", c.text(v))}})
	}
	return out
}
