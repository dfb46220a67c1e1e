package httpcases

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func apiCallText(v Version) string {
	return v.Name + " API call: POST /api/{number} with the vehicle_id header, answered 200"
}

func apiRetryText(v Version) string {
	return v.Name + " API call answered 503 is retried 2 times, 3 s apart (the real-time rule)"
}

func downloadText(v Version) string {
	return v.Name + " data download: GET /download/{filename} with the vehicle_id header, answered 200 with the file"
}

func downloadRetryText(v Version) string {
	return v.Name + " data download answered 503 is never retried (7.2.2.6: download N/A)"
}

// 7.2.2.9.3 API call from vehicle to center: "paths: /api/{number}: post:
// operationId: callApi parameters: in: header name: vehicle_id [...]
// requestBody: content: application/octet-stream". 7.2.2.9.4 Data download:
// "/download/{filename}: [get] operationId: download parameters: in: header
// name: vehicle_id". 7.2.2.6: "Data download [...] Number of retries N/A";
// the API call has no row of its own: register I-059 gives it the
// real-time rule. (HTTP/2: 7.2.3.9.3 and 7.2.3.9.4 conform.)
func (s *suite) callsAndDownloads() {
	Describe("7.2.2.9.3 API call and 7.2.2.9.4 data download over "+s.v.Name, func() {
		It(harness.SpecName("7.2.2.9.3", apiCallText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "api-call")
			req := harness.Requirement{Clause: "7.2.2.9.3, 7.3", Rule: "POST /api/{number} with header vehicle_id; '200': Result"}
			s.speak()
			st, path := s.callAPI(ctx)
			first := s.awaitAnswered(req, st, 0, 30*time.Second)
			if first.Method != "POST" || first.Path != path || !spec.IsMediaType(first.Header.Get("Content-Type")) {
				Fail(harness.Verdict(req, fmt.Sprintf("POST %s with a 7.2.2.3 media type", path),
					fmt.Sprintf("%s %s, Content-Type %q", first.Method, first.Path, first.Header.Get("Content-Type"))))
			}
			expectVehicleID(req, st.attempts(run), run.Profile.DUT.VIN)
			expectStatus(req, first, 200, "a good API call")
		})

		It(harness.SpecName("7.2.2.6", apiRetryText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "api-call")
			rule, _ := spec.RetryRuleFor("upload-realtime")
			req := harness.Requirement{Clause: "7.2.2.4 Table 7-8 503, 7.2.2.6 (I-059)", Rule: "503 Retry Yes; real-time response required: 2 retries, 3 sec"}
			s.speak()
			run.Faults.Set(center.Fault{Times: -1, Status: 503, PathPrefix: "/api/"})
			st, _ := s.callAPI(ctx)
			tol := run.Profile.Tolerance
			s.settleAfter(st, rule.Interval+tol.Allowed(rule.Interval), time.Minute)
			first := s.awaitFirst(req, st, 20*time.Second)
			run.Wait(ctx, time.Duration(rule.Retries+1)*(rule.Interval+tol.Allowed(rule.Interval))+2*time.Second-run.Clock.Spec(time.Since(first.Start())))
			Expect(st.attempts(run)).To(harness.FollowRetryPattern(req, harness.RetryPattern{Retries: rule.Retries, Interval: rule.Interval, Tolerance: tol, Clock: run.Clock}))
		})

		It(harness.SpecName("7.2.2.9.4", downloadText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-download")
			req := harness.Requirement{Clause: "7.2.2.9.4, 7.3", Rule: "GET /download/{filename} with header vehicle_id; '200' with the file (I-045)"}
			s.speak()
			id := uint16(rand.IntN(60000))
			name := bench.DownloadFileName(id)
			run.Center.Offer(name, []byte(strings.Repeat("download ", 100)))
			st := s.requestDownload(ctx, id)
			first := s.awaitAnswered(req, st, 0, 30*time.Second)
			if first.Method+" "+first.Path != "GET /download/"+name {
				Fail(harness.Verdict(req, "GET /download/"+name, first.Method+" "+first.Path))
			}
			expectVehicleID(req, st.attempts(run), run.Profile.DUT.VIN)
			expectStatus(req, first, 200, "the file the center offers")
		})

		It(harness.SpecName("7.2.2.6", downloadRetryText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), func(ctx SpecContext) {
			run := s.r()
			run.Requires(s.v.Cap, "data-download")
			req := harness.Requirement{Clause: "7.2.2.6", Rule: "Data download (Center -> in-Car unit): Number of retries N/A, Retry interval N/A"}
			s.speak()
			run.Faults.Set(center.Fault{Times: -1, Status: 503, PathPrefix: "/download"})
			st := s.requestDownload(ctx, uint16(rand.IntN(60000)))
			s.settleAfter(st, 10*time.Second, time.Minute)
			first := s.awaitFirst(req, st, 20*time.Second)
			run.Wait(ctx, 10*time.Second-run.Clock.Spec(time.Since(first.Start())))
			Expect(st.attempts(run)).To(harness.FollowRetryPattern(req, harness.RetryPattern{Retries: 0, Tolerance: run.Profile.Tolerance, Clock: run.Clock}))
		})
	})
}

// callAPI asks the DUT over CAN for an API call with a random API number
// and returns the stimulus (attempts on a path ending in that number) and
// the path 7.2.2.9.3 gives it.
func (s *suite) callAPI(ctx context.Context) (stimulus, string) {
	n := uint16(100 + rand.IntN(900))
	path := fmt.Sprintf("/api/%d", n)
	since := time.Now()
	Expect(s.r().Send(ctx, bench.APICall{APIID: n, RequestID: harness.NextRequestID()}.Frame())).To(Succeed(), "putting the API call trigger on the bus")
	return stimulus{
		what:  fmt.Sprintf("an API call for API number %d (POST %s)", n, path),
		since: since,
		keep: func(a harness.Attempt) bool {
			return a.ReceivedAt.After(since) && strings.HasSuffix(a.Path, fmt.Sprintf("/%d", n))
		},
	}, path
}

// requestDownload asks the DUT over CAN to download file id and returns the
// stimulus (attempts on a path ending in its file name).
func (s *suite) requestDownload(ctx context.Context, fileID uint16) stimulus {
	name := bench.DownloadFileName(fileID)
	since := time.Now()
	Expect(s.r().Send(ctx, bench.DownloadRequest{FileID: fileID, RequestID: harness.NextRequestID()}.Frame())).To(Succeed(), "putting the download request on the bus")
	return stimulus{
		what:  "a download of " + name + " (GET /download/" + name + ")",
		since: since,
		keep:  func(a harness.Attempt) bool { return a.ReceivedAt.After(since) && strings.HasSuffix(a.Path, "/"+name) },
	}
}

func callQuirks(v Version) []harness.QuirkCase {
	return []harness.QuirkCase{
		{Quirk: "api-path", Specs: []string{harness.FormatName("7.2.2.9.3", apiCallText(v))}},
		{Quirk: "no-retry=503", Specs: []string{harness.FormatName("7.2.2.6", apiRetryText(v))}},
		{Quirk: "download-path", Specs: []string{harness.FormatName("7.2.2.9.4", downloadText(v))}},
		{Quirk: "download-retries=2", Specs: []string{harness.FormatName("7.2.2.6", downloadRetryText(v))}},
	}
}
