package httpcases

import (
	"path"
	"strconv"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func fileNameText(v Version) string {
	return v.Name + " upload: the CAN data file is named YYYYMMDD_HHMMSS_<generation>_<function>_<counter>_<request ID>_<trigger>.<extension>, in UTC, lower-case extension"
}

func fileNameName(v Version) string { return harness.FormatName("A1.2", fileNameText(v)) }

// Appendix 1 §2 File name: "YYYYMMDD_HHMMSS_<generation>_<function>_<counter
// value>_<request ID>_<trigger identifier>.<extension>" [...] "<request ID>
// shall be set by the request ID which is set in the requested command."
// [...] "The extension should be in lower case" [...] "The date and time
// shall be as follows based on UTC (RFC3339)."
func (s *suite) fileName() {
	Describe("Appendix 1 §2 File name over "+s.v.Name, func() {
		It(harness.SpecName("A1.2", fileNameText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), harness.SpecTime(time.Minute), func(ctx SpecContext) {
			s.r().Requires(s.v.Cap, "data-upload")
			req := harness.Requirement{Clause: "Appendix 1 §2",
				Rule: "YYYYMMDD_HHMMSS_<generation>_<function>_<counter value>_<request ID>_<trigger identifier>.<extension>; extension in lower case; date and time in UTC"}
			s.speak()
			before := time.Now().UTC().Truncate(time.Second)
			id, keep := s.triggerUpload(ctx, true)
			first := s.firstAttempt(keep, 20*time.Second)
			after := time.Now().UTC()

			name := path.Base(first.Path)
			fn, err := spec.ParseFileName(name)
			Expect(err).NotTo(HaveOccurred(), req.String()+"\nfile name %q", name)
			got, err := strconv.ParseUint(fn.RequestID, 10, 32)
			Expect(err == nil && uint32(got) == id).To(BeTrue(), "%s\nExpected:    request ID %d (the CAN trigger's)\nActual:      %q", req, id, fn.RequestID)
			Expect(fn.Trigger).To(Equal("c"), req.String()+"\ntrigger identifier of a CAN trigger")
			Expect(fn.Time).To(BeTemporally(">=", before.Add(-2*time.Second)), req.String()+"\ntime of the file vs time of the trigger (UTC)")
			Expect(fn.Time).To(BeTemporally("<=", after.Add(2*time.Second)), req.String()+"\ntime of the file vs time of the trigger (UTC)")
		})
	})
}
