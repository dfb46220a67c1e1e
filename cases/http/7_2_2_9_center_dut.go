package httpcases

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/spec/openapi"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// badRequest is one request a center DUT must refuse with a 4xx and an
// ERROR Result (7.2.2.9.1's Result schema), or, for good, accept with 200
// SUCCESS.
type badRequest struct {
	text   string
	quirk  string // the reference center's quirk this spec catches
	path   string
	header map[string]string
	body   []byte
	want   int // 0: any 4xx
	good   bool
}

const goodFile = "20260601_120000_D24_001_00_0000000001_c.bin"

func centerRequests(vin string) []badRequest {
	base := func() map[string]string {
		return map[string]string{"vehicle_id": vin, "Content-Type": "application/octet-stream"}
	}
	with := func(k, v string) map[string]string {
		h := base()
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	return []badRequest{
		{text: "a good upload gets 200 and a SUCCESS Result", quirk: "no-result-body", path: "/files/" + goodFile, header: base(), body: []byte("can"), want: 200, good: true},
		{text: "an upload without vehicle_id gets 400 and an ERROR Result", quirk: "no-vehicle-id-check", path: "/files/" + goodFile, header: with("vehicle_id", ""), body: []byte("can"), want: 400},
		{text: "an upload whose vehicle_id has 15 characters gets 400 and an ERROR Result", quirk: "no-vehicle-id-check", path: "/files/" + goodFile, header: with("vehicle_id", vin[:15]), body: []byte("can"), want: 400},
		{text: "an upload whose vehicle_id is not the client certificate's VIN gets 400 and an ERROR Result", quirk: "no-vehicle-id-check", path: "/files/" + goodFile, header: with("vehicle_id", vin[:16]+"9"), body: []byte("can"), want: 400},
		{text: "an upload of an unsupported media type gets 415 and an ERROR Result", quirk: "any-media-type", path: "/files/" + goodFile, header: with("Content-Type", "image/png"), body: []byte("can"), want: 415},
		{text: "a request to a path no API has gets 404 and an ERROR Result", quirk: "catch-all-path", path: "/nowhere/" + goodFile, header: base(), body: []byte("can"), want: 404},
		{text: "an upload whose body claims gzip but is not gets 400 and an ERROR Result", quirk: "ignore-bad-gzip", path: "/files/" + goodFile, header: with("Content-Encoding", "gzip"), body: []byte("not gzip"), want: 400},
	}
}

func centerRequestName(v Version, c badRequest) string {
	return harness.FormatName("7.2.2.9.1", v.Name+" center DUT: "+c.text)
}

// 7.2.2.9.1 (HTTP/2: 7.2.3.9.1) Data uploading, the center's side: the
// Result schema ("status: enum: SUCCESS, ERROR; messages"), "'400': Invalid
// request"; 7.2.2.3 media types; 7.3 and 6.4 ("the center side shall
// perform a validity check between in-Car unit (ECU) and vehicle (vehicle
// identifier)"); Appendix 1 §1 gzip. The harness plays the vehicle.
func (s *suite) centerDUT() {
	Describe("7.2.2.9.1 Data uploading, center DUT, over "+s.v.Name, func() {
		for _, c := range centerRequests("JT1TESTVH00000001") {
			It(harness.SpecName("7.2.2.9.1", s.v.Name+" center DUT: "+c.text), harness.Labels(s.v.Label, harness.CenterDUT), harness.SpecTime(time.Minute), func(ctx SpecContext) {
				run := s.r()
				if !run.Profile.HasRole("center") {
					Skip("not applicable: the DUT profile " + run.Profile.Name + " has no center role")
				}
				run.Requires(s.v.Cap, "data-upload")
				req := harness.Requirement{Clause: "7.2.2.9.1, 7.2.2.3, 7.3, 6.4", Rule: "Result: status SUCCESS or ERROR with messages; '400': Invalid request"}
				// The VIN of the harness's client identity.
				cs := centerRequests(run.Profile.DUT.VIN)
				for _, x := range cs {
					if x.text == c.text {
						c = x
					}
				}
				status, proto, header, body := s.visitCenter(ctx, req, c)
				if proto != s.v.Proto {
					Fail(harness.Verdict(req, "an answer over "+s.v.Proto+" (the only protocol the harness offered in ALPN)", fmt.Sprintf("%d over %s", status, proto)))
				}
				var result struct {
					Status   string   `json:"status"`
					Messages []string `json:"messages"`
				}
				jerr := json.Unmarshal(body, &result)
				wantStatus := "ERROR"
				if c.good {
					wantStatus = "SUCCESS"
				}
				if status != c.want || jerr != nil || result.Status != wantStatus || (!c.good && len(result.Messages) == 0) {
					Fail(harness.Verdict(req, fmt.Sprintf("%d with a Result {status: %s, messages: [...]}", c.want, wantStatus),
						fmt.Sprintf("%d %s %q", status, header.Get("Content-Type"), truncate(body))))
				}
				if c.good {
					rq, _ := http.NewRequest(http.MethodPost, "https://center"+c.path, nil)
					rt, err := openapi.Find(rq)
					if err != nil {
						Fail(harness.Verdict(req, "the path "+c.path+" in spec/openapi", err.Error()))
					}
					if err := rt.ValidateResponse(ctx, rq, status, header, body); err != nil {
						Fail(harness.Verdict(req, "an answer the OpenAPI document of 7.2.2.9.1 allows", err.Error()))
					}
				}
			})
		}
	})
}

// visitCenter sends one request to the center DUT as the vehicle; a
// request that gets no answer fails the spec with req.
func (s *suite) visitCenter(ctx context.Context, req harness.Requirement, c badRequest) (int, string, http.Header, []byte) {
	client, err := s.r().VehicleClient(s.v.ALPN, nil)
	Expect(err).NotTo(HaveOccurred(), "the harness's vehicle client")
	url := "https://" + s.r().Profile.Center.Host + c.path
	rq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(c.body))
	Expect(err).NotTo(HaveOccurred(), "building the request")
	for k, v := range c.header {
		rq.Header.Set(k, v)
	}
	ctx2, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := client.Do(rq.WithContext(ctx2))
	if err != nil {
		Fail(harness.Verdict(req, "an answer to POST "+url, "none: "+err.Error()))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Proto, resp.Header, body
}

func truncate(b []byte) string {
	s := string(b)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return strings.TrimSpace(s)
}

// centerQuirks pairs each quirk of the reference center with the specs of
// version v that must catch it; each failure must cite 7.2.2.9.1 and say
// what it expected (the row's status with a Result) and what came.
func centerQuirks(v Version) []harness.QuirkCase {
	var g harness.Grouped
	for _, c := range centerRequests("JT1TESTVH00000001") {
		q := harness.CenterQuirkPrefix + c.quirk
		g.Add(q, centerRequestName(v, c))
		if c.quirk != "no-result-body" {
			g.Say(q, "Expected:", "Actual:", "7.2.2.9.1", fmt.Sprintf("%d with a Result", c.want))
		}
	}
	// no-result-body also breaks every refusal's Result.
	for _, c := range centerRequests("JT1TESTVH00000001") {
		if !c.good {
			g.Add(harness.CenterQuirkPrefix+"no-result-body", centerRequestName(v, c))
		}
	}
	g.Say(harness.CenterQuirkPrefix+"no-result-body", "Expected:", "Actual:", "7.2.2.9.1", "with a Result {status:")
	return g.Quirks()
}
