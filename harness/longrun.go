package harness

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
)

// This file makes long runs finish and tell how far they are: every spec
// declares the spec time its scenario covers (SpecTime), its timeout
// follows from it on the profile's clock, a run reports its progress to a
// file the icoc command follows, and a resumed run skips what passed.

// SpecTimeLabelPrefix starts the label that carries a spec's declared spec
// time in seconds ("spec-time:480s"); dry runs read it.
const SpecTimeLabelPrefix = "spec-time:"

// SpecSetUpAllowance is the wall time a spec's budget allows beyond its
// scenario: set-up and tear-down, a command or an operator prompt (2 min
// by default), a loaded machine.
const SpecSetUpAllowance = 5 * time.Minute

// SpecBudget is the wall time a spec with declared spec time d may take on
// clock c: its scenario (with half again for the tolerances and the DUT's
// own delays) plus SpecSetUpAllowance. It is never shorter than c.Wall(d).
func SpecBudget(c Clock, d time.Duration) time.Duration {
	return c.Wall(d)*3/2 + SpecSetUpAllowance
}

var (
	treeClockMu sync.Mutex
	treeClock   *Clock
)

// profileClock is the clock of the profile the flags name, for decorators
// made while Ginkgo builds the spec tree (after flag parsing). A profile
// that does not load gives the real clock (the longest budgets): Start
// reports the profile's error before any spec runs.
// Decorators made at package initialization (a table built in a var
// declaration) come before the flags are parsed and get the real clock too.
func profileClock() Clock {
	treeClockMu.Lock()
	defer treeClockMu.Unlock()
	if treeClock != nil {
		return *treeClock
	}
	c := Clock{Mode: "real", Scale: 1}
	if !flag.Parsed() {
		return c // not cached: the profile is known once the flags are
	}
	if p, err := LoadProfile(*flagProfile); err == nil {
		c = p.Clock
	}
	treeClock = &c
	return c
}

// SpecTime declares the most spec time the spec's scenario covers (every
// wait, retry, timeout and silence the rule allows, in spec time) and
// bounds the spec by it: the label "spec-time:<seconds>s" (dry runs read
// it to estimate a run and check its timeouts) and a SpecTimeout of
// SpecBudget on the profile's clock, so no timeout cuts a real-clock run
// short. Every conformance spec carries exactly one; cases use no
// SpecTimeout or NodeTimeout of their own.
func SpecTime(d time.Duration) []any {
	if d <= 0 {
		panic(fmt.Sprintf("harness: SpecTime(%v): a spec covers a positive spec time", d))
	}
	return []any{ginkgo.Label(SpecTimeLabel(d)), ginkgo.SpecTimeout(SpecBudget(profileClock(), d))}
}

// SpecTimeLabel is the label of a declared spec time d (whole seconds,
// rounded up).
func SpecTimeLabel(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return SpecTimeLabelPrefix + strconv.FormatInt(s, 10) + "s"
}

// DeclaredSpecTime reads the declared spec time from a spec's labels;
// ok is false when none (or more than one) is there.
func DeclaredSpecTime(labels []string) (d time.Duration, ok bool) {
	n := 0
	for _, l := range labels {
		v, found := strings.CutPrefix(l, SpecTimeLabelPrefix)
		if !found {
			continue
		}
		n++
		secs, err := strconv.ParseInt(strings.TrimSuffix(v, "s"), 10, 64)
		if err != nil || secs <= 0 || !strings.HasSuffix(v, "s") {
			return 0, false
		}
		d = time.Duration(secs) * time.Second
	}
	return d, n == 1
}

// checkBudget fails the spec at once, saying why, when its deadline (the
// SpecTimeout Ginkgo enforces) is shorter than its declared scenario on the
// run's clock: a timeout that would cut it short is a harness defect, not
// a verdict on the DUT.
func checkBudget(ctx ginkgo.SpecContext, r *Run) {
	d, ok := DeclaredSpecTime(ginkgo.CurrentSpecReport().Labels())
	if !ok {
		return
	}
	dl, has := ctx.Deadline()
	if !has {
		return
	}
	if left, need := time.Until(dl), r.Clock.Wall(d); left < need {
		ginkgo.Fail(fmt.Sprintf("harness: this spec's timeout leaves %v of wall time, but its scenario covers %v of spec time, %v on this profile's clock: the timeout must follow from the spec time (harness.SpecTime)", left.Round(time.Second), d, need))
	}
}

// Progress events, one JSON object per line in the progress file.
var (
	flagProgress = flag.String("icoc.progress", os.Getenv("ICOC_PROGRESS"), "file to append one JSON line per spec started and ended (icoc conformance follows it)")
	flagResume   = flag.String("icoc.resume", os.Getenv("ICOC_RESUME"), "JSON file of the specs that passed in an earlier run, by suite directory: they are skipped")
)

// ProgressEvent is one line of the progress file.
type ProgressEvent struct {
	// Event is "start" or "end".
	Event string `json:"event"`
	// Suite is the suite's package directory.
	Suite string `json:"suite"`
	// Spec is the spec's full text.
	Spec string `json:"spec"`
	// SpecTime is the declared spec time in seconds (0: none declared).
	SpecTime float64 `json:"spec_time"`
	// State is Ginkgo's state at the end ("passed", "failed", ...).
	State string    `json:"state,omitempty"`
	At    time.Time `json:"at"`
}

var progressMu sync.Mutex

// progress appends an event to the progress file, when there is one.
// Several Ginkgo processes append to the same file: each line is one write.
func progress(ev ProgressEvent) {
	if *flagProgress == "" {
		return
	}
	ev.At = time.Now()
	if wd, err := os.Getwd(); err == nil {
		ev.Suite = wd
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	progressMu.Lock()
	defer progressMu.Unlock()
	f, err := os.OpenFile(*flagProgress, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	_, _ = f.Write(append(b, '\n'))
	_ = f.Close()
}

// ResumedPrefix starts the skip message of a spec a resumed run skips
// because it passed before; icoc conformance puts the earlier result back.
const ResumedPrefix = "resumed: passed in the earlier run"

// Resume is the file -icoc.resume reads: suite directory -> full texts of
// the specs that passed.
type Resume map[string][]string

var (
	resumeOnce sync.Once
	resumed    map[string]bool
	resumeErr  error
)

// skipIfResumed skips the current spec when the resume file lists it as
// passed in this suite.
func skipIfResumed() {
	if *flagResume == "" {
		return
	}
	resumeOnce.Do(func() {
		b, err := os.ReadFile(*flagResume)
		if err != nil {
			resumeErr = err
			return
		}
		var rs Resume
		if err := json.Unmarshal(b, &rs); err != nil {
			resumeErr = fmt.Errorf("%s: %w", *flagResume, err)
			return
		}
		wd, _ := os.Getwd()
		resumed = map[string]bool{}
		for dir, names := range rs {
			if filepath.Clean(dir) != filepath.Clean(wd) {
				continue
			}
			for _, n := range names {
				resumed[n] = true
			}
		}
	})
	if resumeErr != nil {
		ginkgo.Fail("harness: -icoc.resume: " + resumeErr.Error())
	}
	if resumed[ginkgo.CurrentSpecReport().FullText()] {
		ginkgo.Skip(ResumedPrefix)
	}
}
