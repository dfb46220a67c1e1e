package http_test

import (
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// statusRows are the rows of Table 7-8 this suite runs so far; each becomes
// one spec per retry rule of 7.2.2.6.
var statusRows = []int{400, 503, 504}

// statusCase is one generated spec: a Table 7-8 row under one retry rule.
type statusCase struct {
	name   string
	status spec.HTTPStatus
	rule   spec.RetryRule
}

// retries is what the DUT must do after the first attempt.
func (c statusCase) retries() int {
	if !c.status.Retry {
		return 0
	}
	return c.rule.Retries
}

// statusCases builds the specs from the spec tables; names are registered
// once, here, so the quirk self-test refers to the very same names.
var statusCases = func() []statusCase {
	var out []statusCase
	for _, code := range statusRows {
		row, ok := spec.HTTPStatusFor(code)
		if !ok {
			panic(fmt.Sprintf("Table 7-8 has no row %d", code))
		}
		for _, ruleID := range []string{"upload-realtime", "upload-non-realtime"} {
			rule, ok := spec.RetryRuleFor(ruleID)
			if !ok {
				panic("7.2.2.6 has no rule " + ruleID)
			}
			c := statusCase{status: row, rule: rule}
			mode := "non-real-time"
			if rule.RealTime {
				mode = "real-time"
			}
			what := "never retried"
			if c.retries() > 0 {
				what = fmt.Sprintf("retried %d times, %v apart (7.2.2.6)", c.retries(), rule.Interval)
			}
			c.name = harness.SpecName("7.2.2.4 "+row.Row,
				fmt.Sprintf("HTTP/1.1 %s upload answered %d %s is %s", mode, code, row.Reason, what))
			out = append(out, c)
		}
	}
	return out
}()

func statusEntries() []TableEntry {
	entries := make([]TableEntry, 0, len(statusCases))
	for _, c := range statusCases {
		labels := []harness.Label{harness.HTTP1, harness.VehicleDUT}
		if c.rule.Interval*time.Duration(c.retries()+1) >= time.Minute {
			labels = append(labels, harness.Slow)
		}
		entries = append(entries, Entry(c.name, harness.Labels(labels...), SpecTimeout(10*time.Minute), c))
	}
	return entries
}

// Table 7-8 (7.2.2.4): "For each HTTP response status code, the necessity
// of retry is specified below." 503 and 504: Retry "Yes"; every other code:
// "No". "For client-side errors (Code:400, 404, 408, 409) that depend on
// server-side status, [...] no retry shall be performed on the client side."
// 7.2.2.6: "Data upload [...] Real-time response Required: Number of
// retries 2, Retry interval 3sec; Not required: 2, 1min".
var _ = DescribeTable("Table 7-8 HTTP/1.1 response status codes, data upload",
	func(ctx SpecContext, c statusCase) {
		run.Requires("http1.1", "data-upload")
		req := harness.Requirement{
			Clause: fmt.Sprintf("7.2.2.4 Table 7-8 row %d (retry: %v); 7.2.2.6 %s", c.status.Code, yesNo(c.status.Retry), c.rule.ID),
			Rule:   ruleText(c),
		}
		run.Faults.Set(center.Fault{Times: -1, Status: c.status.Code, PathPrefix: "/files/"})
		_, keep := triggerUpload(ctx, c.rule.RealTime)
		first := firstAttempt(keep, 20*time.Second)

		// Watch long enough to see every retry the rule allows and one more
		// interval, in which a further (wrong) retry would show.
		tol := run.Profile.Tolerance
		step := c.rule.Interval + tol.Allowed(c.rule.Interval)
		if c.retries() == 0 && step < 3*time.Second {
			step = 3 * time.Second
		}
		window := time.Duration(c.retries()+1)*step + 2*time.Second
		run.Wait(ctx, window-run.Clock.Spec(time.Since(first.ConnAccepted)))

		pattern := harness.RetryPattern{Retries: c.retries(), Interval: c.rule.Interval, Tolerance: tol, Clock: run.Clock}
		Expect(run.Recorder.Attempts(keep)).To(harness.FollowRetryPattern(req, pattern))
	},
	statusEntries(),
)

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func ruleText(c statusCase) string {
	if !c.status.Retry {
		return fmt.Sprintf("%d %s: Retry No. Retries due to errors in client-side specification shall not be performed.", c.status.Code, c.status.Reason)
	}
	return fmt.Sprintf("%d %s: Retry Yes. Data upload, real-time response %s: number of retries %d, retry interval %v.",
		c.status.Code, c.status.Reason, map[bool]string{true: "required", false: "not required"}[c.rule.RealTime], c.rule.Retries, c.rule.Interval)
}
