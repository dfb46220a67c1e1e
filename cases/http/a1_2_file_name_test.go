package http_test

import (
	"path"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/vehicle"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var fileNameName = harness.SpecName("A1.2",
	"the uploaded CAN data file is named YYYYMMDD_HHMMSS_<generation>_<function>_<counter>_<request ID>_<trigger>.<extension>, in UTC, lower-case extension")

// Appendix 1 §2 File name: "YYYYMMDD_HHMMSS_<generation>_<function>_<counter
// value>_<request ID>_<trigger identifier>.<extension>" [...] "<request ID>
// shall be set by the request ID which is set in the requested command."
// [...] "The extension should be in lower case" [...] "The date and time
// shall be as follows based on UTC (RFC3339)."
var _ = Describe("Appendix 1 §2 File name", func() {
	It(fileNameName, harness.Labels(harness.HTTP1, harness.VehicleDUT), func(ctx SpecContext) {
		run.Requires("http1.1", "data-upload")
		req := harness.Requirement{Clause: "Appendix 1 §2",
			Rule: "YYYYMMDD_HHMMSS_<generation>_<function>_<counter value>_<request ID>_<trigger identifier>.<extension>; extension in lower case; date and time in UTC"}
		before := time.Now().UTC().Truncate(time.Second)
		id, keep := triggerUpload(ctx, true)
		first := firstAttempt(keep, 20*time.Second)
		after := time.Now().UTC()

		name := path.Base(first.Path)
		fn, err := spec.ParseFileName(name)
		Expect(err).NotTo(HaveOccurred(), req.String()+"\nfile name %q", name)
		Expect(fn.RequestID).To(Equal(vehicle.RequestIDText(id)), req.String()+"\nrequest ID of the CAN trigger")
		Expect(fn.Trigger).To(Equal("c"), req.String()+"\ntrigger identifier of a CAN trigger")
		Expect(fn.Extension).To(Equal(strings.ToLower(fn.Extension)), req.String())
		Expect(fn.Time).To(BeTemporally(">=", before.Add(-2*time.Second)), req.String()+"\ntime of the file vs time of the trigger (UTC)")
		Expect(fn.Time).To(BeTemporally("<=", after.Add(2*time.Second)), req.String()+"\ntime of the file vs time of the trigger (UTC)")
	})
})
