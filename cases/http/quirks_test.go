package http_test

import (
	"testing"

	"github.com/icoc-dev/icoc/harness"
)

// statusNames returns the names of the Table 7-8 specs for code (all rules).
func statusNames(code int, onlyRetried bool) []string {
	var out []string
	for _, c := range statusCases {
		if c.status.Code == code || (code == 0 && (!onlyRetried || c.retries() > 0)) {
			out = append(out, c.name)
		}
	}
	return out
}

// TestQuirks proves that every spec of this suite can fail: each quirk of
// the reference vehicle breaks one clause, and the specs of that clause must
// catch it.
func TestQuirks(t *testing.T) {
	harness.RunQuirkSelfTest(t, "http", []harness.QuirkCase{
		{Quirk: "no-retry=503", Specs: statusNames(503, false)},
		{Quirk: "no-retry=504", Specs: statusNames(504, false)},
		{Quirk: "retry=400", Specs: statusNames(400, false)},
		{Quirk: "retries=3", Specs: statusNames(0, true)},
		{Quirk: "interval-factor=0.5", Specs: statusNames(0, true)},
		{Quirk: "corrupt-upload", Specs: []string{uploadIntactName}},
		{Quirk: "upper-extension", Specs: []string{fileNameName}},
	})
}

// TestSpecNames dry-runs the suite: every name cites its clause, once.
func TestSpecNames(t *testing.T) {
	harness.CheckSpecNames(t)
}
