package grpc_test

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

// statusCase is one generated spec: a Table 7-20 row for one request kind
// (data upload under either retry rule of 7.2.2.6, or the API call under
// its rule, I-110).
type statusCase struct {
	id, text, name string
	row            spec.GRPCStatus
	rule           spec.RetryRule
	what           string // "upload" or "API call"
	path           string
}

func (c statusCase) retries() int {
	if !c.row.Retry {
		return 0
	}
	return c.rule.Retries
}

// underRun returns c with its row and rule as the run's spec has them: the
// profile's readings (spec.grpc_retry, I-027) applied. The tree is built
// before the profile is known, so the name (and the declared spec time)
// stay the register's; the judgement is the run's.
func (c statusCase) underRun() statusCase {
	if row, ok := run.Spec.GRPCStatusFor(c.row.Code); ok {
		c.row = row
	}
	if rule, ok := run.Spec.RetryRuleFor(c.rule.ID); ok {
		c.rule = rule
	}
	return c
}

// readings renders the readings the row's Retry rests on: the profile's
// key when the profile set it, then the register's entries (", I-025" by
// default).
func (c statusCase) readings() string {
	ids := []string{"I-025"}
	if c.row.RetryOverridden {
		ids = append([]string{fmt.Sprintf("profile spec.grpc_retry {%d: %t} (I-027)", c.row.Code, c.row.Retry)}, ids...)
	}
	return strings.Join(ids, ", ")
}

// statusCases builds one spec per row of Table 7-20 and request kind.
func statusCases() []statusCase {
	kinds := []struct{ what, ruleID, path string }{
		{"real-time upload", "upload-realtime", canPath},
		{"non-real-time upload", "upload-non-realtime", canPath},
		{"API call", "upload-realtime", apiPath}, // I-110 (I-059)
	}
	var out []statusCase
	for _, row := range spec.GRPCStatuses() {
		for _, k := range kinds {
			rule, ok := spec.RetryRuleFor(k.ruleID)
			if !ok {
				panic("7.2.2.6 has no rule " + k.ruleID)
			}
			c := statusCase{row: row, rule: rule, what: k.what, path: k.path}
			how := "is never retried"
			if c.retries() > 0 {
				how = fmt.Sprintf("is retried %d times, %v apart (7.2.2.6, I-025)", c.retries(), rule.Interval)
			}
			c.id = "7.2.4.5 " + row.Row
			c.text = fmt.Sprintf("gRPC %s answered %d %s %s", k.what, row.Code, row.Name, how)
			c.name = harness.FormatName(c.id, c.text)
			out = append(out, c)
		}
	}
	return out
}

// Table 7-20 (7.2.4.5): "The response status code of gRPC and the necessity
// of retry are shown in Table 7-20. If the error is caused by a client-side
// specification, no retry is performed." Retry "Yes" for 2, 4, 12, 13, 14,
// 15; "No" for the others. The count and interval come from 7.2.2.6 (I-025):
// "Data upload [...] Real-time response Required: Number of retries 2,
// Retry interval 3sec; Not required: 2, 1min"; an API call takes the
// real-time rule (I-110). Every code is sent as the call's grpc-status
// (code 0: the center's own OK answer).
var _ = Describe("Table 7-20 response status codes over gRPC", func() {
	var entries []TableEntry
	for _, c := range statusCases() {
		labels := []harness.Label{harness.GRPC, harness.VehicleDUT}
		if c.rule.Interval*time.Duration(c.retries()+1) >= time.Minute {
			labels = append(labels, harness.Slow)
		}
		// Spec time: the first call, then every retry the row's rule allows
		// and one interval more.
		covers := firstCallWithin + retryWatch(c.retries(), c.rule.Interval)
		entries = append(entries, Entry(harness.SpecName(c.id, c.text), harness.Labels(labels...), harness.SpecTime(covers), c))
	}
	DescribeTable("Table 7-20, data upload and API call", statusSpec, entries)
})

func statusSpec(ctx SpecContext, c statusCase) {
	use := "data-upload"
	if c.path == apiPath {
		use = "api-call"
	}
	requireVehicle(use)
	// The spec was named from the register's readings; it judges by the
	// run's (the profile's spec: section may set the row's Retry, I-027).
	c = c.underRun()
	req := harness.Requirement{
		Clause: fmt.Sprintf("7.2.4.5 Table 7-20 row %d %s (Retry %s); 7.2.2.6 %s (%s)", c.row.Code, c.row.Name, yesNo(c.row.Retry), c.rule.ID, c.readings()),
		Rule:   ruleText(c),
	}
	if c.row.Code != 0 {
		run.Faults.Set(center.Fault{Times: -1, Protocol: center.ProtoGRPC, PathPrefix: c.path, Code: c.row.Code, Message: "fault plan: " + c.row.Name})
	}
	var t0 time.Time
	if c.path == canPath {
		t0 = triggerUpload(ctx, c.rule.RealTime)
	} else {
		t0 = triggerAPICall(ctx)
	}
	keep := onPath(t0, c.path)
	first := waitCalls(req, keep, 1, firstCallWithin, "a "+c.path+" call after the CAN trigger")[0]

	// Watch every retry the rule allows and one interval more, in which a
	// further (wrong) retry would show.
	tol := run.Profile.Tolerance
	step := c.rule.Interval + tol.Allowed(c.rule.Interval)
	window := time.Duration(c.retries()+1)*step + 2*time.Second
	run.Wait(ctx, window-run.Clock.Spec(time.Since(first.Start())))

	attempts := run.Recorder.Attempts(keep)
	AddReportEntry("icoc.timeline", harness.Timeline(attempts, run.Clock), ReportEntryVisibilityFailureOrVerbose)
	for _, a := range attempts {
		if a.Code != c.row.Code && !a.AnsweredAt.IsZero() {
			fail(req, fmt.Sprintf("every attempt answered %d %s by the harness's center", c.row.Code, c.row.Name),
				"an attempt was answered otherwise (refused by the center's API checks?):\n%s", harness.Timeline(attempts, run.Clock))
		}
	}
	Expect(attempts).To(harness.FollowRetryPattern(req, harness.RetryPattern{Retries: c.retries(), Interval: c.rule.Interval, Tolerance: tol, Clock: run.Clock}))
}

// statusName is the name of the spec of Table 7-20 row code for an upload
// under the given 7.2.2.6 rule.
func statusName(code int, ruleID string) string {
	for _, c := range statusCases() {
		if c.row.Code == code && c.rule.ID == ruleID && c.path == canPath {
			return c.name
		}
	}
	panic(fmt.Sprintf("Table 7-20 has no row %d under %s", code, ruleID))
}

var raw503Name = harness.SpecName("7.2.4.5 T7-20 14", "gRPC real-time upload answered HTTP 503 without grpc-status (a proxy's answer) is retried as UNAVAILABLE, 2 times, 3s apart (I-112)")

// Table 7-20: "14 UNAVAILABLE 503 Service Unavailable Yes"; register I-112:
// an answer without grpc-status is read by gRPC's HTTP-to-status mapping
// (503: UNAVAILABLE), then by the table.
var _ = Describe("Table 7-20 and an answer without grpc-status", func() {
	// The declared spec time is the register's; the spec judges by the
	// run's readings (the profile's spec: section).
	declared, _ := spec.RetryRuleFor("upload-realtime")
	It(raw503Name, harness.Labels(harness.GRPC, harness.VehicleDUT), harness.SpecTime(firstCallWithin+retryWatch(declared.Retries, declared.Interval)), func(ctx SpecContext) {
		requireVehicle("data-upload")
		c := statusCase{row: spec.GRPCStatus{Code: 14}, rule: declared}
		for _, k := range statusCases() {
			if k.row.Code == 14 && k.rule.ID == "upload-realtime" {
				c = k
				break
			}
		}
		c = c.underRun()
		rule := c.rule
		req := harness.Requirement{Clause: fmt.Sprintf("7.2.4.5 Table 7-20 row 14 UNAVAILABLE (503, Retry %s); 7.2.2.6 upload-realtime (I-112, %s)", yesNo(c.row.Retry), c.readings()),
			Rule: "14 UNAVAILABLE, HTTP Mapping 503 Service Unavailable: " + strings.TrimPrefix(ruleText(c), "14 UNAVAILABLE: ")}
		run.Faults.Set(center.Fault{Times: -1, Protocol: center.ProtoGRPC, PathPrefix: canPath, Status: 503, Message: "fault plan: a proxy's 503"})
		t0 := triggerUpload(ctx, true)
		keep := onPath(t0, canPath)
		first := waitCalls(req, keep, 1, firstCallWithin, "a SendCans call after the CAN trigger")[0]
		tol := run.Profile.Tolerance
		run.Wait(ctx, time.Duration(c.retries()+1)*(rule.Interval+tol.Allowed(rule.Interval))+2*time.Second-run.Clock.Spec(time.Since(first.Start())))
		got := run.Recorder.Attempts(keep)
		AddReportEntry("icoc.timeline", harness.Timeline(got, run.Clock), ReportEntryVisibilityFailureOrVerbose)
		Expect(got).To(harness.FollowRetryPattern(req, harness.RetryPattern{Retries: c.retries(), Interval: rule.Interval, Tolerance: tol, Clock: run.Clock}))
	})
})

func ruleText(c statusCase) string {
	if !c.row.Retry {
		return fmt.Sprintf("%d %s: Retry No. If the error is caused by a client-side specification, no retry is performed.", c.row.Code, c.row.Name)
	}
	return fmt.Sprintf("%d %s: Retry Yes. %s, real-time response %s: number of retries %d, retry interval %v.",
		c.row.Code, c.row.Name, c.rule.UseCase, map[bool]string{true: "required", false: "not required"}[c.rule.RealTime], c.rule.Retries, c.rule.Interval)
}

// statusQuirks flips each row's Retry value (one quirk per code, caught by
// the row's specs) and bends the count and interval of 7.2.2.6 (caught by
// the UNAVAILABLE rows).
func statusQuirks() []harness.QuirkCase {
	all := statusCases()
	names := func(keep func(statusCase) bool) []string {
		var out []string
		for _, c := range all {
			if keep(c) {
				out = append(out, c.name)
			}
		}
		return out
	}
	var cases []harness.QuirkCase
	for _, row := range spec.GRPCStatuses() {
		q := fmt.Sprintf("grpc-retry=%d", row.Code)
		if row.Retry {
			q = fmt.Sprintf("grpc-no-retry=%d", row.Code)
		}
		code := row.Code
		specs := names(func(c statusCase) bool { return c.row.Code == code })
		if code == 14 {
			specs = append(specs, raw503Name)
		}
		cases = append(cases, harness.QuirkCase{Quirk: q, Specs: specs})
	}
	unavailable := func(c statusCase) bool { return c.row.Code == 14 }
	return append(cases,
		harness.QuirkCase{Quirk: "retries=3", Specs: names(unavailable)},
		harness.QuirkCase{Quirk: "interval-factor=2", Specs: names(unavailable)},
		harness.QuirkCase{Quirk: "interval-factor=0.5", Specs: names(unavailable)},
	)
}
