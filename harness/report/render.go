package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

// view is the matrix prepared for display: every figure already formatted,
// in display order. Markdown and HTML render the same view, so the two
// outputs always say the same thing.
type view struct {
	Title        string
	Result       string
	ResultClass  string
	ResultDetail string
	Started      string
	SuiteCount   int
	Counts       []countView
	Total        int
	Figures      [][2]string
	Runs         []runView
	// RunSuites lists, when the suites' metadata differ in a few fields,
	// those fields per suite (the shared ones are in Runs, once).
	RunSuites *runTable
	Grids     []gridView
	Suites    []suiteView
	Rows      []rowView
	Failures  []failView
	Waivers   []WaiverUse
	Notes     []string
}

type runTable struct {
	Headers []string
	Rows    [][]string
}

type gridView struct {
	Title   string
	Columns []string
	Rows    []gridRowView
}

type gridRowView struct {
	Row   string
	Cells []gridCellView
}

type gridCellView struct {
	Class string
	Specs []gridSpecView
}

type gridSpecView struct {
	Verdict Verdict
	Class   string
	Name    string
	Ref     string
}

type countView struct {
	Verdict Verdict
	Class   string
	N       int
}

type runView struct {
	Title  string
	Fields [][2]string
	Certs  []CertFingerprint
}

type suiteView struct {
	N         int
	Name      string
	Path      string
	Started   string
	Wall      string
	Specs     int
	NotRun    string
	Succeeded string
}

type rowView struct {
	Clause   string
	Case     string
	Name     string
	Verdict  Verdict
	Class    string
	Wall     string
	SpecTime string
	Labels   string
	Notes    []string
	Flags    []string
	Ref      string
	Evidence []linkView
}

// linkView is a link to a file beside the matrix (evidence).
type linkView struct {
	Title string
	Path  string
}

type failView struct {
	Ref      string
	ID       string
	Name     string
	Suite    string
	Verdict  Verdict
	Outcome  Verdict
	Class    string
	Location string
	Message  string
	Stack    string
	Waiver   string
	Evidence []linkView
	// Timelines are the evidence's timeline pictures, shown inline.
	Timelines     []linkView
	EvidenceNotes []string
}

func verdictClass(v Verdict) string { return "v-" + strings.ReplaceAll(string(v), " ", "-") }

// fmtWall formats a wall duration with millisecond precision, adding a
// human reading from one minute up.
func fmtWall(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + " s"
	if d >= time.Minute {
		s += " (" + d.Round(time.Second).String() + ")"
	}
	return s
}

// fmtSpec formats spec seconds with 0.1 s precision, adding a human reading
// from one minute up.
func fmtSpec(sec float64) string {
	s := strconv.FormatFloat(sec, 'f', 1, 64) + " s"
	if sec >= 60 {
		s += " (" + time.Duration(sec*float64(time.Second)).Round(time.Second).String() + ")"
	}
	return s
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func runFields(r RunMetadata) [][2]string {
	clock := orDash(r.ClockMode)
	switch {
	case r.ClockMode == "real":
		clock += " (time scale " + fmtFloat(r.TimeScale) + ")"
	case r.TimeScale != 0:
		clock += ", time scale " + fmtFloat(r.TimeScale) + " wall s per spec s"
	}
	return [][2]string{
		{"DUT", orDash(r.DUT.Name)},
		{"Firmware", orDash(r.DUT.Firmware)},
		{"VIN", orDash(r.DUT.VIN)},
		{"Roles", orDash(strings.Join(r.DUT.Roles, ", "))},
		{"Profile", orDash(r.Profile)},
		{"Clock", clock},
		{"Transport", orDash(r.Transport)},
	}
}

// sharedRun splits the suites' metadata, when at least two suites
// attached some and their certificates agree, into the fields they share
// (one runView) and a table of the fields that differ, one line per suite.
func sharedRun(suites []Suite) (runView, *runTable, bool) {
	var with []Suite
	for _, s := range suites {
		if s.Run != nil {
			with = append(with, s)
		}
	}
	if len(with) < 2 {
		return runView{}, nil, false
	}
	first := runFields(*with[0].Run)
	for _, s := range with[1:] {
		if !sameCerts(s.Run.Certificates, with[0].Run.Certificates) {
			return runView{}, nil, false
		}
	}
	var common [][2]string
	var differ []int
	for i, f := range first {
		same := true
		for _, s := range with[1:] {
			if runFields(*s.Run)[i][1] != f[1] {
				same = false
			}
		}
		if same {
			common = append(common, f)
		} else {
			differ = append(differ, i)
		}
	}
	t := &runTable{Headers: []string{"Suite"}}
	for _, i := range differ {
		t.Headers = append(t.Headers, first[i][0])
	}
	for _, s := range with {
		row := []string{s.Description}
		fs := runFields(*s.Run)
		for _, i := range differ {
			row = append(row, fs[i][1])
		}
		t.Rows = append(t.Rows, row)
	}
	title := fmt.Sprintf("Run (shared by the %d suites that describe it)", len(with))
	return runView{Title: title, Fields: common, Certs: with[0].Run.Certificates}, t, true
}

func sameCerts(a, b []CertFingerprint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// plural renders "1 suite", "2 suites".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// notRunFigure renders the specs that did not run, with the suites whose
// count nobody knows.
func notRunFigure(t Totals) string {
	s := strconv.Itoa(t.NotRun)
	if t.NotRunUncounted > 0 {
		s += " + the uncounted specs of " + plural(t.NotRunUncounted, "suite")
	}
	return s
}

func (m Matrix) view() view {
	t := m.Totals
	v := view{
		Title:      "icoc conformance matrix",
		Started:    fmtTime(m.StartTime),
		SuiteCount: len(m.Suites),
		Total:      t.Rows,
		Waivers:    m.Waivers,
		Notes:      m.Notes,
	}
	if m.Run != nil && m.Run.DUT.Name != "" {
		v.Title += ": " + m.Run.DUT.Name
		if m.Run.DUT.Firmware != "" {
			v.Title += " " + m.Run.DUT.Firmware
		}
	}
	var bad []string
	if n := t.Counts[Failed]; n > 0 {
		bad = append(bad, fmt.Sprintf("%d failed", n))
	}
	if n := t.Counts[Error]; n > 0 {
		bad = append(bad, fmt.Sprintf("%d error", n))
	}
	if t.SuitesNotRun > 0 {
		bad = append(bad, plural(t.SuitesNotRun, "suite")+" did not run")
	}
	if t.NotRun > 0 {
		bad = append(bad, plural(t.NotRun, "spec")+" did not run")
	}
	if t.NotRunUncounted > 0 {
		bad = append(bad, "the specs of "+plural(t.NotRunUncounted, "suite")+" uncounted")
	}
	switch {
	case t.Passed():
		v.Result, v.ResultClass = "PASSED", "result-pass"
		v.ResultDetail = fmt.Sprintf("%d passed, %d waived, %d not applicable, %d skipped, %d pending",
			t.Counts[Passed], t.Counts[Waived], t.Counts[NotApplicable], t.Counts[Skipped], t.Counts[Pending])
	case len(bad) == 0:
		v.Result, v.ResultClass = "NOTHING PASSED", "result-fail"
		v.ResultDetail = "no spec passed; a run that checks nothing is not a pass"
	default:
		v.Result, v.ResultClass = "FAILED", "result-fail"
		v.ResultDetail = strings.Join(bad, ", ")
	}
	for _, vd := range AllVerdicts {
		v.Counts = append(v.Counts, countView{vd, verdictClass(vd), t.Counts[vd]})
	}
	// refs are the failure references of the rows (F1, F2, ...), in the
	// order the Failures section lists them.
	refs := make([]string, len(m.Rows))
	nf := 0
	for i, r := range m.Rows {
		if r.Outcome == Failed || r.Outcome == Error {
			nf++
			refs[i] = fmt.Sprintf("F%d", nf)
		}
	}
	ratio := "—"
	if t.SpecWallTime > 0 {
		ratio = strconv.FormatFloat(t.Ratio(), 'f', 1, 64) + "×"
	}
	v.Figures = [][2]string{
		{"Wall time (suites, set-up included)", fmtWall(t.WallTime)},
		{"Wall time taken by specs", fmtWall(t.SpecWallTime)},
		{"Spec time covered", fmt.Sprintf("%s by %d specs", fmtSpec(t.SpecTime), t.SpecsWithSpecTime)},
		{"Spec time covered / wall time taken", ratio},
		{"Suites that did not run", strconv.Itoa(t.SuitesNotRun)},
		{"Specs that did not run", notRunFigure(t)},
		{"Passed specs with a phase that did not run", strconv.Itoa(t.PassedPhasesNotRun)},
		{"Flagged rows", strconv.Itoa(t.Flagged)},
	}
	if m.Run != nil {
		v.Runs = append(v.Runs, runView{Title: "Run", Fields: runFields(*m.Run), Certs: m.Run.Certificates})
	} else if shared, table, ok := sharedRun(m.Suites); ok {
		v.Runs = append(v.Runs, shared)
		v.RunSuites = table
	} else {
		for i, s := range m.Suites {
			if s.Run != nil {
				v.Runs = append(v.Runs, runView{Title: fmt.Sprintf("Run (suite %d: %s)", i+1, s.Description), Fields: runFields(*s.Run), Certs: s.Run.Certificates})
			}
		}
	}
	for _, g := range m.Grids() {
		gv := gridView{Title: g.Title, Columns: g.Columns}
		for _, gr := range g.Rows {
			rv := gridRowView{Row: gr.Row}
			for _, c := range gr.Cells {
				cv := gridCellView{}
				if c.Verdict != "" {
					cv.Class = verdictClass(c.Verdict)
				}
				for _, ri := range c.Rows {
					r := m.Rows[ri]
					cv.Specs = append(cv.Specs, gridSpecView{Verdict: r.Verdict, Class: verdictClass(r.Verdict), Name: r.Name, Ref: refs[ri]})
				}
				rv.Cells = append(rv.Cells, cv)
			}
			gv.Rows = append(gv.Rows, rv)
		}
		v.Grids = append(v.Grids, gv)
	}
	for i, s := range m.Suites {
		ok := "passed"
		switch {
		case !s.Ran:
			ok = "did not run: " + s.NotRunReason
		case !s.Succeeded:
			ok = "failed"
		}
		notRun := strconv.Itoa(s.NotRun)
		if s.NotRunUnknown {
			notRun = "unknown"
		}
		v.Suites = append(v.Suites, suiteView{
			N: i + 1, Name: s.Description, Path: s.Path, Started: fmtTime(s.StartTime),
			Wall: fmtWall(s.RunTime), Specs: s.Specs, NotRun: notRun, Succeeded: ok,
		})
	}
	for _, r := range m.Rows {
		rv := rowView{
			Clause: r.Clause, Case: r.Case, Name: r.Spec,
			Verdict: r.Verdict, Class: verdictClass(r.Verdict),
			Wall: fmtWall(r.Duration), SpecTime: "—",
			Labels: strings.Join(r.Labels, ", "), Flags: r.Flags,
		}
		if rv.Name == "" {
			rv.Name = r.Name // a row from an older report.json
		}
		switch {
		case r.SuiteLevel:
			rv.Clause = "(suite)"
			rv.Name = r.Suite + ": " + r.Name
		case r.ID == "":
			rv.Clause = "(unidentified)"
		}
		if r.HasSpecTime {
			rv.SpecTime = fmtSpec(r.SpecTime)
		}
		if r.Verdict == Waived {
			rv.Notes = append(rv.Notes, "waived: "+r.WaiverReason)
		}
		for _, ph := range r.PhasesNotRun {
			rv.Notes = append(rv.Notes, "phase not run: "+ph)
		}
		if r.Verdict == Skipped || r.Verdict == NotApplicable {
			if r.Message != "" {
				rv.Notes = append(rv.Notes, r.Message)
			}
		}
		var timelines []linkView
		var evNotes []string
		if r.Evidence != nil {
			for _, k := range []string{EvidenceCapture, EvidenceKeyLog, EvidenceCAN, EvidenceTimeline, EvidenceExchanges, EvidenceReadme} {
				for _, f := range r.Evidence.Files {
					if f.Kind != k {
						continue
					}
					rv.Evidence = append(rv.Evidence, linkView{f.Title, f.Path})
					if k == EvidenceTimeline {
						timelines = append(timelines, linkView{f.Title, f.Path})
					}
				}
			}
			evNotes = r.Evidence.Notes
			for _, n := range evNotes {
				rv.Notes = append(rv.Notes, "evidence: "+n)
			}
		}
		if r.Outcome == Failed || r.Outcome == Error {
			f := failView{
				Ref: fmt.Sprintf("F%d", len(v.Failures)+1), ID: r.ID, Name: rv.Name, Suite: r.Suite,
				Verdict: r.Verdict, Outcome: r.Outcome, Class: rv.Class, Location: r.Location,
				Message: r.Message, Stack: r.Stack,
				Evidence: rv.Evidence, Timelines: timelines, EvidenceNotes: evNotes,
			}
			if r.Verdict == Waived {
				f.Waiver = r.WaiverReason
			}
			rv.Ref = f.Ref
			v.Failures = append(v.Failures, f)
		}
		v.Rows = append(v.Rows, rv)
	}
	return v
}

// mdEscaper backslash-escapes the characters that would change the meaning
// of text inside a Markdown (CommonMark/GFM) paragraph or table cell.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`<`, `\<`, `>`, `\>`, `|`, `\|`, `&`, `\&`, `~`, `\~`, `#`, `\#`,
	"\r\n", "<br>", "\n", "<br>", "\r", "<br>",
)

// md escapes s for a Markdown table cell or paragraph; line breaks become <br>.
func md(s string) string { return mdEscaper.Replace(strings.TrimSpace(s)) }

// mdLinks renders links as "[title](path), ...".
func mdLinks(ls []linkView) string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = fmt.Sprintf("[%s](%s)", md(l.Title), mdURL(l.Path))
	}
	return strings.Join(out, ", ")
}

// mdURL makes a relative path safe as a Markdown link destination.
func mdURL(p string) string {
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E").Replace(p)
}

// fence returns a code fence longer than any run of backticks in s.
func fence(s string) string {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// Markdown writes the matrix as a Markdown (GitHub-flavoured) document:
// result, summary, run metadata, suites, the matrix table, failure details,
// waivers and notes. Every piece of text from the report is escaped, so a
// spec name or failure message cannot break the table or inject markup.
// The same Matrix always yields the same bytes.
func (m Matrix) Markdown(w io.Writer) error {
	v := m.view()
	b := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }

	p("# %s\n\n", md(v.Title))
	p("**Result: %s** (%s)\n\n", v.Result, md(v.ResultDetail))
	p("Started %s; %d suites; %d rows.\n\n", v.Started, v.SuiteCount, v.Total)

	p("## Summary\n\n| Verdict | Rows |\n| --- | ---: |\n")
	for _, c := range v.Counts {
		p("| %s | %d |\n", md(string(c.Verdict)), c.N)
	}
	p("| **total** | **%d** |\n\n", v.Total)
	p("| Figure | Value |\n| --- | ---: |\n")
	for _, f := range v.Figures {
		p("| %s | %s |\n", md(f[0]), md(f[1]))
	}
	p("\n")

	if len(v.Runs) == 0 {
		p("## Run\n\nNo run metadata (%s) was attached.\n\n", md(EntryRun))
	}
	for _, r := range v.Runs {
		p("## %s\n\n| Field | Value |\n| --- | --- |\n", md(r.Title))
		for _, f := range r.Fields {
			p("| %s | %s |\n", md(f[0]), md(f[1]))
		}
		p("\n")
		if len(r.Certs) > 0 {
			p("| Certificate | SHA-256 |\n| --- | --- |\n")
			for _, c := range r.Certs {
				p("| %s | %s |\n", md(c.Name), md(c.SHA256))
			}
			p("\n")
		}
	}

	if t := v.RunSuites; t != nil {
		p("Differing per suite:\n\n|")
		for _, h := range t.Headers {
			p(" %s |", md(h))
		}
		p("\n|%s\n", strings.Repeat(" --- |", len(t.Headers)))
		for _, r := range t.Rows {
			p("|")
			for _, c := range r {
				p(" %s |", md(c))
			}
			p("\n")
		}
		p("\n")
	}

	if len(v.Grids) > 0 {
		p("## Behaviour tables\n\n")
		for _, g := range v.Grids {
			p("### %s\n\n| Row |", md(g.Title))
			for _, c := range g.Columns {
				p(" %s |", md(c))
			}
			p("\n| --- |%s\n", strings.Repeat(" --- |", len(g.Columns)))
			for _, r := range g.Rows {
				p("| %s |", md(r.Row))
				for _, c := range r.Cells {
					var specs []string
					for _, sp := range c.Specs {
						w := md(string(sp.Verdict))
						if sp.Ref != "" {
							w = fmt.Sprintf("**%s** ([%s](#%s))", w, sp.Ref, strings.ToLower(sp.Ref))
						}
						specs = append(specs, w)
					}
					p(" %s |", strings.Join(specs, ", "))
				}
				p("\n")
			}
			p("\n")
		}
	}

	p("## Suites\n\n| # | Suite | Path | Started | Wall time | Specs | Not run | Ginkgo |\n| ---: | --- | --- | --- | ---: | ---: | ---: | --- |\n")
	for _, s := range v.Suites {
		p("| %d | %s | %s | %s | %s | %d | %s | %s |\n", s.N, md(s.Name), md(s.Path), s.Started, s.Wall, s.Specs, s.NotRun, md(s.Succeeded))
	}
	p("\n")

	p("## Matrix\n\n| Clause | Case | Spec | Verdict | Wall time | Spec time | Labels | Notes |\n| --- | --- | --- | --- | ---: | ---: | --- | --- |\n")
	for _, r := range v.Rows {
		var notes []string
		if r.Ref != "" {
			notes = append(notes, fmt.Sprintf("see [%s](#%s)", r.Ref, strings.ToLower(r.Ref)))
		}
		if len(r.Evidence) > 0 {
			notes = append(notes, "evidence: "+mdLinks(r.Evidence))
		}
		for _, n := range r.Notes {
			notes = append(notes, md(n))
		}
		for _, f := range r.Flags {
			notes = append(notes, "⚠ "+md(f))
		}
		verdict := md(string(r.Verdict))
		if r.Verdict == Failed || r.Verdict == Error {
			verdict = "**" + verdict + "**"
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", md(r.Clause), md(r.Case), md(r.Name), verdict, r.Wall, r.SpecTime, md(r.Labels), strings.Join(notes, "; "))
	}
	p("\n")

	if len(v.Failures) > 0 {
		p("## Failures\n\n")
		for _, f := range v.Failures {
			p("<a id=\"%s\"></a>\n### %s: %s\n\n", strings.ToLower(f.Ref), f.Ref, md(f.Name))
			verdict := md(string(f.Verdict))
			if f.Verdict != f.Outcome {
				verdict += " (" + md(string(f.Outcome)) + ")"
			}
			p("- Verdict: %s\n", verdict)
			if f.ID != "" {
				p("- ID: %s\n", md(f.ID))
			}
			p("- Suite: %s\n", md(f.Suite))
			if f.Location != "" {
				p("- Location: %s\n", md(f.Location))
			}
			if f.Waiver != "" {
				p("- Waiver: %s\n", md(f.Waiver))
			}
			if len(f.Evidence) > 0 {
				p("- Evidence: %s\n", mdLinks(f.Evidence))
			}
			for _, n := range f.EvidenceNotes {
				p("- Evidence note: %s\n", md(n))
			}
			p("\n")
			for _, tl := range f.Timelines {
				p("![%s](%s)\n\n", md(tl.Title), mdURL(tl.Path))
			}
			if f.Message != "" {
				fc := fence(f.Message)
				p("%stext\n%s\n%s\n\n", fc, f.Message, fc)
			}
			if f.Stack != "" {
				fc := fence(f.Stack)
				p("Stack:\n\n%stext\n%s\n%s\n\n", fc, f.Stack, fc)
			}
		}
	}

	if len(v.Waivers) > 0 {
		p("## Waivers\n\n| Spec ID | Status | Reason |\n| --- | --- | --- |\n")
		for _, u := range v.Waivers {
			p("| %s | %s | %s |\n", md(u.ID), md(u.Status), md(u.Reason))
		}
		p("\n")
	}

	if len(v.Notes) > 0 {
		p("## Notes\n\n")
		for _, n := range v.Notes {
			p("- %s\n", md(n))
		}
		p("\n")
	}
	return b.Flush()
}

//go:embed matrix.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("matrix").Parse(htmlSource))

// HTML writes the matrix as one self-contained HTML page (inline CSS, no
// scripts, no external assets) with the same content as Markdown. Text from
// the report is escaped by html/template. The same Matrix always yields the
// same bytes.
func (m Matrix) HTML(w io.Writer) error {
	return htmlTemplate.Execute(w, m.view())
}
