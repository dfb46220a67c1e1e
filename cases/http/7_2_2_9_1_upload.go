package httpcases

import (
	"fmt"
	"path"
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
		It(harness.SpecName("7.2.2.9.1", uploadIntactText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), harness.SpecTime(time.Minute), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-upload")
			req := harness.Requirement{Clause: "7.2.2.9.1, 7.3",
				Rule: "POST /files/{filename} with header vehicle_id and the data as application/octet-stream; 200 Successfully file uploaded"}
			s.speak()
			sent := canData(200, 7)
			Expect(run.Send(ctx, sent...)).To(Succeed())
			// Let the frames cross the bus before the trigger does.
			run.Wait(ctx, time.Second)
			_, keep := s.triggerUpload(ctx, true)
			first := s.firstAttempt(keep, 20*time.Second)
			Expect(first.Proto).To(Equal(s.v.Proto), req.String()+"\nprotocol of the upload")

			Eventually(func() int { return run.Recorder.Attempts(keep)[0].Status }).
				WithTimeout(run.Clock.Wall(10*time.Second)).Should(Equal(200), req.String()+"\nthe center's answer to the upload")
			Expect(first.Header.Get("vehicle_id")).To(Equal(run.Profile.DUT.VIN), req.String()+"\nvehicle_id header")

			name := path.Base(first.Path)
			var stored []byte
			for _, f := range run.Center.Store().Files() {
				if f.Name == name {
					stored = f.Data
				}
			}
			Expect(stored).NotTo(BeNil(), req.String()+"\nthe center stored no file named %s", name)
			records, err := canfile.Decode(stored)
			Expect(err).NotTo(HaveOccurred(), req.String()+"\nthe uploaded file does not decode as a CAN data file")
			got := make([]can.Frame, len(records))
			for i, r := range records {
				got[i] = r.Frame
			}
			Expect(got).To(Equal(sent), fmt.Sprintf("%s\nframes put on the bus (%d) vs frames in the uploaded file (%d)", req, len(sent), len(got)))
		})
	})
}
