package httpcases

import (
	"fmt"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/canfile"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// gzipCase is a CAN data file just under or at/over the 2 KB threshold.
// Files are a 16-byte header and 21-byte records, so 96 frames make 2032
// bytes (under 2048) and 97 make 2053 (the first size at or over it,
// register I-057).
type gzipCase struct {
	frames int
	// required: the file is at or over the threshold, so gzip is required;
	// under it the DUT may compress or not (I-018, I-061).
	required bool
	quirks   []string
}

var gzipCases = []gzipCase{
	{frames: 96, required: false, quirks: []string{"fake-gzip"}},
	{frames: 97, required: true, quirks: []string{"gzip-threshold=4096", "fake-gzip"}},
}

func (c gzipCase) size() int { return 16 + canfile.RecordSize*c.frames }

func (c gzipCase) text(v Version) string {
	if c.required {
		return fmt.Sprintf("%s upload of a %d-byte file (at or over 2 KB) is gzip-compressed, and the body labelled gzip is gzip", v.Name, c.size())
	}
	return fmt.Sprintf("%s upload of a %d-byte file (under 2 KB) may be compressed or not, and a body labelled gzip is gzip (I-061)", v.Name, c.size())
}

func (c gzipCase) name(v Version) string { return harness.FormatName("A1.1", c.text(v)) }

// Appendix 1 §1: "When using HTTP or gRPC, if the data size is 2KB* or
// larger (fixed size), it shall be compressed using gzip." (2 KB = 2048
// bytes, register I-018; below it gzip is allowed, not required, I-061.)
// RFC 9110 §8.4: a Content-Encoding names the coding applied to the
// content, so a body labelled gzip must decode as gzip.
func (s *suite) gzip() {
	Describe("Appendix 1 §1 Data format over "+s.v.Name, func() {
		for _, c := range gzipCases {
			It(harness.SpecName("A1.1", c.text(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), func(ctx SpecContext) {
				run := s.r()
				run.Requires(s.v.Cap, "data-upload")
				req := harness.Requirement{Clause: "Appendix 1 §1 (I-018, I-061)", Rule: "if the data size is 2KB or larger (fixed size), it shall be compressed using gzip"}
				s.speak()
				Expect(run.Send(ctx, canData(c.frames, 3)...)).To(Succeed(), "putting CAN data on the bus")
				run.Wait(ctx, time.Second)
				st := s.triggerUpload(ctx, true)
				first := s.awaitAnswered(req, st, 0, 20*time.Second)
				// The profile's threshold (spec.gzip_threshold_bytes, I-018).
				threshold := run.Spec.Options.GzipThresholdBytes
				need := c.size() >= threshold
				enc := first.Header.Get("Content-Encoding")
				gz := strings.EqualFold(enc, "gzip")
				seen := fmt.Sprintf("Content-Encoding: %q, %d bytes on the wire, %d bytes after decoding", enc, first.RawBodyLen, first.BodyLen)
				switch {
				case gz && first.DecodeErr != "":
					Fail(harness.Verdict(req, "a body labelled Content-Encoding: gzip is gzip data (RFC 9110 §8.4)", seen+"; it does not decode: "+first.DecodeErr))
				case need && !gz:
					Fail(harness.Verdict(req, fmt.Sprintf("Content-Encoding: gzip for a %d-byte file (threshold %d bytes)", c.size(), threshold), seen))
				case enc != "" && !gz:
					Fail(harness.Verdict(req, "no Content-Encoding, or gzip", seen))
				case first.BodyLen != c.size():
					Fail(harness.Verdict(req, fmt.Sprintf("the %d-byte file (%d frames) after decoding", c.size(), c.frames), seen))
				}
			})
		}
	})
}

func gzipQuirks(v Version) []harness.QuirkCase {
	var out []harness.QuirkCase
	for _, c := range gzipCases {
		for _, q := range c.quirks {
			out = append(out, harness.QuirkCase{Quirk: q, Specs: []string{c.name(v)}})
		}
	}
	return out
}

// gzipVariants: compressing below 2 KB too is allowed (I-018, I-061).
func gzipVariants(v Version) []harness.VariantCase {
	var names []string
	for _, c := range gzipCases {
		names = append(names, c.name(v))
	}
	return []harness.VariantCase{{Variant: "gzip-always", Specs: names}}
}
