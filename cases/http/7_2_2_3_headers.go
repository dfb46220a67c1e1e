package httpcases

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
)

// headerCase is one rule of 7.2.2.3 checked on the headers of an upload.
type headerCase struct {
	text  string
	quirk string
	// quirk2, when set, is a second quirk the spec must catch.
	quirk2 string
	rule   string
	check  func(h http.Header, vin string) (ok bool, expected, actual string)
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
		quirk: "no-vehicle-id", quirk2: "no-vehicle-id-on-retry",
		rule: "The vehicle identifier shall be assigned as a custom header.",
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
// 7.2.2.3"). Each rule is one spec, judged on every attempt of an upload:
// the center answers the first attempt 503 (Table 7-8: Retry Yes), so the
// DUT's first retry is judged too.
func (s *suite) headers() {
	Describe("7.2.2.3 Header definition over "+s.v.Name, func() {
		for _, c := range headerCases {
			It(harness.SpecName("7.2.2.3", s.v.Name+" upload: "+c.text), harness.Labels(s.v.Label, harness.VehicleDUT), func(ctx SpecContext) {
				run := s.r()
				run.Requires(s.v.Cap, "data-upload")
				req := harness.Requirement{Clause: "7.2.2.3", Rule: c.rule}
				s.speak()
				run.Faults.Set(center.Fault{Times: 1, Status: 503, PathPrefix: "/files/"})
				st := s.triggerUpload(ctx, true)
				rule, _ := spec.RetryRuleFor("upload-realtime")
				s.settleAfter(st, rule.Interval+run.Profile.Tolerance.Allowed(rule.Interval), time.Minute)
				within := 20*time.Second + rule.Interval + run.Profile.Tolerance.Allowed(rule.Interval)
				attempts := s.awaitAttempts(req, st, 2, within)
				var bad []string
				var expected string
				for i, a := range attempts {
					ok, exp, act := c.check(a.Header, run.Profile.DUT.VIN)
					expected = exp
					if !ok {
						bad = append(bad, fmt.Sprintf("attempt #%d (%s): %s", i+1, retryWord(i), act))
					}
				}
				if len(bad) > 0 {
					Fail(harness.Verdict(req, expected+", on every attempt (the first answered 503, then its retry)", strings.Join(bad, "\n")))
				}
			})
		}
	})
}

// vehicleIDHeaderName is the name of the vehicle_id spec of version v.
func vehicleIDHeaderName(v Version) string {
	for _, c := range headerCases {
		if c.quirk == "no-vehicle-id" {
			return headerName(v, c)
		}
	}
	panic("no vehicle_id header case")
}

func retryWord(i int) string {
	if i == 0 {
		return "first attempt"
	}
	return fmt.Sprintf("retry %d", i)
}

func headerQuirks(v Version) []harness.QuirkCase {
	var out []harness.QuirkCase
	for _, c := range headerCases {
		out = append(out, harness.QuirkCase{Quirk: c.quirk, Specs: []string{headerName(v, c)}})
		if c.quirk2 != "" {
			out = append(out, harness.QuirkCase{Quirk: c.quirk2, Specs: []string{headerName(v, c)}})
		}
	}
	return out
}
