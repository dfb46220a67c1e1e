package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

func rowByID(t *testing.T, m Matrix, id string) Row {
	t.Helper()
	rows := m.RowsByID(id)
	if len(rows) != 1 {
		t.Fatalf("RowsByID(%q): %d rows, want 1", id, len(rows))
	}
	return rows[0]
}

// TestFixtureCoversEveryVerdict guards the fixture: if it is regenerated,
// it must still hold a spec of every kind the golden files are meant to show.
func TestFixtureCoversEveryVerdict(t *testing.T) {
	reports, err := Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	states := map[types.SpecState]bool{}
	suiteFail := false
	for _, r := range reports {
		for _, sr := range r.SpecReports {
			states[sr.State] = true
			if sr.LeafNodeType == types.NodeTypeBeforeSuite && sr.State.Is(types.SpecStateFailureStates) {
				suiteFail = true
			}
		}
	}
	for _, s := range []types.SpecState{types.SpecStatePassed, types.SpecStateFailed, types.SpecStatePanicked, types.SpecStateTimedout, types.SpecStateSkipped, types.SpecStatePending} {
		if !states[s] {
			t.Errorf("fixture has no spec in state %s", s)
		}
	}
	if !suiteFail {
		t.Error("fixture has no failing BeforeSuite")
	}
	m := fixtureMatrix(t, true)
	for _, v := range AllVerdicts {
		if m.Totals.Counts[v] == 0 {
			t.Errorf("fixture matrix has no %q row", v)
		}
	}
}

func TestBuildFixture(t *testing.T) {
	m := fixtureMatrix(t, true)
	for id, want := range map[string]Verdict{
		"7.2.2.4 T7-8 503":  Passed,
		"7.2.2.10 T7-9 400": Failed,
		"7.1.1.7":           Error, // panicked (and waived: a waiver does not cover errors)
		"7.2.2.4 T7-8 500":  Error, // timed out
		"7.3.1 T7-12":       NotApplicable,
		"7.4.2":             Skipped,
		"7.5.1":             Pending,
		"7.2.3 T7-4 B":      Waived,
		"7.2.3 T7-4 A":      Passed, // waived but passing
		"7.2.2.6":           Passed, // with a phase that did not run
	} {
		if got := rowByID(t, m, id).Verdict; got != want {
			t.Errorf("%s: verdict %q, want %q", id, got, want)
		}
	}
	if r := rowByID(t, m, "7.2.3 T7-4 A"); !r.HasFlag(FlagWaiverNotNeeded) {
		t.Errorf("waived passing spec not flagged: %v", r.Flags)
	}
	if r := rowByID(t, m, "7.1.1.7"); !r.HasFlag(FlagWaiverNotForErrors) || r.WaiverReason == "" {
		t.Errorf("waived panicking spec: flags %v, reason %q", r.Flags, r.WaiverReason)
	}
	w := rowByID(t, m, "7.2.3 T7-4 B")
	if w.Outcome != Failed || !strings.Contains(w.WaiverReason, "ICOC-17") || !strings.Contains(w.Message, "observed a completed handshake") {
		t.Errorf("waived row: %+v", w)
	}
	f := rowByID(t, m, "7.2.2.10 T7-9 400")
	if !strings.Contains(f.Message, "clause 7.2.2.10") || !strings.HasSuffix(f.Location, "conformance_test.go:49") {
		t.Errorf("failed row message %q location %q", f.Message, f.Location)
	}
	if p := rowByID(t, m, "7.1.1.7"); !strings.Contains(p.Message, "panic: assignment to entry in nil map") || p.Stack == "" {
		t.Errorf("panicked row message %q stack %q", p.Message, p.Stack)
	}

	// Quirk self-test questions.
	if !m.Failed("7.2.2.10 T7-9 400") || !m.Failed("7.2.3  T7-4 B") || !m.Failed("7.2.2.4 T7-8 500") {
		t.Error("Failed: want true for failed, waived and error specs")
	}
	if m.Failed("7.2.2.4 T7-8 503") || m.Failed("7.3.1 T7-12") || m.Failed("no such") {
		t.Error("Failed: want false for passed, not-applicable and unknown specs")
	}

	// The failing BeforeSuite of the second suite is an error row, first.
	if r := m.Rows[0]; !r.SuiteLevel || r.Verdict != Error || r.Node != "BeforeSuite" || !strings.Contains(r.Message, "could not reach the MQTT broker") {
		t.Errorf("first row is not the BeforeSuite error: %+v", r)
	}
	if m.Suites[1].NotRun != 1 || m.Totals.NotRun != 1 {
		t.Errorf("NotRun: suite %d, total %d; want 1, 1", m.Suites[1].NotRun, m.Totals.NotRun)
	}
	if m.Totals.Passed() {
		t.Error("Totals.Passed() with failures")
	}
	// The passed spec whose dead-link phase did not run says so.
	if r := rowByID(t, m, "7.2.2.6"); len(r.PhasesNotRun) != 1 || !strings.HasPrefix(r.PhasesNotRun[0], "dead-link phase: ") {
		t.Errorf("phases not run: %q", r.PhasesNotRun)
	}
	if m.Totals.PassedPhasesNotRun != 1 || m.Totals.PhasesNotRun != 1 {
		t.Errorf("phases not run: %d passed of %d", m.Totals.PassedPhasesNotRun, m.Totals.PhasesNotRun)
	}
	// The suite that did not compile did not run; with no plan its specs
	// are uncounted, and the compiler's message is the reason.
	u := m.Suites[2]
	if u.Ran || !u.NotRunUnknown || !strings.Contains(u.NotRunReason, "Failed to compile") || u.Description != "uncompilable" {
		t.Errorf("uncompilable suite: %+v", u)
	}
	if m.Totals.SuitesNotRun != 1 || m.Totals.NotRunUncounted != 1 {
		t.Errorf("suites not run %d, uncounted %d; want 1, 1", m.Totals.SuitesNotRun, m.Totals.NotRunUncounted)
	}

	// Unidentified spec last, flagged.
	last := m.Rows[len(m.Rows)-1]
	if last.ID != "" || !last.HasFlag(FlagUnidentified) || last.Verdict != Passed {
		t.Errorf("last row: %+v", last)
	}

	// Order: clause natural order.
	var clauses []string
	for _, r := range m.Rows {
		if r.ID != "" {
			clauses = append(clauses, r.ID)
		}
	}
	wantOrder := []string{"7.1.1.7", "7.1.1.10", "7.2.2.4 T7-8 500", "7.2.2.4 T7-8 503", "7.2.2.4 T7-8 504", "7.2.2.6", "7.2.2.10 T7-9 400", "7.2.3 T7-4 A", "7.2.3 T7-4 B", "7.3.1 T7-12", "7.4.2", "7.5.1"}
	if !slices.Equal(clauses, wantOrder) {
		t.Errorf("order:\n%q\nwant\n%q", clauses, wantOrder)
	}

	// Totals.
	sum := 0
	for _, v := range AllVerdicts {
		sum += m.Totals.Counts[v]
	}
	if sum != m.Totals.Rows || sum != len(m.Rows) {
		t.Errorf("counts sum %d, rows %d/%d", sum, m.Totals.Rows, len(m.Rows))
	}
	if m.Totals.SpecTime != 883.5 || m.Totals.SpecsWithSpecTime != 7 {
		t.Errorf("spec time %v by %d", m.Totals.SpecTime, m.Totals.SpecsWithSpecTime)
	}
	if m.Totals.Ratio() <= 1 {
		t.Errorf("ratio %v", m.Totals.Ratio())
	}

	// Metadata: only the first suite attached it, so it is the run's.
	if m.Run == nil || m.Run.DUT.VIN != "JT000000000000017" || m.Run.TimeScale != 0.01 || len(m.Run.Certificates) != 2 || m.Run.DUT.Roles[0] != "vehicle" {
		t.Errorf("run metadata %+v", m.Run)
	}

	// Waivers.
	var st []string
	for _, u := range m.Waivers {
		st = append(st, u.ID+"="+u.Status)
	}
	wantSt := []string{"7.1.1.7=not for errors", "7.2.3 T7-4 A=no longer needed", "7.2.3 T7-4 B=applied", "7.3.1 T7-12=not exercised", "9.9.9 T9-9=no such spec"}
	if !slices.Equal(st, wantSt) {
		t.Errorf("waivers %q, want %q", st, wantSt)
	}
}

// A run Ginkgo stopped after its first failing suite: the suite it skipped
// did not run, and the plan (the dry run) counts its specs.
func TestBuildStopped(t *testing.T) {
	m := stoppedMatrix(t, true)
	if len(m.Suites) != 2 {
		t.Fatalf("suites %+v", m.Suites)
	}
	s := m.Suites[1]
	if s.Ran || s.NotRunUnknown || s.NotRun != 12 || s.Description != "icoc sample: HTTP/1.1 retries" || !strings.Contains(s.NotRunReason, "prior suites failed") {
		t.Errorf("skipped suite %+v", s)
	}
	if m.Totals.SuitesNotRun != 1 || m.Totals.NotRun != 13 || m.Totals.Passed() {
		t.Errorf("totals %+v", m.Totals)
	}
	// Without the plan the count is unknown, never 0.
	m = stoppedMatrix(t, false)
	if s := m.Suites[1]; !s.NotRunUnknown || m.Totals.NotRunUncounted != 1 || m.Totals.NotRun != 1 {
		t.Errorf("without plan: suite %+v totals %+v", s, m.Totals)
	}
	// A planned suite the report lacks altogether did not run either.
	reports, _ := Load(fixtureStopped)
	plan, _ := Load(planStopped)
	m = BuildPlanned(reports[:1], plan, nil)
	if len(m.Suites) != 2 || m.Suites[1].Ran || m.Suites[1].NotRun != 12 || !strings.Contains(m.Suites[1].NotRunReason, "no report") {
		t.Errorf("missing suite: %+v", m.Suites)
	}
}

// spec builds a minimal spec report for synthetic tests.
func spec(text string, state types.SpecState, msg string, entries ...types.ReportEntry) types.SpecReport {
	sr := types.SpecReport{
		ContainerHierarchyTexts: []string{"suite"},
		LeafNodeType:            types.NodeTypeIt,
		LeafNodeText:            text,
		State:                   state,
		RunTime:                 time.Second,
		ReportEntries:           entries,
	}
	if msg != "" {
		sr.Failure = types.Failure{Message: msg, Location: types.CodeLocation{FileName: "x_test.go", LineNumber: 7}}
	}
	return sr
}

func entry(name, asJSON string) types.ReportEntry {
	return types.ReportEntry{Name: name, Value: types.ReportEntryValue{AsJSON: asJSON}}
}

func TestBuildSynthetic(t *testing.T) {
	rep := types.Report{
		SuiteDescription: "s",
		PreRunStats:      types.PreRunStats{SpecsThatWillRun: 6},
		SpecReports: types.SpecReports{
			spec("[1.2 X] a", types.SpecStatePassed, "", entry(EntrySpecTime, "2.5"), entry(EntrySpecTime, "1.5")),
			spec("[1.2 X] b", types.SpecStateInterrupted, "interrupted by user"),
			spec("[1.3] c", types.SpecStateAborted, "aborted"),
			spec("[1.4] d", types.SpecStatePassed, "", entry(EntrySpecTime, `"soon"`)),
			spec("[1.5] e", types.SpecStateSkipped, "  Not Applicable: no MQTT"),
			spec("[1.6] f", types.SpecStateInvalid, ""),
			{LeafNodeType: types.NodeTypeAfterSuite, State: types.SpecStatePanicked, Failure: types.Failure{Message: "boom", ForwardedPanic: "x"}},
			{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStatePassed},
		},
	}
	m := Build([]types.Report{rep}, Waivers{" 1.3 ": "aborts are not waivable"})
	if len(m.Rows) != 7 {
		t.Fatalf("%d rows, want 7 (passing suite nodes are not rows)", len(m.Rows))
	}
	dup := m.RowsByID("1.2 X")
	if len(dup) != 2 || dup[0].SpecTime != 4 {
		t.Errorf("duplicate rows: %+v", dup)
	}
	for _, id := range []string{"1.2 X", "1.3", "1.6"} {
		if !m.Failed(id) {
			t.Errorf("%s: want failing (interrupted, aborted, invalid state are errors)", id)
		}
	}
	if r := rowByID(t, m, "1.3"); r.Verdict != Error || !r.HasFlag(FlagWaiverNotForErrors) {
		t.Errorf("aborted waived: %+v", r)
	}
	if r := rowByID(t, m, "1.4"); r.HasSpecTime || !r.HasFlag(FlagBadSpecTime) {
		t.Errorf("bad spec time: %+v", r)
	}
	if r := rowByID(t, m, "1.5"); r.Verdict != NotApplicable {
		t.Errorf("not applicable: %+v", r)
	}
	if r := m.Rows[0]; !r.SuiteLevel || r.Node != "AfterSuite" || r.Verdict != Error || !strings.Contains(r.Message, "panic: x") {
		t.Errorf("AfterSuite row: %+v", r)
	}
	if m.Totals.SpecWallTime != 6*time.Second {
		t.Errorf("spec wall time %v: suite-level rows must not count", m.Totals.SpecWallTime)
	}
	if m.Run != nil || !slices.ContainsFunc(m.Notes, func(n string) bool { return strings.Contains(n, "no icoc.run") }) {
		t.Errorf("missing metadata not noted: %q", m.Notes)
	}

	// No specs at all is not a pass.
	if e := Build(nil, nil); e.Totals.Passed() || len(e.Rows) != 0 {
		t.Error("empty matrix passes")
	}
}

func TestRunMetadataFromInProcessReport(t *testing.T) {
	// In process (e.g. ReportAfterSuite) entries hold the raw value only.
	meta := RunMetadata{Profile: "p.yaml", ClockMode: "real", TimeScale: 1}
	sr := types.SpecReport{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStatePassed,
		ReportEntries: types.ReportEntries{{Name: EntryRun, Value: types.WrapEntryValue(meta)}}}
	m := Build([]types.Report{{SuiteDescription: "s", SpecReports: types.SpecReports{sr, spec("[1] a", types.SpecStatePassed, "", types.ReportEntry{Name: EntrySpecTime, Value: types.WrapEntryValue(3.0)})}}}, nil)
	if m.Run == nil || m.Run.Profile != "p.yaml" || m.Totals.SpecTime != 3 {
		t.Errorf("run %+v, spec time %v", m.Run, m.Totals.SpecTime)
	}
	if !m.Totals.Passed() {
		t.Error("one passing spec, want Passed")
	}
}

func TestDifferentMetadataPerSuite(t *testing.T) {
	mk := func(desc, fw string) types.Report {
		b, _ := json.Marshal(RunMetadata{DUT: DUTIdentity{Name: "dcm", Firmware: fw}})
		return types.Report{SuiteDescription: desc, SpecReports: types.SpecReports{
			{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStatePassed, ReportEntries: types.ReportEntries{entry(EntryRun, string(b))}},
		}}
	}
	m := Build([]types.Report{mk("a", "1.0"), mk("b", "1.1")}, nil)
	if m.Run != nil || m.Suites[0].Run.DUT.Firmware != "1.0" || m.Suites[1].Run.DUT.Firmware != "1.1" {
		t.Errorf("run %+v", m.Run)
	}
	var md strings.Builder
	if err := m.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "## Run (suite 1: a)") || !strings.Contains(md.String(), "## Run (suite 2: b)") {
		t.Errorf("per-suite metadata not rendered:\n%s", md.String())
	}
}

func TestEscaping(t *testing.T) {
	evil := "[1.1 <b>x</b>] name </td><script>alert(1)</script> | *bold* `code` [link](http://e)\nsecond line"
	msg := "Expected\n    <int>: 3\n```\nto equal | 1 & <b>"
	m := Build([]types.Report{{SuiteDescription: "s <i>", SpecReports: types.SpecReports{spec(evil, types.SpecStateFailed, msg)}}},
		Waivers{"1.1 <b>x</b>": "reason <script>"})
	var h, md strings.Builder
	if err := m.HTML(&h); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h.String(), "<script>") || strings.Contains(h.String(), "<b>") || strings.Contains(h.String(), "<i>") {
		t.Error("HTML output contains unescaped markup from the report")
	}
	if !strings.Contains(h.String(), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("HTML output lost the escaped spec name")
	}
	if err := m.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "alert(1)") && strings.HasPrefix(line, "| ") {
			// The matrix row: exactly 9 unescaped pipes (8 columns).
			if n := strings.Count(line, "|") - strings.Count(line, `\|`); n != 9 {
				t.Errorf("matrix row has %d unescaped pipes, want 9: %s", n, line)
			}
			if strings.Contains(line, "<script>") || strings.Contains(line, "<b>") {
				t.Errorf("matrix row has raw markup: %s", line)
			}
		}
	}
	// The message contains ``` so its fence must be longer.
	if !strings.Contains(out, "````text\nExpected\n    <int>: 3\n```\nto equal | 1 & <b>\n````") {
		t.Errorf("failure message not fenced safely:\n%s", out)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	one, _ := json.Marshal(types.Report{SuiteDescription: "one"})
	if r, err := Load(write("one.json", string(one))); err != nil || len(r) != 1 || r[0].SuiteDescription != "one" {
		t.Errorf("single object: %v, %v", r, err)
	}
	if r, err := Load(write("arr.json", "["+string(one)+","+string(one)+"]")); err != nil || len(r) != 2 {
		t.Errorf("array: %v, %v", r, err)
	}
	for name, data := range map[string]string{
		"bad.json":   `[{"SuiteDescription": "x",`,
		"empty.json": "  ",
		"none.json":  "[]",
		"null.json":  "null",
		"other.json": `{"hello": "world"}`,
	} {
		p := write(name, data)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("Load(%s): error %v, want one naming the file", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

func TestWriteFiles(t *testing.T) {
	out := filepath.Join(t.TempDir(), "reports")
	if err := WriteFiles(fixture, out, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{MarkdownFile, HTMLFile} {
		if b, err := os.ReadFile(filepath.Join(out, f)); err != nil || len(b) == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	// A bad or missing report leaves the existing outputs alone.
	os.WriteFile(filepath.Join(out, MarkdownFile), []byte("old md"), 0o644)
	os.WriteFile(filepath.Join(out, HTMLFile), []byte("old html"), 0o644)
	bad := filepath.Join(t.TempDir(), "report.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	for _, in := range []string{bad, filepath.Join(out, "missing.json")} {
		if err := WriteFiles(in, out, nil); err == nil {
			t.Errorf("WriteFiles(%s): no error", in)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, MarkdownFile)); string(b) != "old md" {
		t.Error("conformance.md was touched")
	}
	if b, _ := os.ReadFile(filepath.Join(out, HTMLFile)); string(b) != "old html" {
		t.Error("conformance.html was touched")
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Errorf("output dir holds %d entries, want 2 (no temporary files left)", len(entries))
	}
}

func TestLoadWaivers(t *testing.T) {
	dir := t.TempDir()
	write := func(data string) string {
		f, err := os.CreateTemp(dir, "w*.yaml")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(data)
		f.Close()
		return f.Name()
	}
	w, err := LoadWaivers(write("\"7.2.3  T7-4 B\": known bug\n\"[7.1.1.7]\": |\n  multi\n  line\n"))
	if err != nil || w["7.2.3 T7-4 B"] != "known bug" || w["7.1.1.7"] != "multi\nline" {
		t.Errorf("waivers %q, %v", w, err)
	}
	if w, err := LoadWaivers(write("# nothing waived\n")); err != nil || w == nil || len(w) != 0 {
		t.Errorf("empty file: %v, %v", w, err)
	}
	for _, data := range []string{
		"a: x\na: y\n",                  // duplicate
		"\"7.1 X\": x\n\"7.1  X\": y\n", // duplicate after normalization
		"\"7.1\": \"\"\n",               // empty reason
		"\"7.1\":\n",                    // null reason
		"- 7.1\n",                       // not a mapping
		"\"7.1\": [a, b]\n",             // reason not a scalar
		"a: [",                          // bad YAML
	} {
		p := write(data)
		if _, err := LoadWaivers(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("LoadWaivers(%q): error %v, want one naming the file", data, err)
		}
	}
	if _, err := LoadWaivers(filepath.Join(dir, "none.yaml")); err == nil {
		t.Error("missing waiver file: no error")
	}
}
