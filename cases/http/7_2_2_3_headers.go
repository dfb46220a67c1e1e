package httpcases

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// headerCase is one rule of 7.2.2.3 checked on the headers of an upload.
type headerCase struct {
	text  string
	quirk string
	rule  string
	check func(h http.Header, vin string) (ok bool, expected, actual string)
}

var headerCases = []headerCase{
	{
		text:  "Content-Type is one of the four media types",
		quirk: "content-type=application/x-can",
		rule:  "The following media types are supported [...] application/octet-stream, application/x-protobuf, application/json, text/plain [...] and must be specified in \"Content-Type\"",
		check: func(h http.Header, _ string) (bool, string, string) {
			ct := h.Get("Content-Type")
			return spec.IsMediaType(ct), "one of " + strings.Join(spec.MediaTypes(), ", ") + " (case-insensitive)", fmt.Sprintf("Content-Type %q", ct)
		},
	},
	{
		text:  "User-Agent is the product identifier and carries no IMEI, GUID or TCON",
		quirk: "ua-imei",
		rule:  "The product identifier shall consist of the identification information of the product (ECU) (information management key), the version of the product, and sub-product information [...] IMEI, GUID, TCON, etc. shall not be embeded in User-Agent header fields.",
		check: func(h http.Header, _ string) (bool, string, string) {
			ua := h.Get("User-Agent")
			err := spec.CheckUserAgent(ua)
			return err == nil, "a product identifier per 7.2.2.3", fmt.Sprintf("User-Agent %q: %v", ua, err)
		},
	},
	{
		text:  "the vehicle identifier is sent as the custom header vehicle_id",
		quirk: "no-vehicle-id",
		rule:  "The vehicle identifier shall be assigned as a custom header.",
		check: func(h http.Header, vin string) (bool, string, string) {
			got := h.Values("vehicle_id")
			return len(got) == 1 && got[0] == vin, fmt.Sprintf("vehicle_id: %s", vin), fmt.Sprintf("vehicle_id: %q", got)
		},
	},
	{
		text:  "no proprietary HMAC authentication header",
		quirk: "hmac-header",
		rule:  "Do not use proprietary header fields such as [...] Fields for Hmac authentication such as X-D-Authenticate, X-Y-Authentication, etc.",
		check: func(h http.Header, _ string) (bool, string, string) {
			var bad []string
			for k := range h {
				if spec.IsProprietaryAuthHeader(k) {
					bad = append(bad, k)
				}
			}
			return len(bad) == 0, "no X-*-Authenticate/Authentication header", fmt.Sprintf("headers %v", bad)
		},
	},
}

func headerName(v Version, c headerCase) string {
	return harness.FormatName("7.2.2.3", v.Name+" upload: "+c.text)
}

// 7.2.2.3 Header Definition (HTTP/2: 7.2.3.3 "Request header and response
// header of HTTP/2 shall conform to the specifications (RFC) shown in
// 7.2.2.3"). Each rule is one spec, judged on the first upload's headers.
func (s *suite) headers() {
	Describe("7.2.2.3 Header definition over "+s.v.Name, func() {
		for _, c := range headerCases {
			It(harness.SpecName("7.2.2.3", s.v.Name+" upload: "+c.text), harness.Labels(s.v.Label, harness.VehicleDUT), harness.SpecTime(time.Minute), func(ctx SpecContext) {
				run := s.r()
				run.Requires(s.v.Cap, "data-upload")
				req := harness.Requirement{Clause: "7.2.2.3", Rule: c.rule}
				s.speak()
				_, keep := s.triggerUpload(ctx, true)
				first := s.firstAttempt(keep, 20*time.Second)
				ok, expected, actual := c.check(first.Header, run.Profile.DUT.VIN)
				Expect(ok).To(BeTrue(), "%s\nExpected:    %s\nActual:      %s", req, expected, actual)
			})
		}
	})
}

func headerQuirks(v Version) []harness.QuirkCase {
	var out []harness.QuirkCase
	for _, c := range headerCases {
		out = append(out, harness.QuirkCase{Quirk: c.quirk, Specs: []string{headerName(v, c)}})
	}
	return out
}
