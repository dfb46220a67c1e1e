package http_test

import (
	"fmt"
	"testing"

	"github.com/icoc-dev/icoc/harness"
)

// statusNames returns the names of the Table 7-8 specs that keep (all
// versions and rules), skipping the rows that are not applicable.
func statusNames(keep func(statusCase) bool) []string {
	var out []string
	for _, c := range statusCases {
		if c.notApplicable() == "" && keep(c) {
			out = append(out, c.name)
		}
	}
	return out
}

// quirkCases pairs each quirk of the reference vehicle with the specs that
// must catch it. Every Table 7-8 row gets the quirk that flips its Retry
// value; the 7.2.2.6 rules get a wrong count and a wrong interval.
func quirkCases() []harness.QuirkCase {
	var cases []harness.QuirkCase
	seen := map[int]bool{}
	for _, c := range statusCases {
		code := c.status.Code
		if seen[code] || c.notApplicable() != "" {
			continue
		}
		seen[code] = true
		quirk := fmt.Sprintf("retry=%d", code)
		if c.status.Retry {
			quirk = fmt.Sprintf("no-retry=%d", code)
		}
		cases = append(cases, harness.QuirkCase{Quirk: quirk, Specs: statusNames(func(s statusCase) bool { return s.status.Code == code })})
	}
	retried := func(s statusCase) bool { return s.retries() > 0 }
	cases = append(cases,
		harness.QuirkCase{Quirk: "retries=3", Specs: statusNames(retried)},
		harness.QuirkCase{Quirk: "interval-factor=0.5", Specs: statusNames(retried)},
		harness.QuirkCase{Quirk: "corrupt-upload", Specs: []string{uploadIntactName}},
		harness.QuirkCase{Quirk: "upper-extension", Specs: []string{fileNameName}},
	)
	return cases
}

// TestQuirks proves that every spec of this suite can fail: each quirk of
// the reference vehicle breaks one clause, and the specs of that clause must
// catch it.
func TestQuirks(t *testing.T) {
	harness.RunQuirkSelfTest(t, "http", quirkCases())
}

// TestSpecNames dry-runs the suite: every name cites its clause, once.
func TestSpecNames(t *testing.T) {
	harness.CheckSpecNames(t)
}
