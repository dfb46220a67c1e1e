package httpcases

import (
	"fmt"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// statusCase is one generated spec: a Table 7-8 row under one retry rule of
// 7.2.2.6, over one HTTP version.
type statusCase struct {
	id     string // "7.2.2.4 T7-8 503"
	text   string
	name   string // "[id] text"
	v      Version
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

// notApplicable says why a row cannot be observed, or "".
func (c statusCase) notApplicable() string {
	if c.status.Code < 200 {
		return fmt.Sprintf("not applicable: %d is an informational (1xx) status; a server cannot send it as the final answer to an upload (RFC 9110 §15.2), so the row's Retry %q cannot be observed", c.status.Code, yesNo(c.status.Retry))
	}
	return ""
}

// uploadRules are the 7.2.2.6 rules for data upload.
var uploadRules = []string{"upload-realtime", "upload-non-realtime"}

// statusCases builds one spec per row and rule for version v from the spec
// tables. 567 and 568 silence the DUT; they have specs of their own.
func statusCases(v Version) []statusCase {
	var out []statusCase
	for _, row := range spec.HTTPStatuses() {
		if row.Silence != spec.SilenceNone {
			continue
		}
		for _, ruleID := range uploadRules {
			rule, ok := spec.RetryRuleFor(ruleID)
			if !ok {
				panic("7.2.2.6 has no rule " + ruleID)
			}
			c := statusCase{v: v, status: row, rule: rule}
			what := "is never retried"
			if c.retries() > 0 {
				what = fmt.Sprintf("is retried %d times, %v apart (7.2.2.6)", c.retries(), rule.Interval)
			}
			c.id = "7.2.2.4 " + row.Row
			c.text = fmt.Sprintf("%s %s upload answered %d %s %s", v.Name, mode(rule), row.Code, row.Reason, what)
			c.name = harness.FormatName(c.id, c.text)
			out = append(out, c)
		}
	}
	return out
}

// statusName is the name of the spec of row code under the real-time (or
// not) upload rule.
func statusName(v Version, code int, realTime bool) string {
	for _, c := range statusCases(v) {
		if c.status.Code == code && c.rule.RealTime == realTime {
			return c.name
		}
	}
	panic(fmt.Sprintf("Table 7-8 has no row %d", code))
}

// readings renders the register entries a row rests on: ", I-008" or "".
func readings(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ", " + strings.Join(ids, ", ")
}

func mode(r spec.RetryRule) string {
	if r.RealTime {
		return "real-time"
	}
	return "non-real-time"
}

// Table 7-8 (7.2.2.4): "For each HTTP response status code, the necessity
// of retry is specified below." — Retry "Yes" for 503 and 504, "No" for the
// others (register I-008). "Retries due to errors in client-side
// specification shall not be performed." "For client-side errors (Code:400,
// 404, 408, 409) [...] no retry shall be performed on the client side."
// 7.2.2.6: "Data upload [...] Real-time response Required: Number of
// retries 2, Retry interval 3sec; Not required: 2, 1min."
// 7.2.3.4 / 7.2.3.6 (HTTP/2): "Conform to HTTP/1.1 specification".
func (s *suite) statusCodes() {
	var entries []TableEntry
	for _, c := range statusCases(s.v) {
		labels := []harness.Label{s.v.Label, harness.VehicleDUT}
		if c.rule.Interval*time.Duration(c.retries()+1) >= time.Minute {
			labels = append(labels, harness.Slow)
		}
		entries = append(entries, Entry(harness.SpecName(c.id, c.text),
			harness.Labels(labels...), SpecTimeout(10*time.Minute), c))
	}
	DescribeTable("Table 7-8 response status codes, data upload over "+s.v.Name, s.statusSpec, entries)
}

func (s *suite) statusSpec(ctx SpecContext, c statusCase) {
	run := s.r()
	run.Requires(c.v.Cap, "data-upload")
	if why := c.notApplicable(); why != "" {
		Skip(why)
	}
	req := harness.Requirement{
		Clause: fmt.Sprintf("7.2.2.4 Table 7-8 row %d (Retry %s%s); 7.2.2.6 %s; %s", c.status.Code, yesNo(c.status.Retry), readings(c.status.Interpretations), c.rule.ID, c.v.Name),
		Rule:   ruleText(c),
	}
	s.speak()
	run.Faults.Set(center.Fault{Times: -1, Status: c.status.Code, PathPrefix: "/files/"})
	st := s.triggerUpload(ctx, c.rule.RealTime)
	tol := run.Profile.Tolerance
	step := c.rule.Interval + tol.Allowed(c.rule.Interval)
	s.settleAfter(st, step, time.Duration(c.rule.Retries+3)*step)
	first := s.awaitFirst(req, st, 20*time.Second)
	s.expectProto(req, first)

	// Watch long enough to see every retry the rule allows and one more
	// interval, in which a further (wrong) retry would show.
	window := time.Duration(c.retries()+1)*step + 2*time.Second
	run.Wait(ctx, window-run.Clock.Spec(time.Since(first.Start())))

	attempts := st.attempts(run)
	AddReportEntry("icoc.timeline", harness.Timeline(attempts, run.Clock), ReportEntryVisibilityFailureOrVerbose)
	pattern := harness.RetryPattern{Retries: c.retries(), Interval: c.rule.Interval, Tolerance: tol, Clock: run.Clock}
	Expect(attempts).To(harness.FollowRetryPattern(req, pattern))
}

func ruleText(c statusCase) string {
	if !c.status.Retry {
		return fmt.Sprintf("%d %s: Retry No. Retries due to errors in client-side specification shall not be performed.", c.status.Code, c.status.Reason)
	}
	return fmt.Sprintf("%d %s: Retry Yes. Data upload, real-time response %s: number of retries %d, retry interval %v.",
		c.status.Code, c.status.Reason, map[bool]string{true: "required", false: "not required"}[c.rule.RealTime], c.rule.Retries, c.rule.Interval)
}

// statusQuirks gives every Table 7-8 row the quirk that flips its Retry
// value, and the 7.2.2.6 rules a wrong count and a wrong interval.
func statusQuirks(v Version) []harness.QuirkCase {
	all := statusCases(v)
	names := func(keep func(statusCase) bool) []string {
		var out []string
		for _, c := range all {
			if c.notApplicable() == "" && keep(c) {
				out = append(out, c.name)
			}
		}
		return out
	}
	var cases []harness.QuirkCase
	seen := map[int]bool{}
	for _, c := range all {
		code := c.status.Code
		if seen[code] || c.notApplicable() != "" {
			continue
		}
		seen[code] = true
		quirk := fmt.Sprintf("retry=%d", code)
		if c.status.Retry {
			quirk = fmt.Sprintf("no-retry=%d", code)
		}
		cases = append(cases, harness.QuirkCase{Quirk: quirk, Specs: names(func(s statusCase) bool { return s.status.Code == code })})
	}
	retried := func(s statusCase) bool { return s.retries() > 0 }
	return append(cases,
		harness.QuirkCase{Quirk: "retries=3", Specs: names(retried)},
		// Too late and too early: the matcher allows the harness's jitter
		// on the late side only.
		harness.QuirkCase{Quirk: "interval-factor=2", Specs: names(retried)},
		harness.QuirkCase{Quirk: "interval-factor=0.5", Specs: names(retried)},
	)
}
