package grpc_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// bulkKiB is the size of the bulk upload of the split spec: above the
// 1.25 MiB a single message may carry (I-106).
const bulkKiB = 1600

// splitWithin is how long the split spec waits for the bulk upload's call,
// then again for its answer (spec time).
const splitWithin = 60 * time.Second

var splitName = harness.SpecName("7.2.4.1",
	fmt.Sprintf("an upload of %d KiB is split by client streaming into messages of about 1 MB (from their length prefixes) that reassemble to the file", bulkKiB))

// 7.2.4.1: "As for the data size such as video by gRPC, when sending binary
// files exceeding MB, split the suitable size by Client Streaming at
// in-Car unit side [...] the preferred split size should be about 1MB."
// Register I-106: every message but the last between 768 KiB and 1.25 MiB
// of serialized message. The bulk file comes from the bench's
// BulkUploadTrigger (its content is bench.BulkData), so the harness knows
// what must arrive.
var _ = Describe("7.2.4.1 Client-streaming split", func() {
	It(splitName, harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(2*splitWithin), func(ctx SpecContext) {
		requireVehicle("data-upload")
		g := spec.GRPCRulesOf()
		req := harness.Requirement{Clause: "7.2.4.1 (I-106)", Rule: "when sending binary files exceeding MB, split the suitable size by Client Streaming at in-Car unit side [...] the preferred split size should be about 1MB"}
		id := harness.NextRequestID()
		since := time.Now()
		Expect(run.TriggerBulkUpload(ctx, bulkKiB, id)).To(Succeed())
		waitCalls(req, onPath(since, canPath), 1, splitWithin, "a SendCans call after the bulk-upload trigger")
		calls := waitAnswered(req, onPath(since, canPath), splitWithin)
		a := calls[0]
		var sizes []int
		for _, m := range a.Messages {
			sizes = append(sizes, m.Size)
		}
		expected := fmt.Sprintf("several messages, each but the last of %d to %d bytes, the last at most %d (I-106)", g.SplitMinBytes, g.SplitMaxBytes, g.SplitMaxBytes)
		if len(sizes) < 2 {
			fail(req, expected, "%d message(s) of %v bytes", len(sizes), sizes)
		}
		for i, n := range sizes {
			if n > g.SplitMaxBytes || i < len(sizes)-1 && n < g.SplitMinBytes {
				fail(req, expected, "message sizes %v bytes (serialized; %s)", sizes, a.Outcome())
			}
		}
		if a.Code != 0 || a.Abandoned {
			fail(req, "the upload answered OK by the harness's center", "%s", a.Outcome())
		}
		want := bench.BulkData(id, bulkKiB*1024)
		for _, f := range run.Center.Store().Files() {
			if bytes.Equal(f.Data, want) {
				return
			}
		}
		fail(req, fmt.Sprintf("the data fields, in order, reassemble to the %d-byte file", len(want)), "no stored upload equals it (%d message(s) of %v bytes)", len(sizes), sizes)
	})
})
