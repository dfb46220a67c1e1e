package httpcases

import (
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/canfile"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.einride.tech/can"
)

func uploadIntactText(v Version) string {
	return v.Name + " data upload: the CAN data taken off the bus arrives at the center intact, in order, once"
}

func uploadIntactName(v Version) string { return harness.FormatName("7.2.2.9.1", uploadIntactText(v)) }

// canData is a recognisable run of ordinary CAN data frames.
func canData(n int, seed byte) []can.Frame {
	frames := make([]can.Frame, n)
	for i := range frames {
		f := can.Frame{ID: 0x300 + uint32(i%16), Length: 8}
		for j := range f.Data {
			f.Data[j] = seed + byte(i) + byte(j)*17
		}
		frames[i] = f
	}
	return frames
}

// 7.2.2.9.1 Data Uploading: "paths: /files/{filename}: post: operationId:
// uploadCANDataFile [...] in: header name: vehicle_id [...] requestBody:
// content: application/octet-stream [...] '200': Successfully file uploaded".
// 7.3: "values (VIN) that can be used to identify vehicles shall be
// assigned for all communications to TSC." 7.2.3.9.1 (HTTP/2): "Conform to
// HTTP/1.1 specification (7.2.2.9.1)".
func (s *suite) upload() {
	Describe("7.2.2.9.1 Data uploading over "+s.v.Name, func() {
		It(harness.SpecName("7.2.2.9.1", uploadIntactText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-upload")
			req := harness.Requirement{Clause: "7.2.2.9.1, 7.3",
				Rule: "POST /files/{filename} with header vehicle_id and the data as application/octet-stream; 200 Successfully file uploaded"}
			s.speak()
			sent := canData(200, 7)
			Expect(run.Send(ctx, sent...)).To(Succeed())
			// Let the frames cross the bus before the trigger does.
			run.Wait(ctx, time.Second)
			st := s.triggerUpload(ctx, true)
			first := s.awaitAnswered(req, st, 0, 30*time.Second)
			s.expectProto(req, first)
			expectStatus(req, first, 200, "Successfully file uploaded")
			expectVehicleID(req, st.attempts(run), run.Profile.DUT.VIN)

			name := path.Base(first.Path)
			var stored []byte
			for _, f := range run.Center.Store().Files() {
				if f.Name == name {
					stored = f.Data
				}
			}
			if stored == nil {
				Fail(harness.Verdict(req, "the center stores the uploaded file "+name, "it stored no file of that name"))
			}
			records, err := canfile.Decode(stored)
			if err != nil {
				Fail(harness.Verdict(req, "the uploaded file decodes as a CAN data file (simulator/canfile/FORMAT.md)", fmt.Sprintf("%d bytes: %v", len(stored), err)))
			}
			got := make([]can.Frame, len(records))
			for i, r := range records {
				got[i] = r.Frame
			}
			if !slices.EqualFunc(got, sent, framesEqual) {
				Fail(harness.Verdict(req, fmt.Sprintf("the %d frames put on the bus, in order, once, with their data", len(sent)), describeFrameDiff(sent, got)))
			}
		})
	})
}

func framesEqual(a, b can.Frame) bool { return a == b }

// describeFrameDiff says where the frames in the file first differ from
// those sent.
func describeFrameDiff(sent, got []can.Frame) string {
	for i := range min(len(sent), len(got)) {
		if sent[i] != got[i] {
			return fmt.Sprintf("%d frames in the file; frame #%d differs: sent %v, in the file %v", len(got), i+1, sent[i], got[i])
		}
	}
	return fmt.Sprintf("%d frames in the file, %d sent; the first %d agree", len(got), len(sent), min(len(sent), len(got)))
}
