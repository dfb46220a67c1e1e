package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/report"
	"github.com/onsi/ginkgo/v2/types"
)

// A run that left a suite out (here: Ginkgo skipped it after the first
// suite failed) gets a plan from a dry run of that suite, and the matrix
// then counts its specs as not run, with Ginkgo's reason. The suites are
// harness/report's samples; the report is their real output.
func TestPlanCountsSuitesThatDidNotRun(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the sample suites (-short)")
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	sample := "harness/report/testdata/_sample/"
	reports, err := report.Load(filepath.Join(root, "harness/report/testdata/report-stopped.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range reports { // the fixture's paths are relative to the repository
		reports[i].SuitePath = filepath.Join(root, reports[i].SuitePath)
	}
	dir := t.TempDir()
	reportJSON := filepath.Join(dir, "report.json")
	writeJSON(t, reportJSON, reports)
	suites := []string{"./" + sample + "broken", "./" + sample + "conformance"}
	if err := planNotRun(root, dir, reportJSON, suites, "", "", io.Discard); err != nil {
		t.Fatal(err)
	}
	m, err := report.LoadMatrix(reportJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Suites[1]
	if s.Ran || s.NotRunUnknown || s.NotRun != 12 || !strings.Contains(s.NotRunReason, "prior suites failed") {
		t.Errorf("skipped suite %+v; want 12 specs not run, Ginkgo's reason", s)
	}
	// Every suite ran: no plan is written.
	for i := range reports {
		reports[i].StartTime = reports[0].StartTime
	}
	dir2 := t.TempDir()
	writeJSON(t, filepath.Join(dir2, "report.json"), reports)
	if err := planNotRun(root, dir2, filepath.Join(dir2, "report.json"), suites, "", "", io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir2, report.PlanFile)); !os.IsNotExist(err) {
		t.Errorf("plan written although every suite ran (%v)", err)
	}
}

// A profile that fixes the CAN bus's address is one bus: parallel Ginkgo
// processes are refused before anything runs.
func TestFixedBusRefusesParallelProcesses(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "harness/profiles/sim.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(string(b), `  interface: ""`, "  udp: 239.64.142.206:29536", 1)
	y = strings.ReplaceAll(y, " fixtures/", " "+root+"/fixtures/")
	prof := filepath.Join(t.TempDir(), "fixed-bus.yaml")
	if err := os.WriteFile(prof, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	err = runConformance([]string{"-profile", prof, "-out", t.TempDir(), "-procs", "2"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "fixes the CAN bus (can.udp)") || !strings.Contains(err.Error(), "-procs 1") {
		t.Errorf("error %v; want the fixed bus named and -procs 1 advised", err)
	}
}

func writeJSON(t *testing.T, path string, reports []types.Report) {
	t.Helper()
	b, err := json.Marshal(reports)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
