package httpcases

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	. "github.com/onsi/ginkgo/v2"
)

func pushText(v Version) string {
	if v == HTTP11 {
		return "HTTP/1.1 push from the center"
	}
	return "HTTP/2 push from the center: the vehicle keeps a push connection and answers POST /push/{app_id}/{sub_id} with 200 SUCCESS"
}

// 7.2.3.9.2 Push from the Center (Table 7-12): "paths:
// /{ApplicationId}/{app_id}/{sub_id}: post: [...] in: header name:
// vehicle_id [...] in: path name: app_id [...] sub_id"; Table A2-1: "Push
// from the center: Always-on connection (between DCM and TSC)". The
// realization is the register's I-060: a push connection the vehicle opens
// (ALPN icoc-push/h2) on which the center sends the POST. 7.2.2.9.2:
// "push from the center is out of scope of REST application" for HTTP/1.1.
func (s *suite) push() {
	Describe("7.2.3.9.2 Push from the center over "+s.v.Name, func() {
		id := "7.2.3.9.2"
		if s.v == HTTP11 {
			id = "7.2.2.9.2"
		}
		It(harness.SpecName(id, pushText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), harness.SpecTime(time.Minute), func(ctx SpecContext) {
			run := s.r()
			if s.v == HTTP11 {
				Skip("not applicable: 7.2.2.9.2: REST based on HTTP/1.1 is not suitable for pushing from the center; push is out of scope")
			}
			run.Requires("http2", "push")
			req := harness.Requirement{Clause: "7.2.3.9.2, Table A2-1 (I-060)", Rule: "POST /{ApplicationId}/{app_id}/{sub_id} with header vehicle_id; 200 with a Result; the push connection is always on"}
			vin := run.Profile.DUT.VIN
			deadline := time.Now().Add(run.Clock.Patience(30 * time.Second))
			for !run.Center.PushConnected(vin) {
				if time.Now().After(deadline) {
					Fail(harness.Verdict(req, fmt.Sprintf("the vehicle holds a push connection (ALPN %s) within 30 s (spec)", center.PushALPN),
						"no push connection; "+arrivedSince(run, time.Now().Add(-run.Clock.Wall(30*time.Second)), nil)))
				}
				time.Sleep(5 * time.Millisecond)
			}
			app, sub := rand.Uint32N(1000), rand.Uint32N(1000)
			res, err := run.Center.Push(ctx, vin, app, sub, []byte("push payload"))
			if err != nil {
				Fail(harness.Verdict(req, fmt.Sprintf("the vehicle answers POST /push/%d/%d on its push connection", app, sub), "no answer: "+err.Error()))
			}
			if res.Status != 200 || res.Result == nil || res.Result.Status != center.ResultSuccess {
				Fail(harness.Verdict(req, "200 with a SUCCESS Result", fmt.Sprintf("%d %q", res.Status, truncate(res.Body))))
			}
		})
	})
}

func pushQuirks(v Version) []harness.QuirkCase {
	if v == HTTP11 {
		return nil
	}
	name := harness.FormatName("7.2.3.9.2", pushText(v))
	return []harness.QuirkCase{
		{Quirk: "no-push-connection", Specs: []string{name}},
		{Quirk: "push-refuse", Specs: []string{name}},
	}
}
