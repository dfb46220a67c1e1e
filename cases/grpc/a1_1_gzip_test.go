package grpc_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var gzipName = harness.SpecName("A1.1", "gRPC messages of 2048 bytes or more travel gzip-compressed (compressed flag 1, grpc-encoding gzip)")

// Appendix 1 §1: "When using HTTP or gRPC, if the data size is 2KB* or
// larger (fixed size), it shall be compressed using gzip." Register I-018
// (2048 bytes) and I-107 (judged per length-prefixed message; smaller ones
// may be compressed or not). A 3 KiB bulk upload gives a message above the
// threshold, an API call one below it.
var _ = Describe("Appendix 1 §1 gzip over gRPC", func() {
	// within is the wait for the two calls, then again for their answers.
	const within = 30 * time.Second
	It(gzipName, harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(2*within), func(ctx SpecContext) {
		requireVehicle("data-upload")
		req := harness.Requirement{Clause: "Appendix 1 §1 (I-018, I-107)", Rule: "When using HTTP or gRPC, if the data size is 2KB or larger (fixed size), it shall be compressed using gzip."}
		since := time.Now()
		Expect(run.TriggerBulkUpload(ctx, 3, harness.NextRequestID())).To(Succeed())
		triggerAPICall(ctx)
		waitCalls(req, onPath(since, canPath, apiPath), 2, within, "a SendCans and a CallApi call")
		calls := waitAnswered(req, onPath(since, canPath, apiPath), within)
		big := 0
		for _, a := range calls {
			enc := a.Header.Get("grpc-encoding")
			for i, m := range a.Messages {
				if m.Size >= spec.GzipThreshold {
					big++
				}
				if m.Size >= spec.GzipThreshold && !m.Compressed || m.Compressed && !strings.EqualFold(enc, "gzip") {
					fail(req, fmt.Sprintf("a message of %d bytes or more with compressed flag 1, and grpc-encoding gzip on its call", spec.GzipThreshold),
						"%s message %d: %d bytes, compressed flag %v, grpc-encoding %q", a.Path, i+1, m.Size, m.Compressed, enc)
				}
			}
		}
		if big == 0 {
			fail(req, fmt.Sprintf("a message of %d bytes or more from the 3 KiB upload", spec.GzipThreshold), "none:\n%s", harness.Timeline(calls, run.Clock))
		}
	})
})
