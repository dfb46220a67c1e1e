package grpc_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
)

// headerCase is one rule of 7.2.4.3 or 7.2.4.4 checked on the metadata of
// every call the DUT makes.
type headerCase struct {
	id, text string
	rule     string
	// download says whether the spec also asks for a download.
	download bool
	check    func(a harness.Attempt, vin string) (ok bool, expected, actual string)
}

var (
	contentTypeName = harness.FormatName("7.2.4.3", "gRPC content-type application/grpc+proto (any letter case) on every call")
	userAgentName   = harness.FormatName("7.2.4.3", "gRPC user-agent: the product identifier, a space, then the gRPC library and its version (v1.20 or later)")
	vehicleIDName   = harness.FormatName("7.2.4.4", "vehicle_id metadata, the VIN, on every call: upload, API call, download and the push stream")
)

// grpcLibRe matches a gRPC library's product token: grpc-go/1.85.0,
// grpc-java-netty/1.62.2, grpc-c/41.0.0 (its own numbering), grpc-dotnet/2.x.
var grpcLibRe = regexp.MustCompile(`^grpc-[A-Za-z0-9.+-]+/(\d+)\.(\d+)`)

// checkGRPCUserAgent checks 7.2.4.3 ("Product identifier and gPRC
// recommended library name shall be set to user-agent in space-separated
// format"), the 7.2.2.3 content rules it inherits (I-039), and 7.2.4.1's
// v1.20 where the library is grpc-go or grpc-java (whose versions follow
// gRPC's).
func checkGRPCUserAgent(ua string) error {
	if err := spec.CheckUserAgent(ua); err != nil {
		return err
	}
	fields := strings.Fields(ua)
	if grpcLibRe.MatchString(fields[0]) {
		return fmt.Errorf("the first product %q is the gRPC library: no product identifier before it", fields[0])
	}
	for _, f := range fields[1:] {
		m := grpcLibRe.FindStringSubmatch(f)
		if m == nil {
			continue
		}
		major, _ := strconv.Atoi(m[1])
		minor, _ := strconv.Atoi(m[2])
		lib := strings.SplitN(f, "/", 2)[0]
		if (lib == "grpc-go" || strings.HasPrefix(lib, "grpc-java")) && (major < 1 || major == 1 && minor < 20) {
			return fmt.Errorf("%s: gRPC v1.20 or later is required (7.2.4.1)", f)
		}
		return nil
	}
	return fmt.Errorf("no gRPC library product (grpc-<lang>/<version>) after the product identifier")
}

var headerCases = []headerCase{
	{
		id: "7.2.4.3", text: strings.TrimPrefix(contentTypeName, "[7.2.4.3] "),
		rule: "For content-type, set the following when the media type needs to be specified. application/grpc+proto. Complying with RFC6838, upper case and lower case shall not be distinguished (I-037)",
		check: func(a harness.Attempt, _ string) (bool, string, string) {
			ct := a.Header.Get("Content-Type")
			return spec.IsGRPCContentType(ct), "application/grpc+proto or application/grpc (I-037), any case", fmt.Sprintf("content-type %q", ct)
		},
	},
	{
		id: "7.2.4.3", text: strings.TrimPrefix(userAgentName, "[7.2.4.3] "),
		rule: "Product identifier and gPRC recommended library name shall be set to user-agent in space-separated format. e.g.) user-agent: <product identifier> grpc-go/1.32.0-dev; 7.2.4.1: The gRPC version to be supported is v1.20 or later.",
		check: func(a harness.Attempt, _ string) (bool, string, string) {
			ua := a.Header.Get("User-Agent")
			err := checkGRPCUserAgent(ua)
			return err == nil, "<product identifier> <grpc library>/<version>", fmt.Sprintf("user-agent %q: %v", ua, err)
		},
	},
	{
		id: "7.2.4.4", text: strings.TrimPrefix(vehicleIDName, "[7.2.4.4] "), download: true,
		rule: "Vehicle identifier (vehicle_id) shall not be set in proto file and shall be set as Meta-Data (I-024); 7.3: values (VIN) that can be used to identify vehicles shall be assigned for all communications",
		check: func(a harness.Attempt, vin string) (bool, string, string) {
			got := a.Header.Values("vehicle_id")
			ok := len(got) == 1 && got[0] == vin && (a.AnsweredAt.IsZero() || a.Code == 0)
			return ok, fmt.Sprintf("vehicle_id: %s, and the call accepted by the harness's center (which refuses a proto field vehicle_id that differs, I-024)", vin),
				fmt.Sprintf("vehicle_id: %q, %s", got, a.Outcome())
		},
	},
}

// 7.2.4.3 Header Definition and 7.2.4.4's vehicle identifier, on every call
// the DUT makes: an upload, an API call (and a download for vehicle_id),
// and the push stream it holds.
var _ = Describe("7.2.4.3 Header definition and 7.2.4.4 vehicle_id", func() {
	// within is the wait for the calls, then again for their answers; the
	// push stream may take pushWithin more.
	const within = 30 * time.Second
	for _, c := range headerCases {
		It(harness.SpecName(c.id, c.text), harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(2*within+pushWithin), func(ctx SpecContext) {
			requireVehicle("data-upload", "api-call")
			req := harness.Requirement{Clause: c.id, Rule: c.rule}
			t0 := triggerUpload(ctx, true)
			triggerAPICall(ctx)
			paths := []string{canPath, apiPath}
			if c.download && run.Profile.Has("data-download") {
				triggerDownload(ctx, 4096)
				paths = append(paths, dlPath, dlAlias)
			}
			want := len(paths)
			if c.download {
				want--
			}
			waitCalls(req, onPath(t0, paths...), want, within, fmt.Sprintf("%d calls (%s)", want, strings.Join(paths, ", ")))
			calls := waitAnswered(req, onPath(t0, paths...), within)
			if run.Profile.Has("push") {
				calls = append(calls, openPush(req))
			}
			for _, a := range calls {
				if ok, expected, actual := c.check(a, run.Profile.DUT.VIN); !ok {
					fail(req, expected, "%s on %s", actual, a.Path)
				}
			}
		})
	}
})

func headerQuirks() []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "grpc-content-subtype=xproto", Specs: []string{contentTypeName}},
		{Quirk: "grpc-ua-no-product", Specs: []string{userAgentName}},
		{Quirk: "grpc-no-vehicle-id", Specs: []string{vehicleIDName}},
		{Quirk: "grpc-push-no-vehicle-id", Specs: []string{vehicleIDName}},
	}
}
