package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/harness/report"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/simulator/vehicle"
	"github.com/onsi/ginkgo/v2/types"
)

// QuirkCase pairs a quirk of the reference simulators with the specs that
// must fail when it is switched on: the proof that those specs can fail.
type QuirkCase struct {
	Quirk string
	Specs []string
	// MustSay, when set, lists what each failure must also contain beyond
	// what every explained failure has (e.g. "Expected:" and "Actual:" for
	// the mute quirk, whose failures must say what was expected and what
	// did arrive, if anything).
	MustSay []string
}

// VariantCase pairs a variant of the reference simulators (another choice
// the clause allows, registered with quirk.Info.Variant) with the specs that
// must pass when it is switched on: the proof that those specs judge the
// clause, not the reference simulator's habits.
type VariantCase struct {
	Variant string
	Specs   []string
}

// QuirkResult is one line of reports/quirks.json or reports/variants.json.
type QuirkResult struct {
	Suite string `json:"suite"`
	// Quirk is the quirk's or the variant's name.
	Quirk string `json:"quirk"`
	Spec  string `json:"spec"`
	// Caught is true for a quirk the spec caught (the spec failed and its
	// failure explained itself), and for a variant the spec passed.
	Caught bool `json:"caught"`
	// State is the spec's Ginkgo state under the quirk or variant.
	State string `json:"state"`
	// Why says what went wrong when Caught is false.
	Why string `json:"why,omitempty"`
}

// selfTestParallelism is how many child runs go at once: ICOC_SELFTEST_PARALLEL,
// else 2.
func selfTestParallelism() int {
	if n, err := strconv.Atoi(os.Getenv("ICOC_SELFTEST_PARALLEL")); err == nil && n > 0 {
		return n
	}
	return 2
}

// EnvSkipSelfTest, when set, makes RunQuirkSelfTest, RunVariantSelfTest and
// CheckSpecNames skip: the conformance command sets it so a conformance run
// runs specs only.
const EnvSkipSelfTest = "ICOC_SKIP_SELFTEST"

// inChild reports whether this process is a child run of the self-test.
func inChild() bool { return *flagQuirks != "" || os.Getenv("ICOC_SELFTEST_CHILD") != "" }

// RunQuirkSelfTest runs, for each case, the suite's own test binary again
// with the quirk switched on (ICOC_QUIRKS; a quirk of the reference center,
// which the sim suite starts as the center DUT, carries the prefix
// CenterQuirkPrefix, "center.", every other one is the reference
// vehicle's) and only the case's specs focused, and checks that every one
// of them failed with a failure that explains itself (Explained). It writes
// the outcome into reports/quirks.json (merged with other suites' lines)
// and fails the test for each quirk that went uncaught.
func RunQuirkSelfTest(t *testing.T, suite string, cases []QuirkCase) {
	sc := make([]selfTestCase, len(cases))
	for i, c := range cases {
		sc[i] = selfTestCase{name: c.Quirk, specs: c.Specs, mustSay: c.MustSay}
		if isVariant(c.Quirk) {
			t.Errorf("quirk case %s: that is a variant (an allowed choice); list it in the suite's VariantCases", c.Quirk)
			sc[i].specs = nil
		}
	}
	runSelfTest(t, "quirks", suite, sc, true)
}

// RunVariantSelfTest is the mirror of RunQuirkSelfTest: for each case it
// runs the suite's specs again with the variant switched on and checks that
// every one of them passed. It writes reports/variants.json and fails the
// test for each spec that failed a conformant variant.
func RunVariantSelfTest(t *testing.T, suite string, cases []VariantCase) {
	sc := make([]selfTestCase, len(cases))
	for i, c := range cases {
		sc[i] = selfTestCase{name: c.Variant, specs: c.Specs}
		if !isVariant(c.Variant) {
			t.Errorf("variant case %s: no simulator registers a variant of that name", c.Variant)
			sc[i].specs = nil
		}
	}
	runSelfTest(t, "variants", suite, sc, false)
}

// isVariant reports whether a name of ICOC_QUIRKS is a registered variant
// of the simulator it addresses.
func isVariant(name string) bool {
	if c, ok := strings.CutPrefix(name, CenterQuirkPrefix); ok {
		return center.IsVariant(c)
	}
	if owned, variant := ownedQuirk(name); owned {
		return variant
	}
	return vehicle.IsVariant(name)
}

// RunCase runs specs in a child run of the suite with a profile, an
// environment and quirks of its own, and says whether they must pass or
// fail. With a profile that sets the register's readings (its spec:
// section) it proves that a spec judges by the run's readings (Run.Spec),
// not the register's defaults, and says which reading it judged by; with
// ICOC_DUT_HOST it proves specs on another host of the reference vehicle.
type RunCase struct {
	// Profile is the profile file, relative to the suite's directory; ""
	// keeps the built-in one.
	Profile string
	// Env is more of the child's environment (e.g. ICOC_DUT_HOST=netns).
	Env []string
	// Quirks are the quirks switched on (ICOC_QUIRKS form), "" for none.
	Quirks string
	Specs  []string
	// Fail says the specs must fail, with a failure that explains itself
	// and contains every MustSay; otherwise they must pass.
	Fail    bool
	MustSay []string
	// Transport, when set, is the transport the child's run must report
	// ("netns"); the test skips, saying why, when the run fell back.
	Transport string
}

// RunCases runs each case's specs in a child run of the suite's test
// binary and fails the test for each spec that did not end as the case
// says.
func RunCases(t *testing.T, cases []RunCase) {
	if os.Getenv(EnvSkipSelfTest) != "" || inChild() {
		t.Skip("child runs skipped inside a conformance run")
	}
	for _, c := range cases {
		env := append([]string{"ICOC_QUIRKS=" + c.Quirks}, c.Env...)
		what := fmt.Sprintf("profile %q, env %q, quirks %q", c.Profile, c.Env, c.Quirks)
		if c.Profile != "" {
			profile, err := filepath.Abs(c.Profile)
			if err != nil {
				t.Fatal(err)
			}
			env = append(env, "ICOC_PROFILE="+profile)
		}
		rep, err := runChild(t, env, "-ginkgo.focus="+focusOf(c.Specs))
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if c.Transport != "" {
			if m, ok := runMetadata(rep); ok && m.Transport != c.Transport {
				t.Skipf("%s: the run's transport is %q, not %q: the reference vehicle's host fell back (network namespaces unavailable here)", what, m.Transport, c.Transport)
			}
		}
		for _, name := range c.Specs {
			ran := false
			for _, sr := range rep.SpecReports {
				if sr.LeafNodeType != types.NodeTypeIt || sr.LeafNodeText != name {
					continue
				}
				ran = true
				if ok, why := judgeChild(sr, c.Fail, c.MustSay); !ok {
					t.Errorf("%s, %s: %s", what, name, why)
				}
			}
			if !ran {
				t.Errorf("%s: %s did not run (is its name right?)", what, name)
			}
		}
	}
}

// runMetadata is the run's metadata a child reported at its start.
func runMetadata(rep types.Report) (report.RunMetadata, bool) {
	for _, sr := range rep.SpecReports {
		for _, e := range sr.ReportEntries {
			if e.Name != report.EntryRun {
				continue
			}
			var m report.RunMetadata
			if err := json.Unmarshal([]byte(e.Value.AsJSON), &m); err == nil {
				return m, true
			}
		}
	}
	return report.RunMetadata{}, false
}

type selfTestCase struct {
	name    string
	specs   []string
	mustSay []string
}

// runSelfTest runs each case's specs in a child with ICOC_QUIRKS=name;
// wantFail says whether the specs must fail (quirks) or pass (variants).
// kind names the report file (reports/<kind>.json).
func runSelfTest(t *testing.T, kind, suite string, cases []selfTestCase, wantFail bool) {
	if os.Getenv(EnvSkipSelfTest) != "" || inChild() {
		t.Skip(kind + " self-test skipped inside a conformance run")
	}
	// Children run a few at a time: each is its own process with its own
	// simulators and bus, and mostly waits on spec time. A case naming
	// many specs (the vehicle quirk mute names every vehicle-DUT spec) is
	// split into children of at most maxChildSpecs specs, and the largest
	// children start first, so that no single child is the long pole.
	par := selfTestParallelism()
	type job struct {
		c     selfTestCase
		specs []string
		out   []QuirkResult
	}
	var jobs []*job
	perCase := make([][]*job, len(cases))
	for i, c := range cases {
		if len(c.specs) == 0 {
			t.Errorf("%s %s: no spec named", kind, c.name)
			continue
		}
		for _, part := range chunk(c.specs, maxChildSpecs) {
			j := &job{c: c, specs: part}
			jobs = append(jobs, j)
			perCase[i] = append(perCase[i], j)
		}
	}
	order := slices.Clone(jobs)
	slices.SortStableFunc(order, func(a, b *job) int { return len(b.specs) - len(a.specs) })
	// The children of the quirk mute have their own lane: their DUT never
	// talks to the center, so they only wait, and they must not hold up
	// the children whose simulators do work (nor be slowed by them).
	sem, quiet := make(chan struct{}, par), make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, j := range order {
		c := j.c
		lane := sem
		if c.name == "mute" {
			lane = quiet
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lane <- struct{}{}
			defer func() { <-lane }()
			began := time.Now()
			rep, err := runChild(t, []string{"ICOC_QUIRKS=" + c.name}, "-ginkgo.focus="+focusOf(j.specs))
			t.Logf("%s %s: %d spec(s) in %v", kind, c.name, len(j.specs), time.Since(began).Round(100*time.Millisecond))
			if err != nil {
				t.Errorf("%s %s: %v", kind, c.name, err)
				return
			}
			for _, name := range j.specs {
				r := QuirkResult{Suite: suite, Quirk: c.name, Spec: name, State: "not run"}
				for _, sr := range rep.SpecReports {
					if sr.LeafNodeType == types.NodeTypeIt && sr.LeafNodeText == name {
						r.State = sr.State.String()
						r.Caught, r.Why = judgeChild(sr, wantFail, c.mustSay)
					}
				}
				if r.State == "not run" {
					r.Why = "the spec did not run (is its name right?)"
				}
				if !r.Caught {
					if wantFail {
						t.Errorf("quirk %s not caught by %s: %s", c.name, name, r.Why)
					} else {
						t.Errorf("variant %s (an allowed choice) failed by %s: %s", c.name, name, r.Why)
					}
				}
				j.out = append(j.out, r)
			}
		}()
	}
	wg.Wait()
	var results []QuirkResult
	for _, js := range perCase {
		for _, j := range js {
			results = append(results, j.out...)
		}
	}
	if err := mergeSelfTestResults(kind, suite, results); err != nil {
		t.Errorf("writing reports/%s.json: %v", kind, err)
	}
}

// maxChildSpecs is the most specs one self-test child runs.
const maxChildSpecs = 16

// chunk splits s into consecutive parts of at most n elements.
func chunk(s []string, n int) [][]string {
	var out [][]string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

// judgeChild says whether one spec of a child run did what its case wants:
// fail with an explained failure that contains everything in mustSay (a
// quirk), or pass (a variant).
func judgeChild(sr types.SpecReport, wantFail bool, mustSay []string) (bool, string) {
	if !wantFail {
		if sr.State == types.SpecStatePassed {
			return true, ""
		}
		return false, fmt.Sprintf("the spec ended %s: %s", sr.State, firstLines(sr.Failure.Message, 12))
	}
	if sr.State != types.SpecStateFailed {
		return false, fmt.Sprintf("the spec ended %s, not failed: %s", sr.State, firstLines(sr.Failure.Message, 6))
	}
	if why := Unexplained(sr.Failure.Message); why != "" {
		return false, "the spec failed without explaining itself (" + why + "): " + firstLines(sr.Failure.Message, 12)
	}
	for _, m := range mustSay {
		if !strings.Contains(sr.Failure.Message, m) {
			return false, fmt.Sprintf("the failure does not say %q: %s", m, firstLines(sr.Failure.Message, 12))
		}
	}
	return true, ""
}

// Unexplained returns why a failure message does not explain itself, or ""
// when it does: every failure must cite its requirement (Requirement.String,
// which carries the clause and the rule) and must not be a bare boolean
// assertion that says nothing of what was observed.
func Unexplained(msg string) string {
	switch {
	case !strings.Contains(msg, "Requirement: "):
		return "no \"Requirement:\" with the clause"
	case strings.Contains(msg, "<bool>: false\nto be true"), strings.Contains(msg, "<bool>: true\nto be false"),
		strings.Contains(msg, "Expected true to be false"), strings.Contains(msg, "Expected false to be true"):
		return "a bare boolean assertion: what was observed is not said"
	}
	return ""
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

// CheckSpecNames dry-runs the suite and checks that every spec's name starts
// with a bracketed clause ID, that names are unique, that every label is in
// the registry, and that every spec can fail: it is named by a quirk case
// of the suite's self-test, or listed in notApplicable (a spec that only
// ever reports "not applicable", e.g. a Table 7-8 1xx row).
func CheckSpecNames(t *testing.T, cases []QuirkCase, notApplicable ...string) {
	if os.Getenv(EnvSkipSelfTest) != "" || inChild() {
		t.Skip("spec-name check skipped inside a conformance run")
	}
	rep, err := runChild(t, nil, "-ginkgo.dry-run")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range cases {
		for _, name := range c.Specs {
			covered[name] = true
		}
	}
	for _, name := range notApplicable {
		covered[name] = true
	}
	seen := map[string]bool{}
	n := 0
	for _, sr := range rep.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			continue
		}
		n++
		name := sr.LeafNodeText
		if !strings.HasPrefix(name, "[") || !idPattern.MatchString(strings.TrimPrefix(strings.SplitN(name, "]", 2)[0], "[")) {
			t.Errorf("spec %q: name does not start with a [clause ID]", name)
		}
		if seen[name] {
			t.Errorf("spec %q: name used twice", name)
		}
		if !covered[name] {
			t.Errorf("spec %q: no quirk of the self-test proves it can fail", name)
		}
		seen[name] = true
		for _, l := range sr.Labels() {
			if !allowedLabel(l) {
				t.Errorf("spec %q: label %q is not in the registry", name, l)
			}
		}
		if _, ok := DeclaredSpecTime(sr.Labels()); !ok {
			t.Errorf("spec %q: declares no spec time, or more than one (harness.SpecTime)", name)
		}
	}
	if n == 0 {
		t.Error("dry run found no spec")
	}
}

func focusOf(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return strings.Join(quoted, "|")
}

// RunChild runs this test binary's Ginkgo suite (TestConformance) again
// as a child process with extra environment (e.g. ICOC_PROFILE=...) and
// Ginkgo flags, and returns the report it wrote; a suite uses it to run
// its own specs against an outside DUT it started (mosquitto).
func RunChild(t *testing.T, env []string, args ...string) (types.Report, error) {
	return runChild(t, env, args...)
}

// runChild runs this test binary's Ginkgo suite again with extra env and
// flags and returns the report it wrote.
func runChild(t *testing.T, env []string, args ...string) (types.Report, error) {
	out := filepath.Join(t.TempDir(), "report.json")
	argv := append([]string{"-test.run=^TestConformance$", "-ginkgo.json-report=" + out, "-ginkgo.no-color"}, args...)
	cmd := exec.Command(os.Args[0], argv...)
	cmd.Env = append(slices.Clone(os.Environ()), append(env, "ICOC_SELFTEST_CHILD=1")...)
	log, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return types.Report{}, fmt.Errorf("running %s: %v", os.Args[0], err)
	}
	reps, lerr := report.Load(out)
	if lerr != nil || len(reps) != 1 {
		return types.Report{}, fmt.Errorf("child run wrote no usable report (%v); its output:\n%s", lerr, log)
	}
	return reps[0], nil
}

// mergeSelfTestResults replaces this suite's lines in reports/<kind>.json,
// keeping other suites' lines, under a file lock (suites run in parallel).
func mergeSelfTestResults(kind, suite string, results []QuirkResult) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "reports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "."+kind+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	path := filepath.Join(dir, kind+".json")
	var all []QuirkResult
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &all); err != nil {
			return fmt.Errorf("%s: %v (not overwritten)", path, err)
		}
	}
	all = slices.DeleteFunc(all, func(r QuirkResult) bool { return r.Suite == suite })
	all = append(all, results...)
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Suite != all[j].Suite {
			return all[i].Suite < all[j].Suite
		}
		return all[i].Quirk < all[j].Quirk
	})
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
