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

// httpVersion is one HTTP version a spec runs over; the harness's center
// offers only its ALPN token, so a DUT that speaks both must use it.
type httpVersion struct {
	Name  string // "HTTP/1.1"
	ALPN  string // "http/1.1"
	Proto string // the request line's protocol, "HTTP/1.1"
	Cap   string // the DUT capability
	Label harness.Label
}

var (
	http11 = httpVersion{"HTTP/1.1", "http/1.1", "HTTP/1.1", "http1.1", harness.HTTP1}
	http2  = httpVersion{"HTTP/2", "h2", "HTTP/2.0", "http2", harness.HTTP2}
	// versions lists both; 7.2.3.4 to 7.2.3.6 make HTTP/2 conform to the
	// HTTP/1.1 status, timeout and retry rules.
	versions = []httpVersion{http11, http2}
)

// statusCase is one generated spec: a Table 7-8 row under one retry rule of
// 7.2.2.6, over one HTTP version.
type statusCase struct {
	name    string
	version httpVersion
	status  spec.HTTPStatus
	rule    spec.RetryRule
}

// retries is what the DUT must do after the first attempt.
func (c statusCase) retries() int {
	if !c.status.Retry {
		return 0
	}
	return c.rule.Retries
}

// notApplicable says why a row cannot be a final answer, or "".
func (c statusCase) notApplicable() string {
	if c.status.Code < 200 {
		return fmt.Sprintf("not applicable: %d is an informational (1xx) status; a server cannot send it as the final answer to an upload (RFC 9110 §15.2), so the row's Retry %q cannot be observed", c.status.Code, yesNo(c.status.Retry))
	}
	return ""
}

// uploadRules are the 7.2.2.6 rules for data upload.
var uploadRules = []string{"upload-realtime", "upload-non-realtime"}

// statusCases builds one spec per row, rule and version from the spec
// tables. 567 and 568 silence the DUT; they have specs of their own
// (7_2_2_4_silence_test.go). Names are registered once, here, so the quirk
// self-test refers to the very same names.
var statusCases = func() []statusCase {
	var out []statusCase
	for _, v := range versions {
		for _, row := range spec.HTTPStatuses() {
			if row.Silence != spec.SilenceNone {
				continue
			}
			for _, ruleID := range uploadRules {
				rule, ok := spec.RetryRuleFor(ruleID)
				if !ok {
					panic("7.2.2.6 has no rule " + ruleID)
				}
				c := statusCase{version: v, status: row, rule: rule}
				what := "is never retried"
				if c.retries() > 0 {
					what = fmt.Sprintf("is retried %d times, %v apart (7.2.2.6)", c.retries(), rule.Interval)
				}
				c.name = harness.SpecName("7.2.2.4 "+row.Row,
					fmt.Sprintf("%s %s upload answered %d %s %s", v.Name, mode(rule), row.Code, row.Reason, what))
				out = append(out, c)
			}
		}
	}
	return out
}()

func mode(r spec.RetryRule) string {
	if r.RealTime {
		return "real-time"
	}
	return "non-real-time"
}

func statusEntries() []TableEntry {
	entries := make([]TableEntry, 0, len(statusCases))
	for _, c := range statusCases {
		labels := []harness.Label{c.version.Label, harness.VehicleDUT}
		if c.rule.Interval*time.Duration(c.retries()+1) >= time.Minute {
			labels = append(labels, harness.Slow)
		}
		entries = append(entries, Entry(c.name, harness.Labels(labels...), SpecTimeout(10*time.Minute), c))
	}
	return entries
}

// Table 7-8 (7.2.2.4): "For each HTTP response status code, the necessity
// of retry is specified below." — Retry "Yes" for 503 and 504, "No" for the
// others (register I-008). "Retries due to errors in client-side
// specification shall not be performed." "For client-side errors (Code:400,
// 404, 408, 409) [...] no retry shall be performed on the client side."
// 7.2.2.6: "Data upload [...] Real-time response Required: Number of
// retries 2, Retry interval 3sec; Not required: 2, 1min."
// 7.2.3.4 / 7.2.3.6 (HTTP/2): "Conform to HTTP/1.1 specification".
var _ = DescribeTable("Table 7-8 response status codes, data upload",
	func(ctx SpecContext, c statusCase) {
		run.Requires(c.version.Cap, "data-upload")
		if why := c.notApplicable(); why != "" {
			Skip(why)
		}
		req := harness.Requirement{
			Clause: fmt.Sprintf("7.2.2.4 Table 7-8 row %d (Retry %s); 7.2.2.6 %s; %s", c.status.Code, yesNo(c.status.Retry), c.rule.ID, c.version.Name),
			Rule:   ruleText(c),
		}
		run.Center.SetALPN(c.version.ALPN)
		run.Faults.Set(center.Fault{Times: -1, Status: c.status.Code, PathPrefix: "/files/"})
		_, keep := triggerUpload(ctx, c.rule.RealTime)
		first := firstAttempt(keep, 20*time.Second)
		Expect(first.Proto).To(Equal(c.version.Proto), req.String()+"\nthe DUT must speak the only protocol the center offers in ALPN (%s)", c.version.ALPN)

		// Watch long enough to see every retry the rule allows and one more
		// interval, in which a further (wrong) retry would show.
		tol := run.Profile.Tolerance
		step := c.rule.Interval + tol.Allowed(c.rule.Interval)
		window := time.Duration(c.retries()+1)*step + 2*time.Second
		run.Wait(ctx, window-run.Clock.Spec(time.Since(first.ConnAccepted)))

		attempts := run.Recorder.Attempts(keep)
		AddReportEntry("icoc.timeline", harness.Timeline(attempts, run.Clock), ReportEntryVisibilityFailureOrVerbose)
		pattern := harness.RetryPattern{Retries: c.retries(), Interval: c.rule.Interval, Tolerance: tol, Clock: run.Clock}
		Expect(attempts).To(harness.FollowRetryPattern(req, pattern))
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
