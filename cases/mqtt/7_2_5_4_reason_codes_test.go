package mqtt_test

import (
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// reasonCase is one generated spec: a row of Table 7-21, 7-22, 7-23 or
// 7-24, with the retry rule it is retried by.
type reasonCase struct {
	table  string // CONNACK, PUBACK, SUBACK, UNSUBACK
	packet string // the packet it answers: CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE
	num    string // "7-21"
	row    spec.MQTTReason
	rule   spec.RetryRule
	id     string
	text   string
	name   string
}

// firstWait is how long the spec waits for the DUT's packet: the
// UNSUBSCRIBE of IG-OFF, or the packet the spec provokes.
func (c reasonCase) firstWait() time.Duration {
	if c.table == "UNSUBACK" {
		return unsubscribeWait
	}
	return firstWait
}

// covers is the spec time the row's scenario covers: the wait for the
// DUT's packet, then every retry the rule allows and one more interval.
func (c reasonCase) covers() time.Duration {
	return c.firstWait() + retryWindow(c.retries(), c.rule.Interval, allowance)
}

func (c reasonCase) retries() int {
	if !c.row.Retry {
		return 0
	}
	return c.rule.Retries
}

var reasonTables = []struct{ table, packet, num, what string }{
	{"CONNACK", "CONNECT", "7-21", "CONNECT (a new connection after the DUT's was dropped)"},
	{"PUBACK", "PUBLISH", "7-22", "real-time upload PUBLISH"},
	{"SUBACK", "SUBSCRIBE", "7-23", "SUBSCRIBE to the push topic"},
	{"UNSUBACK", "UNSUBSCRIBE", "7-24", "UNSUBSCRIBE from the push topic at IG-OFF"},
}

// reasonCases builds one spec per row of Tables 7-21 to 7-24 from spec/.
// CONNECT, SUBSCRIBE and UNSUBSCRIBE are retried by the session rule
// (register I-140), PUBLISH by Table 7-25's real-time data-upload rule.
func reasonCases() []reasonCase {
	var out []reasonCase
	tables := spec.MQTTReasons()
	for _, t := range reasonTables {
		rule := spec.MQTTSessionRetryRule()
		if t.table == "PUBACK" {
			rule = spec.MQTTUploadRetryRule(true)
		}
		for _, row := range tables.Table(t.table) {
			c := reasonCase{table: t.table, packet: t.packet, num: t.num, row: row, rule: rule}
			what := "is never sent again"
			if c.retries() > 0 {
				what = fmt.Sprintf("is sent again %d times, %v apart (Table 7-25 %s)", c.retries(), rule.Interval, rule.ID)
			}
			c.id = "7.2.5.4 " + row.Row
			c.text = fmt.Sprintf("%s answered %s 0x%02X %s %s", t.what, t.table, row.Code, row.Name, what)
			c.name = harness.FormatName(c.id, c.text)
			out = append(out, c)
		}
	}
	return out
}

// 7.2.5.4: "Table 7-21, Table 7-22, Table 7-23 and Table 7-24 specify
// whether or not a retry is required for each Reason Code of each command.
// Do not retry if the error is caused by a client-side specification."
// 7.2.5.6 / Table 7-25: "Data upload [...] Real-time nature Required:
// Number of retries 2, Retry interval 3sec". Every row is judged on the
// wire: after the harness answers the DUT's packet with the row's code,
// the packet comes again exactly as often and as far apart as the row and
// the rule say.
var _ = Describe("7.2.5.4 Response Status Code, Tables 7-21 to 7-24", func() {
	var entries []TableEntry
	for _, c := range reasonCases() {
		entries = append(entries, Entry(harness.SpecName(c.id, c.text), harness.Labels(harness.MQTT, harness.VehicleDUT), harness.SpecTime(c.covers()), c))
	}
	DescribeTable("every reason code of Tables 7-21 to 7-24", reasonSpec, entries)
})

func reasonSpec(ctx SpecContext, c reasonCase) {
	vehicleDUT()
	// The profile's readings (spec:) may choose another session rule (I-140).
	if c.table == "PUBACK" {
		c.rule = run.Spec.MQTTUploadRetryRule(true)
	} else {
		c.rule = run.Spec.MQTTSessionRetryRule()
	}
	if r, ok := run.Spec.MQTTReasonFor(c.table, c.row.Code); ok {
		c.row = r
	}
	req := harness.Requirement{
		Clause: fmt.Sprintf("7.2.5.4 Table %s row 0x%02X (Retry %s); Table 7-25 %s", c.num, c.row.Code, yesNo(c.row.Retry), c.rule.ID),
		Rule:   fmt.Sprintf("%s 0x%02X %s: Retry %s. Do not retry if the error is caused by a client-side specification.", c.table, c.row.Code, c.row.Name, yesNo(c.row.Retry)),
	}
	ensureSession(ctx)
	fault := center.Fault{Times: -1, Code: c.row.Code}
	var keep func(harness.Attempt) bool
	switch c.table {
	case "CONNACK":
		run.Faults.Set(mqttFault("CONNECT", fault))
		keep = sent("CONNECT", kick())
	case "PUBACK":
		fault.PathPrefix = uploadTopic()
		run.Faults.Set(mqttFault("PUBLISH", fault))
		keep = triggerUpload(ctx, c.rule.RealTime)
	case "SUBACK":
		run.Faults.Set(mqttFault("SUBSCRIBE", fault))
		keep = sent("SUBSCRIBE", kick())
	case "UNSUBACK":
		run.Faults.Set(mqttFault("UNSUBSCRIBE", fault))
		since := time.Now()
		Expect(run.Ignition(ctx, bench.IGOff)).To(Succeed())
		DeferCleanup(igOn)
		keep = sent("UNSUBSCRIBE", since)
		if len(waitAttempts(ctx, keep, 1, unsubscribeWait, nil)) == 0 {
			Skip(fmt.Sprintf("not applicable: the DUT sent no UNSUBSCRIBE within %v of spec time after IG-OFF, so Table 7-24 cannot be observed (7.2.5.7 does not require one)", unsubscribeWait))
		}
	}
	first := firstOf(ctx, keep, c.firstWait(), req, "a "+c.packet+" from the DUT")
	observe(ctx, first, c.retries(), c.rule.Interval)
	got := attempts(keep)
	AddReportEntry("icoc.timeline", harness.Timeline(got, run.Clock), ReportEntryVisibilityFailureOrVerbose)
	pattern := harness.RetryPattern{Retries: c.retries(), Interval: c.rule.Interval, Tolerance: run.Profile.Tolerance, Clock: run.Clock}
	Expect(got).To(harness.FollowRetryPattern(req, pattern))
}

// reasonQuirks: one quirk per table inverts its Retry column (every row of
// it must catch that); the rules' count and interval are broken for
// every row that retries.
func reasonQuirks() []harness.QuirkCase {
	byTable := map[string][]string{}
	var retried []string
	for _, c := range reasonCases() {
		byTable[c.table] = append(byTable[c.table], c.name)
		if c.retries() > 0 {
			retried = append(retried, c.name)
		}
	}
	var out []harness.QuirkCase
	for _, t := range reasonTables {
		out = append(out, harness.QuirkCase{Quirk: "mqtt-flip-retry=" + t.table, Specs: byTable[t.table]})
	}
	retried = append(retried, nonRealTimeName)
	return append(out,
		harness.QuirkCase{Quirk: "retries=3", Specs: retried},
		harness.QuirkCase{Quirk: "interval-factor=2", Specs: retried},
		harness.QuirkCase{Quirk: "interval-factor=0.5", Specs: retried},
	)
}
