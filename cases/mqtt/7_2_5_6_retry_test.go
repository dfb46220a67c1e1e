package mqtt_test

import (
	"fmt"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var nonRealTimeName = harness.SpecName("7.2.5.6", fmt.Sprintf("non-real-time upload answered PUBACK 0x97 Quota exceeded is published again %d times, %v apart (Table 7-25, real-time not required)",
	spec.MQTTUploadRetryRule(false).Retries, spec.MQTTUploadRetryRule(false).Interval))

// 7.2.5.6 / Table 7-25: "Data upload (in-Car unit -> Center) [...]
// Real-time nature Not required: Number of retries 2, Retry interval
// 1min". The real-time row is judged with every Table 7-22 row; this is
// the other one.
var _ = Describe("7.2.5.6 Retry Specification", func() {
	// Spec time: the first upload, then every retry and one more interval.
	nrt := spec.MQTTUploadRetryRule(false)
	covers := firstWait + retryWindow(nrt.Retries, nrt.Interval, allowance)
	It(nonRealTimeName, harness.Labels(harness.MQTT, harness.VehicleDUT, harness.Slow), harness.SpecTime(covers), func(ctx SpecContext) {
		vehicleDUT()
		rule := run.Spec.MQTTUploadRetryRule(false)
		req := harness.Requirement{Clause: "7.2.5.6 Table 7-25 (data upload, real-time not required); Table 7-22 0x97 (Retry Yes)",
			Rule: fmt.Sprintf("Number of retries %d, Retry interval %v", rule.Retries, rule.Interval)}
		ensureSession(ctx)
		run.Faults.Set(mqttFault("PUBLISH", center.Fault{Times: -1, Code: 0x97, PathPrefix: uploadTopic()}))
		keep := triggerUpload(ctx, false)
		first := firstOf(ctx, keep, firstWait, req, "an upload PUBLISH")
		observe(ctx, first, rule.Retries, rule.Interval)
		got := attempts(keep)
		AddReportEntry("icoc.timeline", harness.Timeline(got, run.Clock), ReportEntryVisibilityFailureOrVerbose)
		Expect(got).To(harness.FollowRetryPattern(req, harness.RetryPattern{Retries: rule.Retries, Interval: rule.Interval, Tolerance: run.Profile.Tolerance, Clock: run.Clock}))
	})
})
