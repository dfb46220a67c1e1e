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

	"github.com/icoc-dev/icoc/harness/report"
	"github.com/onsi/ginkgo/v2/types"
)

// QuirkCase pairs a quirk of the reference simulators with the specs that
// must fail when it is switched on: the proof that those specs can fail.
type QuirkCase struct {
	Quirk string
	Specs []string
}

// QuirkResult is one line of reports/quirks.json.
type QuirkResult struct {
	Suite  string `json:"suite"`
	Quirk  string `json:"quirk"`
	Spec   string `json:"spec"`
	Caught bool   `json:"caught"`
	// State is the spec's Ginkgo state under the quirk ("failed" when caught).
	State string `json:"state"`
}

// selfTestParallelism is how many child runs go at once: ICOC_SELFTEST_PARALLEL,
// else 2.
func selfTestParallelism() int {
	if n, err := strconv.Atoi(os.Getenv("ICOC_SELFTEST_PARALLEL")); err == nil && n > 0 {
		return n
	}
	return 2
}

// EnvSkipSelfTest, when set, makes RunQuirkSelfTest and CheckSpecNames skip:
// the conformance command sets it so a conformance run runs specs only.
const EnvSkipSelfTest = "ICOC_SKIP_SELFTEST"

// inChild reports whether this process is a child run of the self-test.
func inChild() bool { return *flagQuirks != "" || os.Getenv("ICOC_SELFTEST_CHILD") != "" }

// RunQuirkSelfTest runs, for each case, the suite's own test binary again
// with the quirk switched on (ICOC_QUIRKS; a quirk of the reference center,
// which the sim suite starts as the center DUT, carries the prefix
// CenterQuirkPrefix, "center.", every other one is the reference
// vehicle's) and only the case's specs focused, and checks
// that every one of them failed. It writes the outcome into
// reports/quirks.json (merged with other suites' lines) and fails the test
// for each quirk that went uncaught.
func RunQuirkSelfTest(t *testing.T, suite string, cases []QuirkCase) {
	if os.Getenv(EnvSkipSelfTest) != "" || inChild() {
		t.Skip("quirk self-test skipped inside a conformance run")
	}
	// Children run a few at a time: each is its own process with its own
	// simulators and bus, and mostly waits on spec time.
	par := selfTestParallelism()
	perCase := make([][]QuirkResult, len(cases))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, c := range cases {
		if len(c.Specs) == 0 {
			t.Errorf("quirk %s: no spec names it", c.Quirk)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rep, err := runChild(t, []string{"ICOC_QUIRKS=" + c.Quirk}, "-ginkgo.focus="+focusOf(c.Specs))
			if err != nil {
				t.Errorf("quirk %s: %v", c.Quirk, err)
				return
			}
			for _, name := range c.Specs {
				r := QuirkResult{Suite: suite, Quirk: c.Quirk, Spec: name, State: "not run"}
				for _, sr := range rep.SpecReports {
					if sr.LeafNodeType == types.NodeTypeIt && sr.LeafNodeText == name {
						r.State = sr.State.String()
						r.Caught = sr.State == types.SpecStateFailed
					}
				}
				if !r.Caught {
					t.Errorf("quirk %s not caught by %s: the spec ended %s", c.Quirk, name, r.State)
				}
				perCase[i] = append(perCase[i], r)
			}
		}()
	}
	wg.Wait()
	var results []QuirkResult
	for _, rs := range perCase {
		results = append(results, rs...)
	}
	if err := mergeQuirkResults(suite, results); err != nil {
		t.Errorf("writing reports/quirks.json: %v", err)
	}
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
			if _, ok := allowedLabels[l]; !ok {
				t.Errorf("spec %q: label %q is not in the registry", name, l)
			}
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

// mergeQuirkResults replaces this suite's lines in reports/quirks.json,
// keeping other suites' lines, under a file lock (suites run in parallel).
func mergeQuirkResults(suite string, results []QuirkResult) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "reports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".quirks.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	path := filepath.Join(dir, "quirks.json")
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
