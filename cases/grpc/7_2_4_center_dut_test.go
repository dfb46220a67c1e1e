package grpc_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/spec"
	"github.com/icoc-dev/icoc/spec/grpcpb"
	. "github.com/onsi/ginkgo/v2"
	"google.golang.org/protobuf/proto"
)

// centerCase is one center-DUT spec: the harness, playing the vehicle,
// makes calls and judges the answers.
type centerCase struct {
	id, text string
	rule     string
	quirks   []string // the reference center's quirks it catches (without the "center." prefix)
	// variants are the reference center's variants it must pass.
	variants []string
	body     func(ctx SpecContext, req harness.Requirement)
}

// pushHeldFor is how long (spec time) the center DUT must keep a push
// stream open.
const pushHeldFor = 3 * time.Second

// centerCovers is the spec time a center-DUT spec covers: a few round
// trips, and at most pushHeldFor of watching an open stream.
const centerCovers = pushHeldFor + 2*time.Second

func (c centerCase) name() string { return harness.FormatName(c.id, "center DUT: "+c.text) }

// requireCenter skips a center-DUT spec the profile does not apply to.
func requireCenter(caps ...string) {
	GinkgoHelper()
	if !run.Profile.HasRole("center") {
		Skip("not applicable: the DUT profile " + run.Profile.Name + " has no center role")
	}
	run.Requires(append([]string{"grpc"}, caps...)...)
}

// expectOK fails unless the call ended HTTP 200, grpc-status 0.
func expectOK(req harness.Requirement, c wireCall, what string) {
	GinkgoHelper()
	if code, ok := c.grpcStatus(); c.Err != nil || c.Status != 200 || !ok || code != 0 {
		fail(req, what+": HTTP 200, grpc-status 0", "%s", c)
	}
}

// expectRefused fails unless the call was refused with a Table 7-20 code
// whose Retry is No, other than OK (I-108), as the run's spec reads the
// table (the profile's spec.grpc_retry applied, I-027).
func expectRefused(req harness.Requirement, c wireCall, what string) {
	GinkgoHelper()
	code, ok := c.grpcStatus()
	row, known := run.Spec.GRPCStatusFor(code)
	if c.Status != 200 || !ok || !known || code == 0 || row.Retry {
		fail(req, what+": refused with a Table 7-20 code whose Retry is No (3, 7, 16, ...; I-108)", "%s", c)
	}
}

// decode unmarshals the i-th response message into m.
func decode(req harness.Requirement, c wireCall, i int, m proto.Message) {
	GinkgoHelper()
	if i >= len(c.Msgs) {
		fail(req, fmt.Sprintf("response message %d", i+1), "%s", c)
	}
	if err := proto.Unmarshal(c.Msgs[i].Data, m); err != nil {
		fail(req, fmt.Sprintf("response message %d a %T", i+1, m), "%v (%s)", err, c)
	}
}

func apiCall() []proto.Message {
	return []proto.Message{&grpcpb.ApiRequest{ApiId: 7, Data: []byte("request 0000000001")}}
}

var centerCases = []centerCase{
	{
		id: "7.2.4.4.1", text: "CanService.SendCans in two messages is answered OK with a CanResponse whose status is OK",
		rule:   "rpc SendCans(stream CanRequest) returns (CanResponse); Status status: OK (0): Normal",
		quirks: []string{"grpc-unimplemented=" + canPath},
		body: func(ctx SpecContext, req harness.Requirement) {
			requireCenter("data-upload")
			c := centerCall(ctx, canPath, []proto.Message{&grpcpb.CanRequest{Data: []byte("can data 1")}, &grpcpb.CanRequest{Data: []byte("can data 2")}}, callOpts{})
			expectOK(req, c, "SendCans")
			var r grpcpb.CanResponse
			decode(req, c, 0, &r)
			if len(c.Msgs) != 1 || r.GetStatus().GetStatus() != grpcpb.CanResponse_Status_OK {
				fail(req, "one CanResponse with status OK (an absent Status is OK in proto3)", "%d message(s), status %v", len(c.Msgs), r.GetStatus().GetStatus())
			}
		},
	},
	{
		id: "7.2.4.4.3", text: "ApiService.CallApi is answered OK with an ApiResponse whose status is OK and whose data is under 2048 bytes (Table 7-17)",
		rule:   "rpc CallApi(ApiRequest) returns (ApiResponse); data: Any data in the API response. It shall be less than 2048 bytes.",
		quirks: []string{"grpc-unimplemented=" + apiPath, "grpc-big-api-data"},
		body: func(ctx SpecContext, req harness.Requirement) {
			requireCenter("api-call")
			c := centerCall(ctx, apiPath, apiCall(), callOpts{})
			expectOK(req, c, "CallApi")
			var r grpcpb.ApiResponse
			decode(req, c, 0, &r)
			if n := len(r.GetStatus().GetData()); r.GetStatus().GetStatus() != grpcpb.ApiResponse_Status_OK || n > spec.GRPCRulesOf().AppDataMaxBytes {
				fail(req, "status OK and data of less than 2048 bytes", "status %v, data of %d bytes", r.GetStatus().GetStatus(), n)
			}
		},
	},
	{
		id: "7.2.4.4.4", text: "DIService.Download streams an offered 2.5 MB file in messages of about 1 MB that reassemble to it",
		rule:   "rpc Download(DIRequest) returns (stream DIResponse); 7.2.4.1: split [...] about 1MB (I-106)",
		quirks: []string{"grpc-unimplemented=" + dlPath},
		body: func(ctx SpecContext, req harness.Requirement) {
			requireCenter("data-download")
			if run.TLS.CenterDUT == nil {
				Skip("not applicable: the harness can offer a file only on the simulated center DUT; a real center's offered files are not known to the profile")
			}
			name := bench.DownloadFileName(4242)
			data := bench.BulkData(4242, 2_500_000)
			run.TLS.CenterDUT.Offer(name, data)
			c := centerCall(ctx, dlPath, []proto.Message{&grpcpb.DIRequest{Data: []byte(name)}}, callOpts{})
			expectOK(req, c, "Download")
			g := spec.GRPCRulesOf()
			var got []byte
			var sizes []int
			for i := range c.Msgs {
				var r grpcpb.DIResponse
				decode(req, c, i, &r)
				got = append(got, r.GetStatus().GetData()...)
				sizes = append(sizes, proto.Size(&r))
			}
			for i, n := range sizes {
				if n > g.SplitMaxBytes || i < len(sizes)-1 && n < g.SplitMinBytes {
					fail(req, fmt.Sprintf("messages of %d to %d bytes but the last (I-106)", g.SplitMinBytes, g.SplitMaxBytes), "message sizes %v", sizes)
				}
			}
			if !bytes.Equal(got, data) {
				fail(req, fmt.Sprintf("the data fields reassemble to the %d-byte file", len(data)), "%d bytes in %d messages", len(got), len(sizes))
			}
		},
	},
	{
		id: "7.2.4.4.2", text: "PushService.GetPushNotifications is accepted and kept open",
		rule:   "rpc GetPushNotifications(Request) returns (stream Response); Push from the center: Always-on connection (Table A2-1)",
		quirks: []string{"grpc-unimplemented=" + pushPath},
		body: func(ctx SpecContext, req harness.Requirement) {
			requireCenter("push")
			c := centerCall(ctx, pushPath, []proto.Message{&grpcpb.Request{}}, callOpts{readFor: max(run.Clock.Wall(pushHeldFor), time.Second)})
			if !c.Open || c.Status != 200 {
				fail(req, fmt.Sprintf("the stream accepted (HTTP 200) and still open after %v", pushHeldFor), "%s", c)
			}
		},
	},
	{
		id: "7.2.4.4", text: "a call without vehicle_id metadata is refused with a code that is not retried",
		rule:     "Vehicle identifier (vehicle_id) shall [...] be set as Meta-Data; 7.2.4.5: If the error is caused by a client-side specification, no retry is performed (I-108)",
		quirks:   []string{"grpc-no-vehicle-id-check"},
		variants: []string{"grpc-vehicle-id-unauthenticated"},
		body: func(ctx SpecContext, req harness.Requirement) {
			requireCenter("api-call")
			expectRefused(req, centerCall(ctx, apiPath, apiCall(), callOpts{noVehicleID: true}), "CallApi without vehicle_id")
		},
	},
	{
		id: "7.3", text: "a call whose vehicle_id has 15 characters is refused with a code that is not retried",
		rule:     "values (VIN) that can be used to identify vehicles shall be assigned for all communications (I-001, I-108)",
		quirks:   []string{"grpc-no-vehicle-id-check"},
		variants: []string{"grpc-vehicle-id-unauthenticated"},
		body: func(ctx SpecContext, req harness.Requirement) {
			requireCenter("api-call")
			expectRefused(req, centerCall(ctx, apiPath, apiCall(), callOpts{vehicleID: run.Profile.DUT.VIN[:15]}), "CallApi with a 15-character vehicle_id")
		},
	},
	{
		id: "6.4", text: "a call whose vehicle_id is not the VIN of its client certificate is refused with a code that is not retried",
		rule:     "the center side shall perform a validity check between in-Car unit (ECU) and vehicle (vehicle identifier) (I-108)",
		quirks:   []string{"grpc-no-vehicle-id-check"},
		variants: []string{"grpc-vehicle-id-unauthenticated"},
		body: func(ctx SpecContext, req harness.Requirement) {
			requireCenter("api-call")
			vin := run.Profile.DUT.VIN
			other := vin[:16] + "9"
			if vin[16] == '9' {
				other = vin[:16] + "8"
			}
			expectRefused(req, centerCall(ctx, apiPath, apiCall(), callOpts{vehicleID: other}), "CallApi with vehicle_id "+other+" over the certificate of "+vin)
		},
	},
	{
		id: "7.2.4.3", text: "content-type Application/GRPC+Proto is accepted (matched case-insensitively)",
		rule:   "application/grpc+proto. Complying with RFC6838, upper case and lower case shall not be distinguished as case-insensitive character strings.",
		quirks: []string{"grpc-case-sensitive-content-type"},
		body: func(ctx SpecContext, req harness.Requirement) {
			requireCenter("api-call")
			expectOK(req, centerCall(ctx, apiPath, apiCall(), callOpts{contentType: "Application/GRPC+Proto"}), "CallApi with content-type Application/GRPC+Proto")
		},
	},
	{
		id: "A1.1", text: "gzip-compressed messages are accepted (compressed flag 1, grpc-encoding gzip)",
		rule:   "When using HTTP or gRPC, if the data size is 2KB or larger (fixed size), it shall be compressed using gzip. (I-107)",
		quirks: []string{"grpc-no-gzip"},
		body: func(ctx SpecContext, req harness.Requirement) {
			requireCenter("data-upload")
			m := &grpcpb.CanRequest{Data: bench.BulkData(7, 3072)}
			expectOK(req, centerCall(ctx, canPath, []proto.Message{m, m}, callOpts{gzip: true}), "SendCans of two gzip-compressed 3 KiB messages")
		},
	},
	{
		id: "7.2.4.5", text: "every answer carries a grpc-status of Table 7-20: a good call, a refused call, an unknown method, an unknown service",
		rule:   "The response status code of gRPC and the necessity of retry are shown in Table 7-20.",
		quirks: []string{"grpc-unknown-method-http404"},
		body: func(ctx SpecContext, req harness.Requirement) {
			requireCenter("api-call")
			for _, c := range []struct {
				what string
				path string
				o    callOpts
			}{
				{"a good CallApi", apiPath, callOpts{}},
				{"CallApi without vehicle_id", apiPath, callOpts{noVehicleID: true}},
				{"an unknown method", "/ApiService/CallNothing", callOpts{}},
				{"an unknown service", "/NoSuchService/Call", callOpts{}},
			} {
				w := centerCall(ctx, c.path, apiCall(), c.o)
				code, ok := w.grpcStatus()
				if _, known := run.Spec.GRPCStatusFor(code); w.Status != 200 || !ok || !known {
					fail(req, c.what+": HTTP 200 with a grpc-status of Table 7-20 (0..16)", "%s", w)
				}
			}
		},
	},
}

// The center's side of 7.2.4: each service answers as its proto says
// (7.2.4.4), the vehicle identifier is checked (7.2.4.4, 7.3, 6.4, I-108),
// the content-type is matched case-insensitively (7.2.4.3), gzip is
// accepted (Appendix 1 §1), only Table 7-20 codes are sent (7.2.4.5), the
// API data and a download's split keep their limits (Table 7-17, 7.2.4.1).
var _ = Describe("7.2.4 gRPC, center DUT", func() {
	for _, c := range centerCases {
		It(harness.SpecName(c.id, "center DUT: "+c.text), harness.Labels(harness.GRPC, harness.CenterDUT), harness.SpecTime(centerCovers), func(ctx SpecContext) {
			c.body(ctx, harness.Requirement{Clause: c.id, Rule: c.rule})
		})
	}
})

// centerQuirks pairs each quirk of the reference center with the specs
// that must catch it; each failure must say what was expected and what
// came, and cite the clause its specs judge (where they share one).
func centerQuirks() []harness.QuirkCase {
	var g harness.Grouped
	for _, c := range centerCases {
		for _, q := range c.quirks {
			q = harness.CenterQuirkPrefix + q
			g.Add(q, c.name())
			g.Say(q, "Expected:", "Actual:")
			g.Cite(q, "Requirement: "+c.id+": ")
		}
	}
	return g.Quirks()
}

func centerVariants() []harness.VariantCase {
	var g harness.Grouped
	for _, c := range centerCases {
		for _, v := range c.variants {
			g.Add(harness.CenterQuirkPrefix+v, c.name())
		}
	}
	return g.Variants()
}
