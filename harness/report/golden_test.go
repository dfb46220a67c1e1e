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
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := func() Matrix { return fixtureMatrix(t, tc.waivers) }
			switch tc.path {
			case goldenStopped:
				build = func() Matrix { return stoppedMatrix(t, true) }
			case goldenNoPlan:
				build = func() Matrix { return stoppedMatrix(t, false) }
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
