package mqtt_test

import (
	"fmt"
	"strings"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	. "github.com/onsi/ginkgo/v2"
)

var asyncAPIName = harness.SpecName("7.2.5.9", "the DUT's AsyncAPI documents are valid AsyncAPI 2.0 and every topic it published or subscribed to is one of their channels")

// 7.2.5.1: "The API must be written in accordance with the following
// specifications of AsyncAPI v2.0 or later." 7.2.5.9: "AsyncAPI is
// schema-compatible with OpenAPI. [...] the API specification for each use
// case is shown below." The documents are the profile's (mqtt.asyncapi),
// else icoc's reference document or, in the asyncapi topic style, the
// seed's listings repaired (register I-005, I-147); they are validated
// against the AsyncAPI 2.0.0 JSON Schema when loaded.
var _ = Describe("7.2.5.9 API Specification", func() {
	It(asyncAPIName, harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(igOffPause+firstWait+uploadAndAckTime), func(ctx SpecContext) {
		vehicleDUT()
		req := harness.Requirement{Clause: "7.2.5.1, 7.2.5.9 (I-147)", Rule: "The API must be written in accordance with the following specifications of AsyncAPI v2.0 or later."}
		docs, err := run.AsyncAPIDocuments(run.Spec.MQTTTopics.Style)
		if err != nil {
			Fail(harness.Verdict(req, "AsyncAPI 2.0 documents that validate", err.Error()))
		}
		since := provokeConnect(ctx)
		firstOf(ctx, sent("SUBSCRIBE", since), firstWait, req, "a SUBSCRIBE on a new connection")
		ensureSession(ctx)
		uploadAndAck(ctx, req)
		var bad []string
		for _, a := range attempts(sent("", since)) {
			var used []string
			switch a.Method {
			case "PUBLISH":
				used = []string{a.Path}
			case "SUBSCRIBE":
				for _, f := range a.Header.Values(center.MQTTSubscription) {
					used = append(used, firstField(f))
				}
			}
			for _, t := range used {
				if _, _, _, why, ok := docs.Match(t); !ok {
					bad = append(bad, fmt.Sprintf("%s %q: %s", a.Method, t, why))
				}
			}
		}
		if len(bad) > 0 {
			var names []string
			for _, d := range docs {
				names = append(names, d.Name)
			}
			Fail(harness.Verdict(req, "every topic a channel of "+strings.Join(names, ", "), strings.Join(bad, "\n")))
		}
	})
})
