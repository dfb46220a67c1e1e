package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// update rewrites the golden files: go test ./harness/report/ -update
var update = flag.Bool("update", false, "rewrite testdata/*.golden.* from the current output")

// The fixtures testdata/report*.json and plan-stopped.json are real Ginkgo
// output of the sample suites in testdata/_sample, with absolute paths made
// relative (regenerate with testdata/_sample/generate.sh).
const (
	fixture        = "testdata/report.json"
	fixtureStopped = "testdata/report-stopped.json"
	planStopped    = "testdata/plan-stopped.json"
	waiverFile     = "testdata/waivers.yaml"
	goldenMD       = "testdata/conformance.golden.md"
	goldenHTML     = "testdata/conformance.golden.html"
	goldenMDNoW    = "testdata/conformance-nowaivers.golden.md"
	goldenStopped  = "testdata/conformance-stopped.golden.md"
	goldenNoPlan   = "testdata/conformance-stopped-noplan.golden.md"
	fixtureGrid    = "testdata/report-grid.json"
	goldenGridMD   = "testdata/conformance-grid.golden.md"
	goldenGridHTML = "testdata/conformance-grid.golden.html"
	goldenTimeline = "testdata/timeline.golden.svg"
)

func fixtureMatrix(t *testing.T, withWaivers bool) Matrix {
	t.Helper()
	reports, err := Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var w Waivers
	if withWaivers {
		if w, err = LoadWaivers(waiverFile); err != nil {
			t.Fatal(err)
		}
	}
	return Build(reports, w)
}

// stoppedMatrix is the matrix of a run Ginkgo stopped after its first
// failing suite, with or without the plan that counts the skipped suite.
func stoppedMatrix(t *testing.T, withPlan bool) Matrix {
	t.Helper()
	reports, err := Load(fixtureStopped)
	if err != nil {
		t.Fatal(err)
	}
	var plan []types.Report
	if withPlan {
		if plan, err = Load(planStopped); err != nil {
			t.Fatal(err)
		}
	}
	return BuildPlanned(reports, plan, nil)
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./harness/report/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tmp := filepath.Join(t.TempDir(), filepath.Base(path))
		os.WriteFile(tmp, got, 0o644)
		t.Errorf("%s differs from the output (written to %s); diff them, and run with -update if the change is intended", path, tmp)
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name    string
		waivers bool
		path    string
		render  func(Matrix, *bytes.Buffer) error
	}{
		{"markdown", true, goldenMD, func(m Matrix, b *bytes.Buffer) error { return m.Markdown(b) }},
		{"html", true, goldenHTML, func(m Matrix, b *bytes.Buffer) error { return m.HTML(b) }},
		{"markdown without waivers", false, goldenMDNoW, func(m Matrix, b *bytes.Buffer) error { return m.Markdown(b) }},
		{"stopped run with plan", false, goldenStopped, func(m Matrix, b *bytes.Buffer) error { return m.Markdown(b) }},
		{"stopped run without plan", false, goldenNoPlan, func(m Matrix, b *bytes.Buffer) error { return m.Markdown(b) }},
		{"grids markdown", false, goldenGridMD, func(m Matrix, b *bytes.Buffer) error { return m.Markdown(b) }},
		{"grids html", false, goldenGridHTML, func(m Matrix, b *bytes.Buffer) error { return m.HTML(b) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := func() Matrix { return fixtureMatrix(t, tc.waivers) }
			switch tc.path {
			case goldenStopped:
				build = func() Matrix { return stoppedMatrix(t, true) }
			case goldenNoPlan:
				build = func() Matrix { return stoppedMatrix(t, false) }
			case goldenGridMD, goldenGridHTML:
				build = func() Matrix {
					reports, err := Load(fixtureGrid)
					if err != nil {
						t.Fatal(err)
					}
					return Build(reports, nil)
				}
			}
			var first []byte
			// Render from scratch several times: map order must not show.
			for i := range 5 {
				var b bytes.Buffer
				if err := tc.render(build(), &b); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = b.Bytes()
				} else if !bytes.Equal(first, b.Bytes()) {
					t.Fatal("output is not deterministic")
				}
			}
			checkGolden(t, tc.path, first)
		})
	}
}

// sampleChart is a failed retry judgement: 503 answered, retried once in
// its window, then a second retry far too late.
func sampleChart() TimelineChart {
	return TimelineChart{
		Title:    "7.2.2.4 Table 7-8 row 503 (Retry Yes); 7.2.2.6 upload-realtime; HTTP/1.1",
		Expected: "exactly 3 attempts (1 + 2 retries), each retry 3s -600ms/+1.6s (spec time) after the previous answer",
		Verdict:  "retry #2 came 9.40s (spec time) after the answer to attempt #2",
		Windows: []ChartSpan{
			{From: 2.45, To: 4.65, Label: "retry 1: 3s -600ms/+1.6s after answer #1"},
			{From: 5.5, To: 7.7, Label: "retry 2: 3s -600ms/+1.6s after answer #2"},
		},
		Attempts: []ChartAttempt{
			{At: 0, Answered: 0.05, Label: "#1 503", OK: true},
			{At: 3.1, Answered: 3.1, Label: "#2 503", OK: true},
			{At: 12.5, Answered: -1, Label: "#3 not answered yet", OK: false},
		},
		End: 16,
	}
}

func TestTimelineSVGGolden(t *testing.T) {
	got := sampleChart().SVG()
	if !bytes.Equal(got, sampleChart().SVG()) {
		t.Fatal("SVG is not deterministic")
	}
	checkGolden(t, goldenTimeline, got)
}
