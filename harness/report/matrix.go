package report

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// Verdict is the conformance outcome of one row of the matrix. Its value is
// the word the matrix prints; the set of verdicts is exactly AllVerdicts.
type Verdict string

// The verdicts. Failure (the DUT did the wrong thing, an assertion failed)
// and error (the spec could not judge: panic, timeout, interrupt, abort, a
// broken suite set-up) are kept distinct.
const (
	// Passed: the spec ran and every expectation held.
	Passed Verdict = "passed"
	// Failed: an expectation failed (Ginkgo state "failed").
	Failed Verdict = "failed"
	// Error: the spec panicked, timed out, was interrupted or aborted, or a
	// suite-level node (BeforeSuite, AfterSuite, ...) failed.
	Error Verdict = "error"
	// Waived: the spec failed and the DUT's waiver file accepts that.
	Waived Verdict = "waived"
	// NotApplicable: the spec was skipped with a message starting with
	// "not applicable" (the DUT lacks the capability).
	NotApplicable Verdict = "not applicable"
	// Skipped: any other skip.
	Skipped Verdict = "skipped"
	// Pending: the spec is marked pending and was not run.
	Pending Verdict = "pending"
)

// AllVerdicts lists every Verdict once, in the order the matrix prints
// counts: the outcomes that need attention first.
var AllVerdicts = []Verdict{Failed, Error, Waived, Passed, NotApplicable, Skipped, Pending}

// NotApplicablePrefix is the prefix of the Skip message with which the
// harness skips a spec for a capability the DUT lacks. The comparison
// ignores case and leading white space.
const NotApplicablePrefix = "not applicable"

// Flags a Row can carry. Each is a fixed phrase so code can test for it.
const (
	// FlagUnidentified: the spec's text has no leading [bracket ID].
	FlagUnidentified = "unidentified: no [clause] ID"
	// FlagWaiverNotNeeded: the spec is waived but passed.
	FlagWaiverNotNeeded = "waiver no longer needed"
	// FlagWaiverNotForErrors: the spec is waived but ended in error, which a
	// waiver does not cover (an error means the spec could not judge).
	FlagWaiverNotForErrors = "waiver does not cover errors"
	// FlagBadSpecTime: an icoc.spec_time entry was not a number.
	FlagBadSpecTime = "unreadable icoc.spec_time entry"
	// FlagSuiteSetup: the row is a failed suite-level node, not a spec.
	FlagSuiteSetup = "suite set-up/tear-down failed"
)

// Row is one line of the conformance matrix: one spec of one suite, or one
// failed suite-level node (BeforeSuite, AfterSuite, ...).
//
// Invariants: Verdict is Waived only if Outcome is Failed and WaiverReason
// is non-empty; otherwise Verdict == Outcome. ID is "" iff Clause is "";
// a spec row without an ID carries FlagUnidentified, and suite-level rows
// never have an ID.
// SpecTime is 0 when HasSpecTime is false.
type Row struct {
	// Suite is the description the suite passed to RunSpecs.
	Suite string
	// SuiteIndex is the index of the suite in Matrix.Suites.
	SuiteIndex int
	// Node is Ginkgo's node type of the row: "It" for specs, or
	// "BeforeSuite", "AfterSuite", ... for suite-level rows.
	Node string
	// SuiteLevel is true for a failed suite-level node; its Verdict is Error.
	SuiteLevel bool
	// ID is the normalized text inside the spec's leading brackets.
	ID string
	// Clause is the first field of ID, e.g. "7.2.2.4".
	Clause string
	// Case is the rest of ID, e.g. "T7-8 503"; it may be empty.
	Case string
	// Name is the spec's full text as Ginkgo reports it (containers and leaf
	// joined by spaces); it is what --focus matches.
	Name string
	// Verdict is what the matrix shows.
	Verdict Verdict
	// Outcome is the verdict before waivers were applied.
	Outcome Verdict
	// State is Ginkgo's spec state, e.g. "timedout".
	State string
	// Duration is the wall time Ginkgo measured for the spec.
	Duration time.Duration
	// SpecTime is the sum of the spec's icoc.spec_time entries in spec seconds.
	SpecTime float64
	// HasSpecTime says whether the spec attached at least one readable
	// icoc.spec_time entry.
	HasSpecTime bool
	// Labels are the spec's labels, containers' first, deduplicated.
	Labels []string
	// Message is the failure message (with the panic value for panics and
	// any follow-on failures) for failed, error and waived rows, and the
	// skip message for skipped and not-applicable rows; "" otherwise.
	Message string
	// Location is where the failure happened, "file:line", prefixed with
	// the node ("in [BeforeEach] at ...") when that is not the leaf node.
	Location string
	// Stack is the failure's stack trace for rows whose Outcome is Error.
	Stack string
	// WaiverReason is the waiver's reason if the DUT's waivers name ID.
	WaiverReason string
	// Flags are the row's warnings (the Flag... constants, in a fixed
	// order), empty when nothing is wrong.
	Flags []string
	// PhasesNotRun are the spec's EntryPhaseNotRun values ("phase: why"),
	// in report order: parts of the spec that did not run, whatever its
	// verdict.
	PhasesNotRun []string
}

// Failing reports whether the spec itself did not pass, waiver or not: its
// Outcome is Failed or Error. A quirk self-test counts a quirk as caught
// when the matching spec is Failing.
func (r Row) Failing() bool { return r.Outcome == Failed || r.Outcome == Error }

// HasFlag reports whether the row carries flag f.
func (r Row) HasFlag(f string) bool {
	for _, g := range r.Flags {
		if g == f {
			return true
		}
	}
	return false
}

// Suite summarizes one Ginkgo suite (one types.Report) of the run.
type Suite struct {
	// Description is the text passed to RunSpecs.
	Description string
	// Path is the suite's directory as Ginkgo recorded it.
	Path string
	// StartTime is when the suite started.
	StartTime time.Time
	// RunTime is the suite's wall time, set-up and tear-down included.
	RunTime time.Duration
	// Succeeded is Ginkgo's verdict on the whole suite.
	Succeeded bool
	// SpecialFailureReasons are Ginkgo's suite-level failure reasons
	// (interrupted, --fail-on-pending, ...), in Ginkgo's order.
	SpecialFailureReasons []string
	// Specs is the number of spec rows the suite contributed.
	Specs int
	// Ran is false for a suite Ginkgo never started (it did not compile,
	// earlier suites failed without --keep-going, the run's timeout had
	// passed) or that the plan lists but the report lacks.
	Ran bool
	// NotRun is how many specs Ginkgo meant to run but that appear nowhere
	// in the report: for a suite that ran, from its PreRunStats (a failed
	// BeforeSuite, an interrupt); for one that did not, from the plan. It
	// is never negative.
	NotRun int
	// NotRunUnknown is true for a suite that did not run and that the plan
	// does not count: its specs did not run, how many is unknown.
	NotRunUnknown bool
	// NotRunReason says why specs of the suite did not run; "" when every
	// spec it planned is in the report.
	NotRunReason string
	// Run is the suite's icoc.run metadata; nil if it attached none.
	Run *RunMetadata
}

// WaiverUse says what became of one waiver in this run.
type WaiverUse struct {
	// ID is the normalized spec ID the waiver names.
	ID string
	// Reason is the waiver's reason.
	Reason string
	// Status is one of "applied" (a failing spec was waived), "no longer
	// needed" (the spec passed), "not for errors" (the spec ended in error),
	// "not exercised" (the spec was skipped, pending or not applicable) and
	// "no such spec" (no row has this ID).
	Status string
}

// Totals are the figures of the matrix's summary.
//
// Invariants: the Counts of AllVerdicts sum to Rows; SpecWallTime is the sum
// of Duration over spec rows (suite-level rows excluded); SpecTime is the
// sum of SpecTime over all rows.
type Totals struct {
	// Rows is the number of rows.
	Rows int
	// Counts holds the number of rows per verdict; every verdict of
	// AllVerdicts is a key, possibly with count 0.
	Counts map[Verdict]int
	// NotRun is the sum of Suite.NotRun: specs that never reported.
	NotRun int
	// SuitesNotRun is the number of suites with Ran false.
	SuitesNotRun int
	// NotRunUncounted is the number of suites whose specs did not run in a
	// number nobody knows (Suite.NotRunUnknown).
	NotRunUncounted int
	// PhasesNotRun is the number of spec rows with at least one phase that
	// did not run; PassedPhasesNotRun of those that passed.
	PhasesNotRun       int
	PassedPhasesNotRun int
	// Flagged is the number of rows with at least one flag.
	Flagged int
	// WallTime is the sum of the suites' run times.
	WallTime time.Duration
	// SpecWallTime is the sum of the spec rows' wall durations.
	SpecWallTime time.Duration
	// SpecTime is the spec (protocol) time covered, in spec seconds: the
	// sum of all icoc.spec_time entries.
	SpecTime float64
	// SpecsWithSpecTime is how many rows attached an icoc.spec_time entry.
	SpecsWithSpecTime int
}

// Ratio returns spec time covered per wall second of spec run time
// (SpecTime / SpecWallTime in seconds), or 0 if SpecWallTime is 0.
func (t Totals) Ratio() float64 {
	if t.SpecWallTime <= 0 {
		return 0
	}
	return t.SpecTime / t.SpecWallTime.Seconds()
}

// Passed reports whether the run as a whole passes: at least one row passed
// or was waived, no row failed or errored, and every suite and spec ran.
func (t Totals) Passed() bool {
	return t.Counts[Failed] == 0 && t.Counts[Error] == 0 && t.NotRun == 0 &&
		t.SuitesNotRun == 0 && t.NotRunUncounted == 0 &&
		t.Counts[Passed]+t.Counts[Waived] > 0
}

// Matrix is the conformance matrix of one run. Build makes it; Markdown and
// HTML render it. It holds no maps whose order shows in the output, so
// rendering the same Matrix twice gives the same bytes.
//
// Invariants: Rows are sorted (failed suite-level rows first in suite
// order, then identified rows by Clause, Case and Name in CompareNatural
// order, then unidentified rows by Name; ties keep report order); every
// Row.SuiteIndex indexes Suites; Totals agree with Rows and Suites.
type Matrix struct {
	// Rows are the matrix's rows in display order.
	Rows []Row
	// Suites are the run's suites in report order.
	Suites []Suite
	// Totals are the summary figures.
	Totals Totals
	// Run is the run's metadata when every suite that attached icoc.run
	// attached the same value; nil when none did or they differ (then see
	// Suite.Run and Notes).
	Run *RunMetadata
	// StartTime is the earliest suite start time (zero if no suites).
	StartTime time.Time
	// Waivers says what became of each waiver, sorted by ID (CompareNatural).
	Waivers []WaiverUse
	// Notes are run-level warnings in a fixed order, e.g. suites without
	// metadata or unreadable entries.
	Notes []string
}

// RowsByID returns the rows whose ID equals NormalizeID(id), in display order.
func (m Matrix) RowsByID(id string) []Row {
	id = NormalizeID(id)
	var out []Row
	for _, r := range m.Rows {
		if id != "" && r.ID == id {
			out = append(out, r)
		}
	}
	return out
}

// Failed reports whether any spec with this bracket ID is Failing (failed
// or error, waived or not). It is false if no row has the ID.
func (m Matrix) Failed(id string) bool {
	for _, r := range m.RowsByID(id) {
		if r.Failing() {
			return true
		}
	}
	return false
}

// Build turns Ginkgo reports into the conformance matrix, applying waivers
// (nil for none). It never fails: anything odd in the input (missing or
// unreadable metadata, specs that never ran, ...) becomes a row
// flag or a note, so that nothing broken looks like a pass.
func Build(reports []types.Report, waivers Waivers) Matrix {
	return BuildPlanned(reports, nil, waivers)
}

// BuildPlanned is Build with the run's plan: Ginkgo dry-run reports of the
// suites the run meant to run (PlanFile). A suite that did not run is
// counted from its plan entry (how many specs did not run); a planned
// suite missing from reports is a suite that did not run. With no plan,
// the specs of a suite that never started are uncounted.
func BuildPlanned(reports, plan []types.Report, waivers Waivers) Matrix {
	var m Matrix
	type planned struct {
		desc  string
		specs int
	}
	plans := map[string]planned{}
	var counted []types.Report
	for _, p := range plan {
		if p.StartTime.IsZero() && len(p.SpecReports) == 0 {
			continue // the dry run did not run it either: no count
		}
		plans[p.SuitePath] = planned{p.SuiteDescription, p.PreRunStats.SpecsThatWillRun}
		counted = append(counted, p)
	}
	seen := map[string]bool{}
	var rows []Row
	type meta struct {
		suite int
		run   RunMetadata
	}
	var metas []meta
	for si, rep := range reports {
		seen[rep.SuitePath] = true
		s := Suite{
			Description:           rep.SuiteDescription,
			Path:                  rep.SuitePath,
			StartTime:             rep.StartTime,
			RunTime:               rep.RunTime,
			Succeeded:             rep.SuiteSucceeded,
			SpecialFailureReasons: rep.SpecialSuiteFailureReasons,
			Ran:                   !rep.StartTime.IsZero() || len(rep.SpecReports) > 0,
		}
		if !s.Ran {
			s.NotRunReason = "Ginkgo never started it"
			if len(rep.SpecialSuiteFailureReasons) > 0 {
				s.NotRunReason = strings.Join(rep.SpecialSuiteFailureReasons, "; ")
			}
			p, ok := plans[rep.SuitePath]
			s.NotRun, s.NotRunUnknown = p.specs, !ok
			if s.Description == "" {
				s.Description = p.desc
			}
			if s.Description == "" {
				s.Description = filepath.Base(rep.SuitePath)
			}
			m.Notes = append(m.Notes, notRunNote(s))
			m.Suites = append(m.Suites, s)
			continue
		}
		nonPending := 0
		for _, sr := range rep.SpecReports {
			for _, e := range sr.ReportEntries {
				if e.Name != EntryRun {
					continue
				}
				var rm RunMetadata
				raw := entryJSON(e)
				if err := json.Unmarshal([]byte(raw), &rm); err != nil || raw == "" || raw == "null" {
					m.Notes = append(m.Notes, fmt.Sprintf("suite %q: unreadable %s entry at %s", rep.SuiteDescription, EntryRun, e.Location))
					continue
				}
				if s.Run == nil {
					s.Run = &rm
					metas = append(metas, meta{si, rm})
				} else if !reflect.DeepEqual(*s.Run, rm) {
					m.Notes = append(m.Notes, fmt.Sprintf("suite %q: %s attached more than once with different values; the first is shown", rep.SuiteDescription, EntryRun))
				}
			}
			if sr.LeafNodeType.Is(types.NodeTypesForSuiteLevelNodes) {
				if sr.State.Is(types.SpecStateFailureStates) {
					rows = append(rows, suiteRow(si, rep, sr))
				}
				continue
			}
			if sr.State != types.SpecStatePending {
				nonPending++
			}
			s.Specs++
			rows = append(rows, specRow(si, rep, sr))
		}
		s.NotRun = max(0, rep.PreRunStats.SpecsThatWillRun-nonPending)
		if s.NotRun > 0 {
			s.NotRunReason = ranNotRunReason(rep)
			m.Notes = append(m.Notes, fmt.Sprintf("suite %q: %d of %d specs did not run and appear nowhere in the report: %s", rep.SuiteDescription, s.NotRun, rep.PreRunStats.SpecsThatWillRun, s.NotRunReason))
		}
		if s.Run == nil {
			m.Notes = append(m.Notes, fmt.Sprintf("suite %q: no %s metadata (DUT, profile, clock) was attached", rep.SuiteDescription, EntryRun))
		}
		for _, reason := range rep.SpecialSuiteFailureReasons {
			m.Notes = append(m.Notes, fmt.Sprintf("suite %q: %s", rep.SuiteDescription, reason))
		}
		if m.StartTime.IsZero() || (!rep.StartTime.IsZero() && rep.StartTime.Before(m.StartTime)) {
			m.StartTime = rep.StartTime
		}
		m.Suites = append(m.Suites, s)
	}
	for _, p := range counted {
		if seen[p.SuitePath] {
			continue
		}
		s := Suite{Description: p.SuiteDescription, Path: p.SuitePath, NotRun: p.PreRunStats.SpecsThatWillRun,
			NotRunReason: "no report: the run ended before Ginkgo reached this suite"}
		m.Notes = append(m.Notes, notRunNote(s))
		m.Suites = append(m.Suites, s)
	}
	if len(metas) > 0 {
		same := true
		for _, x := range metas[1:] {
			if !reflect.DeepEqual(x.run, metas[0].run) {
				same = false
			}
		}
		if same {
			run := metas[0].run
			m.Run = &run
		} else {
			m.Notes = append(m.Notes, "suites attached different run metadata; each suite's is shown")
		}
	}

	// Waivers.
	w := waivers.normalized()
	status := map[string]string{}
	for i := range rows {
		r := &rows[i]
		reason, ok := w[r.ID]
		if r.ID == "" || !ok {
			continue
		}
		r.WaiverReason = reason
		st := ""
		switch r.Outcome {
		case Failed:
			r.Verdict = Waived
			st = "applied"
		case Passed:
			r.Flags = append(r.Flags, FlagWaiverNotNeeded)
			st = "no longer needed"
		case Error:
			r.Flags = append(r.Flags, FlagWaiverNotForErrors)
			st = "not for errors"
		default:
			st = "not exercised"
		}
		// Variants of one row share its ID: the most telling status wins.
		if rank(st) > rank(status[r.ID]) {
			status[r.ID] = st
		}
	}
	for id, reason := range w {
		st, ok := status[id]
		if !ok {
			st = "no such spec"
		}
		m.Waivers = append(m.Waivers, WaiverUse{ID: id, Reason: reason, Status: st})
	}
	sort.Slice(m.Waivers, func(i, j int) bool { return CompareNatural(m.Waivers[i].ID, m.Waivers[j].ID) < 0 })
	for _, u := range m.Waivers {
		if u.Status == "no such spec" {
			m.Notes = append(m.Notes, fmt.Sprintf("waiver %q matches no spec", u.ID))
		}
	}

	sort.SliceStable(rows, func(i, j int) bool { return lessRow(rows[i], rows[j]) })
	m.Rows = rows

	t := Totals{Counts: map[Verdict]int{}}
	for _, v := range AllVerdicts {
		t.Counts[v] = 0
	}
	for _, r := range rows {
		t.Rows++
		t.Counts[r.Verdict]++
		if len(r.Flags) > 0 {
			t.Flagged++
		}
		if len(r.PhasesNotRun) > 0 {
			t.PhasesNotRun++
			if r.Outcome == Passed {
				t.PassedPhasesNotRun++
			}
		}
		if !r.SuiteLevel {
			t.SpecWallTime += r.Duration
		}
		if r.HasSpecTime {
			t.SpecTime += r.SpecTime
			t.SpecsWithSpecTime++
		}
	}
	for _, s := range m.Suites {
		t.WallTime += s.RunTime
		t.NotRun += s.NotRun
		if !s.Ran {
			t.SuitesNotRun++
		}
		if s.NotRunUnknown {
			t.NotRunUncounted++
		}
	}
	m.Totals = t
	return m
}

// notRunNote is the run note of a suite that did not run.
func notRunNote(s Suite) string {
	count := plural(s.NotRun, "spec")
	if s.NotRunUnknown {
		count = "its specs (how many is unknown: no plan counts them)"
	}
	return fmt.Sprintf("suite %q did not run, nor did %s: %s", s.Description, count, s.NotRunReason)
}

// ranNotRunReason says why a suite that started left specs unreported: a
// failed suite-level node, Ginkgo's special reasons (interrupted, timed
// out), or unknown.
func ranNotRunReason(rep types.Report) string {
	var why []string
	for _, sr := range rep.SpecReports {
		if sr.LeafNodeType.Is(types.NodeTypesForSuiteLevelNodes) && sr.State.Is(types.SpecStateFailureStates) {
			why = append(why, fmt.Sprintf("[%s] %s", sr.LeafNodeType, sr.State))
		}
	}
	why = append(why, rep.SpecialSuiteFailureReasons...)
	if len(why) == 0 {
		return "unknown (Ginkgo reported fewer specs than it planned)"
	}
	return strings.Join(why, "; ")
}

func rank(status string) int {
	switch status {
	case "applied":
		return 4
	case "not for errors":
		return 3
	case "no longer needed":
		return 2
	case "not exercised":
		return 1
	}
	return 0
}

// group orders the three kinds of rows: failed suite-level nodes, then
// identified specs, then unidentified specs.
func group(r Row) int {
	switch {
	case r.SuiteLevel:
		return 0
	case r.ID != "":
		return 1
	}
	return 2
}

func lessRow(a, b Row) bool {
	if ga, gb := group(a), group(b); ga != gb {
		return ga < gb
	}
	if a.SuiteLevel {
		return a.SuiteIndex < b.SuiteIndex
	}
	if c := CompareNatural(a.Clause, b.Clause); c != 0 {
		return c < 0
	}
	if c := CompareNatural(a.Case, b.Case); c != 0 {
		return c < 0
	}
	return CompareNatural(a.Name, b.Name) < 0
}

// entryJSON returns a report entry's value as JSON. Decoded reports carry
// it in AsJSON; a report still in process (CurrentSpecReport, an in-process
// ReportAfterSuite) has only the raw value, which is encoded here.
func entryJSON(e types.ReportEntry) string {
	if e.Value.AsJSON != "" {
		return e.Value.AsJSON
	}
	raw := e.GetRawValue()
	if raw == nil {
		return ""
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return ""
	}
	return string(b)
}

// specID finds a spec's bracket ID: in its leaf text, else in the innermost
// container text that starts with one.
func specID(sr types.SpecReport) (id, clause, item string, ok bool) {
	if id, clause, item, ok = ParseID(sr.LeafNodeText); ok {
		return
	}
	for i := len(sr.ContainerHierarchyTexts) - 1; i >= 0; i-- {
		if id, clause, item, ok = ParseID(sr.ContainerHierarchyTexts[i]); ok {
			return
		}
	}
	return "", "", "", false
}

func outcome(sr types.SpecReport) Verdict {
	switch sr.State {
	case types.SpecStatePassed:
		return Passed
	case types.SpecStateFailed:
		return Failed
	case types.SpecStatePending:
		return Pending
	case types.SpecStateSkipped:
		msg := strings.ToLower(strings.TrimSpace(sr.Failure.Message))
		if strings.HasPrefix(msg, NotApplicablePrefix) {
			return NotApplicable
		}
		return Skipped
	}
	// panicked, interrupted, aborted, timedout, and anything unknown.
	return Error
}

func specRow(si int, rep types.Report, sr types.SpecReport) Row {
	r := Row{
		Suite:      rep.SuiteDescription,
		SuiteIndex: si,
		Node:       sr.LeafNodeType.String(),
		Name:       sr.FullText(),
		State:      sr.State.String(),
		Duration:   sr.RunTime,
		Labels:     sr.Labels(),
	}
	r.Outcome = outcome(sr)
	r.Verdict = r.Outcome
	id, clause, item, ok := specID(sr)
	if ok {
		r.ID, r.Clause, r.Case = id, clause, item
	} else {
		r.Flags = append(r.Flags, FlagUnidentified)
	}
	badTime := false
	for _, e := range sr.ReportEntries {
		if e.Name != EntrySpecTime {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(entryJSON(e)), 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			badTime = true
			continue
		}
		r.SpecTime += v
		r.HasSpecTime = true
	}
	if badTime {
		r.Flags = append(r.Flags, FlagBadSpecTime)
	}
	for _, e := range sr.ReportEntries {
		if e.Name != EntryPhaseNotRun {
			continue
		}
		raw := entryJSON(e)
		var phase string
		if json.Unmarshal([]byte(raw), &phase) != nil {
			phase = raw
		}
		if phase = strings.TrimSpace(phase); phase == "" {
			phase = "a phase (unnamed)"
		}
		r.PhasesNotRun = append(r.PhasesNotRun, phase)
	}
	switch r.Outcome {
	case Failed, Error:
		r.Message, r.Location = failureText(sr)
		if r.Outcome == Error {
			r.Stack = strings.TrimSpace(sr.Failure.Location.FullStackTrace)
		}
	case Skipped, NotApplicable:
		r.Message = strings.TrimSpace(sr.Failure.Message)
	}
	if sr.NumAttempts > 1 {
		r.Flags = append(r.Flags, fmt.Sprintf("ran %d attempts", sr.NumAttempts))
	}
	return r
}

func suiteRow(si int, rep types.Report, sr types.SpecReport) Row {
	r := Row{
		Suite:      rep.SuiteDescription,
		SuiteIndex: si,
		Node:       sr.LeafNodeType.String(),
		SuiteLevel: true,
		Name:       strings.TrimSpace("[" + sr.LeafNodeType.String() + "] " + sr.LeafNodeText),
		Outcome:    Error,
		Verdict:    Error,
		State:      sr.State.String(),
		Duration:   sr.RunTime,
		Labels:     sr.Labels(),
		Flags:      []string{FlagSuiteSetup},
	}
	r.Message, r.Location = failureText(sr)
	r.Stack = strings.TrimSpace(sr.Failure.Location.FullStackTrace)
	return r
}

// failureText renders a failure's message (with panic value and follow-on
// failures) and its location.
func failureText(sr types.SpecReport) (msg, loc string) {
	f := sr.Failure
	var b strings.Builder
	b.WriteString(strings.TrimSpace(f.Message))
	if f.ForwardedPanic != "" {
		fmt.Fprintf(&b, "\npanic: %s", f.ForwardedPanic)
	}
	if af := f.AdditionalFailure; af != nil {
		fmt.Fprintf(&b, "\nthen (%s): %s", af.State, strings.TrimSpace(af.Failure.Message))
	}
	for _, af := range sr.AdditionalFailures {
		fmt.Fprintf(&b, "\nalso (%s", af.State)
		if af.Failure.FailureNodeType != types.NodeTypeInvalid {
			fmt.Fprintf(&b, " in [%s]", af.Failure.FailureNodeType)
		}
		fmt.Fprintf(&b, "): %s", strings.TrimSpace(af.Failure.Message))
	}
	msg = strings.TrimSpace(b.String())
	if f.Location.FileName != "" || f.Location.CustomMessage != "" {
		loc = f.Location.String()
	}
	if f.FailureNodeContext != types.FailureNodeIsLeafNode && f.FailureNodeType != types.NodeTypeInvalid && loc != "" {
		loc = fmt.Sprintf("in [%s] at %s", f.FailureNodeType, loc)
	}
	return msg, loc
}
