package main

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/capture"
	"github.com/icoc-dev/icoc/harness/report"
	"github.com/onsi/ginkgo/v2/types"
)

// TestCasesUseNoTimeoutsOfTheirOwn: a Ginkgo SpecTimeout, NodeTimeout or
// GracePeriod written in a case is a wall time, which a real-clock run
// would outlast; every spec's bound comes from harness.SpecTime.
func TestCasesUseNoTimeoutsOfTheirOwn(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	err = filepath.WalkDir(filepath.Join(root, "cases"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			name := ""
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			}
			switch name {
			case "SpecTimeout", "NodeTimeout", "GracePeriod":
				t.Errorf("%s: %s(...) in a case: declare the spec time with harness.SpecTime instead, so the bound follows from it on the profile's clock", fset.Position(call.Pos()), name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRealClockDryRunBudgets dry-runs every suite with a real-clock
// profile, as icoc conformance does before a bench run: every spec
// declares its spec time, its budget on that clock is at least its
// scenario, and the suite timeout icoc passes to Ginkgo covers every
// budget, so no timeout cuts a real-clock run short.
func TestRealClockDryRunBudgets(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles every suite (-short)")
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(root, "harness/testdata/profiles/bench-good.yaml")
	p, err := harness.LoadProfile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if p.Clock.Scale != 1 {
		t.Fatalf("%s: want a real clock, got scale %v", prof, p.Clock.Scale)
	}
	plan, err := dryRun(root, []string{"./cases/..."}, "", "", prof, p.Clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Every suite built its tree (a spec-time decorator on a body without
	// a context, say, would break one).
	want, err := ginkgoSuites(root, []string{"./cases/..."})
	if err != nil {
		t.Fatal(err)
	}
	ran := map[string]bool{}
	for _, s := range plan.Specs {
		ran[s.Suite] = true
	}
	for _, dir := range want {
		if !ran[dir] {
			t.Errorf("suite %s: the dry run planned no spec of it (its tree did not build?)", dir)
		}
	}
	if len(plan.Specs) < 100 || plan.Suites != len(want) {
		t.Fatalf("dry run found %d specs in %d suites, want %d suites", len(plan.Specs), plan.Suites, len(want))
	}
	var sum time.Duration
	for _, s := range plan.Specs {
		if !s.Declared {
			t.Errorf("%s: declares no spec time (harness.SpecTime)", s.Name)
			continue
		}
		if b := harness.SpecBudget(p.Clock, s.SpecTime); b < p.Clock.Wall(s.SpecTime) {
			t.Errorf("%s: budget %v is shorter than its scenario %v", s.Name, b, s.SpecTime)
		}
		sum += harness.SpecBudget(p.Clock, s.SpecTime)
	}
	if plan.timeout() < sum {
		t.Errorf("suite timeout %v < the specs' budgets %v", plan.timeout(), sum)
	}
	total, _ := plan.specTime()
	if d := plan.describe(); !strings.Contains(d, total.Round(time.Second).String()) || !strings.Contains(d, "real clock") {
		t.Errorf("estimate %q", d)
	}
	// The smoke subset: a bench verdict in minutes, covering every table.
	smoke, err := dryRun(root, []string{"./cases/..."}, "", harness.SmokeLabel, prof, p.Clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, n := smoke.specTime()
	tables := map[string]bool{}
	for _, s := range smoke.Specs {
		if m := regexp.MustCompile(`\[[^ \]]+ (T\d+-\d+) `).FindStringSubmatch(s.Name); m != nil {
			tables[m[1]] = true
		}
	}
	for _, tb := range []string{"T5-1", "T7-4", "T7-5", "T7-8"} {
		if !tables[tb] {
			t.Errorf("the smoke subset has no row of %s: %v", tb, tables)
		}
	}
	if n == 0 || st > 30*time.Minute {
		t.Errorf("smoke subset: %d specs covering %v of spec time; want a verdict in minutes", n, st)
	}
	t.Logf("%s; smoke: %d specs, %v", plan.describe(), n, st)
}

func TestFollowerTellsProgress(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, progressEventsFile)
	plan := runPlan{Suites: 1, Clock: harness.Clock{Mode: "scaled", Scale: 0.5}, Specs: []planSpec{
		{Suite: "/s", Name: "a [1] x", SpecTime: time.Minute, Declared: true},
		{Suite: "/s", Name: "b [2] y", SpecTime: 2 * time.Minute, Declared: true},
	}}
	var term, log bytes.Buffer
	f := newFollower(plan, events, &term, &log)
	write := func(evs ...harness.ProgressEvent) {
		fh, _ := os.OpenFile(events, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		for _, ev := range evs {
			b, _ := json.Marshal(ev)
			fh.Write(append(b, '\n'))
		}
		fh.Close()
	}
	write(harness.ProgressEvent{Event: "start", Suite: "/s", Spec: "a [1] x", SpecTime: 60},
		harness.ProgressEvent{Event: "end", Suite: "/s", Spec: "a [1] x", SpecTime: 60, State: "failed"})
	fh, _ := os.OpenFile(events, os.O_APPEND|os.O_WRONLY, 0o644)
	fh.WriteString(`{"event":"start","suite":"/s","spec":"b [2] y",`) // half a line: read next time
	fh.Close()
	f.poll()
	fh, _ = os.OpenFile(events, os.O_APPEND|os.O_WRONLY, 0o644)
	fh.WriteString(`"spec_time":120}` + "\n")
	fh.Close()
	f.poll()
	got := term.String()
	for _, want := range []string{
		"icoc: [1/2] running a [1] x (s, 1m0s spec time) | 0 done (0 failed), 2 left, 3m0s spec time ahead (1m30s wall)",
		"icoc: [1/2] failed: a [1] x | 1 done (1 failed), 1 left, 2m0s spec time ahead (1m0s wall)",
		"icoc: [2/2] running b [2] y",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	if strings.Count(log.String(), "\n") != 3 {
		t.Errorf("log file:\n%s", log.String())
	}
}

func TestResumeFromEventsOfACutOffRun(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, progressEventsFile)
	var b bytes.Buffer
	for _, ev := range []harness.ProgressEvent{
		{Event: "end", Suite: "/s", Spec: "Table 7-8 [7.2.2.4 T7-8 503] HTTP/1.1 answered 503", State: "passed", At: time.Unix(1e9, 0)},
		{Event: "end", Suite: "/s", Spec: "Table 7-8 [7.2.2.4 T7-8 400] HTTP/1.1 answered 400", State: "failed"},
	} {
		j, _ := json.Marshal(ev)
		b.Write(append(j, '\n'))
	}
	if err := os.WriteFile(events, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, reps, only, err := resumeFrom(filepath.Join(dir, "report.json"), events)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 0 || len(only) != 1 || len(rs["/s"]) != 1 {
		t.Fatalf("resume %v, reports %d, from events %d", rs, len(reps), len(only))
	}
	// The run after it skipped the passed spec; the merge puts it back,
	// identified by its ID.
	now := []types.Report{{SuitePath: "/s", SuiteDescription: "s", SpecReports: types.SpecReports{
		{LeafNodeType: types.NodeTypeIt, LeafNodeText: "[7.2.2.4 T7-8 503] HTTP/1.1 answered 503", ContainerHierarchyTexts: []string{"Table 7-8"},
			State: types.SpecStateSkipped, Failure: types.Failure{Message: harness.ResumedPrefix}},
	}}}
	m := report.Build(mergeResumed(now, reps, only), nil)
	if len(m.Rows) != 1 || m.Rows[0].Verdict != report.Passed || m.Rows[0].ID != "7.2.2.4 T7-8 503" || len(m.Rows[0].PhasesNotRun) != 1 {
		t.Fatalf("merged rows %+v", m.Rows)
	}
	if _, _, _, err := resumeFrom(filepath.Join(dir, "none.json"), filepath.Join(dir, "none.jsonl")); err == nil {
		t.Error("resume with nothing passed: want an error")
	}
}

// TestConformanceEvidenceProgressResume runs one focused HTTP/1.1 suite
// twice as a bench user would, with the reference vehicle's retry
// intervals doubled (quirk interval-factor=2) so that the 503 row fails
// and the 400 row passes:
//   - the first run says how long it will take, tells its progress on the
//     terminal and in progress.log, and keeps the failed spec's evidence;
//     its row links the capture, key log, CAN log and timeline, and tshark
//     decrypts the capture and finds the request path and the status 503
//     the spec judged;
//   - the second run, with -resume, runs the failed spec again but not the
//     passed one, whose result the matrix keeps.
func TestConformanceEvidenceProgressResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a suite (-short)")
	}
	if _, err := capture.Open(); err != nil {
		t.Skipf("no capture here (%v): the evidence would hold no pcapng", err)
	}
	t.Setenv("ICOC_QUIRKS", "interval-factor=2")
	out := t.TempDir()
	focus := `\[7\.2\.2\.4 T7-8 (503|400)\] HTTP/1\.1 real-time`
	args := []string{"-out", out, "-focus", focus, "-procs", "1", "./cases/http/h1"}
	var log1 bytes.Buffer
	if err := runConformance(args, &log1, &log1); err == nil {
		t.Fatalf("the 503 row passed with its intervals doubled:\n%s", log1.String())
	}
	text := log1.String()
	for _, want := range []string{"icoc: plan: 2 specs in 1 suites; they cover", "icoc: [1/2] running", "icoc: [2/2]", "spec time ahead"} {
		if !strings.Contains(text, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, text)
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, progressLogFile)); err != nil || strings.Count(string(b), "\n") < 5 {
		t.Errorf("progress.log (%v):\n%s", err, b)
	}
	m, err := report.LoadMatrix(filepath.Join(out, "report.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var failed report.Row
	for _, r := range m.Rows {
		if r.ID == "7.2.2.4 T7-8 503" {
			failed = r
		}
	}
	if failed.Verdict != report.Failed || failed.Evidence == nil {
		t.Fatalf("503 row: verdict %s, evidence %+v", failed.Verdict, failed.Evidence)
	}
	files := map[string]string{}
	for _, f := range failed.Evidence.Files {
		files[f.Kind] = filepath.Join(out, filepath.FromSlash(f.Path))
		if _, err := os.Stat(files[f.Kind]); err != nil {
			t.Errorf("evidence file %s: %v", f.Path, err)
		}
	}
	for _, k := range []string{report.EvidenceCapture, report.EvidenceKeyLog, report.EvidenceCAN, report.EvidenceTimeline} {
		if files[k] == "" {
			t.Errorf("no %s in the evidence: %+v", k, failed.Evidence)
		}
	}
	html, _ := os.ReadFile(filepath.Join(out, report.HTMLFile))
	for _, k := range []string{report.EvidenceCapture, report.EvidenceTimeline} {
		rel, _ := filepath.Rel(out, files[k])
		if !bytes.Contains(html, []byte(`href="`+filepath.ToSlash(rel)+`"`)) {
			t.Errorf("conformance.html does not link %s", rel)
		}
	}
	if can, _ := os.ReadFile(files[report.EvidenceCAN]); !regexp.MustCompile(`(?m)^\(\d+\.\d{6}\) canudp [0-9A-F]{3}#[0-9A-F]* T$`).Match(can) {
		t.Errorf("can.log has no frame the harness sent:\n%s", can)
	}
	// The path and status the spec judged, from its failure message.
	path := regexp.MustCompile(`POST (/files/\S+) HTTP/1\.1`).FindStringSubmatch(failed.Message)
	if path == nil || !strings.Contains(failed.Message, "-> 503") {
		t.Fatalf("no judged request in the failure:\n%s", failed.Message)
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Log("tshark is not installed (apt-get install -y tshark): the decryption is not checked")
	} else {
		readme, _ := os.ReadFile(files[report.EvidenceReadme])
		var ports []capture.Port
		for _, m := range regexp.MustCompile(`(?m)^  (\d+)  .* \((tls|http|dns)\)$`).FindAllStringSubmatch(string(readme), -1) {
			n, _ := strconv.Atoi(m[1])
			ports = append(ports, capture.Port{Number: n, Proto: m[2]})
		}
		args := append(capture.TsharkArgs(files[report.EvidenceCapture], files[report.EvidenceKeyLog], ports),
			"-Y", "http", "-T", "fields", "-e", "http.request.uri", "-e", "http.response.code")
		got, err := exec.Command(tshark, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tshark %v: %v\n%s", args, err, got)
		}
		if !strings.Contains(string(got), path[1]) || !regexp.MustCompile(`(?m)^\s*503$`).Match(got) {
			t.Errorf("tshark did not find %s and 503 in the decrypted capture:\n%s", path[1], got)
		}
	}

	// Resume: the passed 400 row is not run again, the 503 row is.
	var log2 bytes.Buffer
	_ = runConformance(append([]string{"-resume"}, args...), &log2, &log2)
	text = log2.String()
	if !strings.Contains(text, "(1 more passed in the earlier run and are not repeated)") || strings.Contains(text, "running Table 7-8 response status codes, data upload over HTTP/1.1 [7.2.2.4 T7-8 400]") {
		t.Errorf("resumed run:\n%s", text)
	}
	m, err = report.LoadMatrix(filepath.Join(out, "report.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]report.Verdict{}
	for _, r := range m.Rows {
		verdicts[r.ID] = r.Verdict
	}
	if verdicts["7.2.2.4 T7-8 400"] != report.Passed || verdicts["7.2.2.4 T7-8 503"] != report.Failed {
		t.Errorf("after resume: %v", verdicts)
	}
}
