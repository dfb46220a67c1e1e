package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/report"
	"github.com/onsi/ginkgo/v2/types"
)

// Files icoc conformance writes beside the reports for a long run.
const (
	// progressEventsFile is where the suites append their progress events.
	progressEventsFile = "progress.jsonl"
	// progressLogFile is the human progress, one line per spec, for a CI
	// log to tail (tail -f reports/progress.log).
	progressLogFile = "progress.log"
	// resumeFile lists the specs an earlier run passed (-resume).
	resumeFile = "resume.json"
)

// planSpec is one spec a run will run, from the dry run.
type planSpec struct {
	Suite    string // the suite's directory
	Name     string // full text
	SpecTime time.Duration
	Declared bool // it carries a spec-time label
	Resumed  bool // it passed in the earlier run and will be skipped
}

// runPlan is what a dry run of the suites says a run will do.
type runPlan struct {
	Specs  []planSpec
	Suites int
	// Clock is the profile's clock.
	Clock harness.Clock
}

// specTime is the declared spec time of the specs that will run (resumed
// ones left out).
func (p runPlan) specTime() (total time.Duration, n int) {
	for _, s := range p.Specs {
		if !s.Resumed {
			total += s.SpecTime
			n++
		}
	}
	return total, n
}

// timeout is the Ginkgo timeout of the whole run: every spec's budget on
// the profile's clock (harness.SpecBudget) plus each suite's set-up, so no
// suite timeout can cut a spec short.
func (p runPlan) timeout() time.Duration {
	t := time.Duration(p.Suites) * 15 * time.Minute
	for _, s := range p.Specs {
		if !s.Resumed {
			t += harness.SpecBudget(p.Clock, s.SpecTime)
		}
	}
	return max(t, time.Hour)
}

// dryRun runs the suites with --dry-run (same focus, label filter and
// profile) and reads which specs will run and their declared spec time.
// Specs in resumed are marked Resumed.
func dryRun(root string, suites []string, focus, labelFilter, profile string, clock harness.Clock, resumed harness.Resume) (runPlan, error) {
	dir, err := os.MkdirTemp("", "icoc-plan-")
	if err != nil {
		return runPlan{}, err
	}
	defer os.RemoveAll(dir)
	args := []string{"tool", "ginkgo", "--no-color", "--dry-run", "--keep-going", "--json-report=plan.json", "--output-dir=" + dir}
	if focus != "" {
		args = append(args, "--focus="+focus)
	}
	if labelFilter != "" {
		args = append(args, "--label-filter="+labelFilter)
	}
	args = append(args, suites...)
	args = append(args, "--", "-icoc.profile="+profile)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), harness.EnvSkipSelfTest+"=1")
	runErr := cmd.Run()
	reps, err := report.Load(filepath.Join(dir, "plan.json"))
	if err != nil {
		return runPlan{}, fmt.Errorf("dry run of %v (%v): %w\n%s", suites, runErr, err, out.Bytes())
	}
	return planFrom(reps, clock, resumed), nil
}

// planFrom reads a dry run's reports.
func planFrom(reps []types.Report, clock harness.Clock, resumed harness.Resume) runPlan {
	p := runPlan{Clock: clock}
	done := map[string]bool{}
	for dir, names := range resumed {
		for _, n := range names {
			done[filepath.Clean(dir)+"\x00"+n] = true
		}
	}
	for _, r := range reps {
		if r.StartTime.IsZero() && len(r.SpecReports) == 0 {
			continue
		}
		p.Suites++
		for _, sr := range r.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt || sr.State != types.SpecStatePassed {
				continue // suite nodes; specs the filters skip; pending
			}
			d, ok := harness.DeclaredSpecTime(sr.Labels())
			p.Specs = append(p.Specs, planSpec{Suite: filepath.Clean(r.SuitePath), Name: sr.FullText(), SpecTime: d, Declared: ok,
				Resumed: done[filepath.Clean(r.SuitePath)+"\x00"+sr.FullText()]})
		}
	}
	return p
}

// describe says, before the run, how long it will take.
func (p runPlan) describe() string {
	total, n := p.specTime()
	resumed := len(p.Specs) - n
	var b strings.Builder
	fmt.Fprintf(&b, "icoc: plan: %d specs in %d suites", n, p.Suites)
	if resumed > 0 {
		fmt.Fprintf(&b, " (%d more passed in the earlier run and are not repeated)", resumed)
	}
	fmt.Fprintf(&b, "; they cover %v of spec time", total.Round(time.Second))
	if p.Clock.Scale == 1 {
		fmt.Fprintf(&b, ", the same in wall time on this profile's real clock")
	} else {
		fmt.Fprintf(&b, ", about %v of wall time at time scale %g", p.Clock.Wall(total).Round(time.Second), p.Clock.Scale)
	}
	b.WriteString(", plus each suite's set-up")
	var undeclared []string
	for _, s := range p.Specs {
		if !s.Declared {
			undeclared = append(undeclared, s.Name)
		}
	}
	if len(undeclared) > 0 {
		fmt.Fprintf(&b, "; %d specs declare no spec time (counted as 0): %s", len(undeclared), strings.Join(undeclared, "; "))
	}
	return b.String()
}

// follower reads the suites' progress events and tells, for each spec
// that starts, which it is, how many are done and left and the spec time
// still ahead: on w (the terminal) and appended to the log file.
type follower struct {
	plan   runPlan
	events string
	log    io.Writer
	w      io.Writer
	stop   chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	offset   int64
	finished int
	failed   int
	ahead    time.Duration
	total    int
}

func newFollower(plan runPlan, events string, w, log io.Writer) *follower {
	total, n := plan.specTime()
	f := &follower{plan: plan, events: events, w: w, log: log, stop: make(chan struct{}), done: make(chan struct{}), ahead: total, total: n}
	if st, err := os.Stat(events); err == nil {
		f.offset = st.Size() // the events of earlier (resumed) runs
	}
	return f
}

func (f *follower) run() {
	defer close(f.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		f.poll()
		select {
		case <-f.stop:
			f.poll()
			return
		case <-t.C:
		}
	}
}

// poll reads the events appended since the last poll.
func (f *follower) poll() {
	fh, err := os.Open(f.events)
	if err != nil {
		return
	}
	defer fh.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := fh.Seek(f.offset, io.SeekStart); err != nil {
		return
	}
	r := bufio.NewReader(fh)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return // a partial line is read again next time
		}
		f.offset += int64(len(line))
		var ev harness.ProgressEvent
		if json.Unmarshal(line, &ev) != nil {
			continue
		}
		f.handle(ev)
	}
}

func (f *follower) handle(ev harness.ProgressEvent) {
	st := time.Duration(ev.SpecTime * float64(time.Second))
	var msg string
	switch ev.Event {
	case "start":
		msg = fmt.Sprintf("[%d/%d] running %s (%s, %v spec time)", f.finished+1, f.total, ev.Spec, filepath.Base(ev.Suite), st)
	case "end":
		f.finished++
		f.ahead -= st
		if ev.State != "passed" && ev.State != "skipped" {
			f.failed++
		}
		msg = fmt.Sprintf("[%d/%d] %s: %s", f.finished, f.total, ev.State, ev.Spec)
	default:
		return
	}
	line := fmt.Sprintf("icoc: %s | %d done (%d failed), %d left, %v spec time ahead", msg, f.finished, f.failed, max(f.total-f.finished, 0), max(f.ahead, 0).Round(time.Second))
	if f.plan.Clock.Scale != 1 {
		line += fmt.Sprintf(" (%v wall)", f.plan.Clock.Wall(max(f.ahead, 0)).Round(time.Second))
	}
	fmt.Fprintln(f.w, line)
	if f.log != nil {
		fmt.Fprintf(f.log, "%s %s\n", ev.At.UTC().Format(time.RFC3339), line)
	}
}

func (f *follower) close() {
	close(f.stop)
	<-f.done
}

// resumeFrom reads what the earlier runs say passed: the report of the
// last run that finished (reportJSON, when there is one) and the progress
// events of every run since (events: a run cut off by a power loss or a
// kill wrote no report, but each spec's end is in its events). It returns
// the passed specs by suite directory, the earlier reports (to put the
// passed results back after the run) and the passed specs only the events
// know.
func resumeFrom(reportJSON, events string) (harness.Resume, []types.Report, []harness.ProgressEvent, error) {
	rs := harness.Resume{}
	seen := map[string]bool{}
	var reps []types.Report
	if _, err := os.Stat(reportJSON); err == nil {
		if reps, err = report.Load(reportJSON); err != nil {
			return nil, nil, nil, fmt.Errorf("-resume: the earlier run's report: %w", err)
		}
	}
	for _, r := range reps {
		for _, sr := range r.SpecReports {
			if sr.LeafNodeType == types.NodeTypeIt && sr.State == types.SpecStatePassed {
				dir := filepath.Clean(r.SuitePath)
				if !seen[dir+"\x00"+sr.FullText()] {
					seen[dir+"\x00"+sr.FullText()] = true
					rs[dir] = append(rs[dir], sr.FullText())
				}
			}
		}
	}
	var only []harness.ProgressEvent
	if b, err := os.ReadFile(events); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			var ev harness.ProgressEvent
			if json.Unmarshal(line, &ev) != nil || ev.Event != "end" || ev.State != "passed" {
				continue
			}
			dir := filepath.Clean(ev.Suite)
			if !seen[dir+"\x00"+ev.Spec] {
				seen[dir+"\x00"+ev.Spec] = true
				rs[dir] = append(rs[dir], ev.Spec)
				only = append(only, ev)
			}
		}
	}
	if len(rs) == 0 {
		return nil, nil, nil, fmt.Errorf("-resume: neither %s nor %s says any spec passed: nothing to resume", reportJSON, events)
	}
	return rs, reps, only, nil
}

// eventReport stands for a spec that passed in a run cut off before it
// wrote its report: what its progress event says (name, spec time, when).
func eventReport(ev harness.ProgressEvent) types.SpecReport {
	leaf, containers := ev.Spec, []string(nil)
	// The leaf is the part of the full text that starts with its [ID].
	for i := 0; i < len(ev.Spec); i++ {
		if ev.Spec[i] == '[' && (i == 0 || ev.Spec[i-1] == ' ') {
			if _, _, _, ok := report.ParseID(ev.Spec[i:]); ok {
				leaf = ev.Spec[i:]
				if c := strings.TrimSpace(ev.Spec[:i]); c != "" {
					containers = []string{c}
				}
				break
			}
		}
	}
	sr := types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: leaf, ContainerHierarchyTexts: containers,
		State: types.SpecStatePassed, StartTime: ev.At, EndTime: ev.At}
	sr.ReportEntries = append(sr.ReportEntries, types.ReportEntry{Name: report.EntryPhaseNotRun,
		Value: types.WrapEntryValue("details: the run that passed this spec was cut off before it wrote its report; its progress events say it passed at " + ev.At.UTC().Format(time.RFC3339))})
	return sr
}

// mergeResumed puts the earlier runs' passed results back in place of the
// specs this run skipped as resumed (from their report, else from their
// progress events), and keeps the earlier report of a suite this run did
// not reach at all.
func mergeResumed(now, before []types.Report, events []harness.ProgressEvent) []types.Report {
	prev := map[string]types.SpecReport{}
	for _, ev := range events {
		prev[filepath.Clean(ev.Suite)+"\x00"+ev.Spec] = eventReport(ev)
	}
	prevSuite := map[string]types.Report{}
	for _, r := range before {
		prevSuite[filepath.Clean(r.SuitePath)] = r
		for _, sr := range r.SpecReports {
			if sr.LeafNodeType == types.NodeTypeIt && sr.State == types.SpecStatePassed {
				prev[filepath.Clean(r.SuitePath)+"\x00"+sr.FullText()] = sr
			}
		}
	}
	seen := map[string]bool{}
	out := make([]types.Report, 0, len(now))
	for _, r := range now {
		dir := filepath.Clean(r.SuitePath)
		seen[dir] = true
		for i, sr := range r.SpecReports {
			if sr.State == types.SpecStateSkipped && strings.HasPrefix(sr.Failure.Message, harness.ResumedPrefix) {
				if p, ok := prev[dir+"\x00"+sr.FullText()]; ok {
					r.SpecReports[i] = p
				}
			}
		}
		out = append(out, r)
	}
	for _, r := range before {
		if dir := filepath.Clean(r.SuitePath); !seen[dir] {
			seen[dir] = true
			out = append(out, prevSuite[dir])
		}
	}
	return out
}
