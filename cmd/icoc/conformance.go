package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/report"
)

func init() {
	register("conformance", "run the conformance suite and write reports/ (junit.xml, report.json, conformance.md/.html)", runConformance)
}

// runConformance checks the profile, runs every suite under cases/ with
// Ginkgo (every one, even after one failed), and renders the conformance
// matrix from Ginkgo's JSON report. When a suite did not run (it did not
// compile, the run was cut short), a dry run of it writes the plan that
// counts its specs (report.PlanFile). A failing spec still produces every
// report, and then an error.
func runConformance(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	profile := fs.String("profile", harness.BuiltinSimProfile, "DUT profile file")
	out := fs.String("out", "reports", "directory for the reports")
	waivers := fs.String("waivers", "", "waiver file of the DUT (YAML)")
	focus := fs.String("focus", "", "run only specs whose name matches this regular expression")
	procs := fs.Int("procs", 0, "Ginkgo processes per suite (default: 4 against the simulators, 1 against a real DUT, which is one device, or when the profile fixes the CAN bus)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	suites := fs.Args()
	if len(suites) == 0 {
		suites = []string{"./cases/..."}
	}
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	if *profile != harness.BuiltinSimProfile {
		abs, err := filepath.Abs(*profile)
		if err != nil {
			return err
		}
		*profile = abs
	}
	p, err := harness.LoadProfile(*profile)
	if err != nil {
		return err
	}
	if err := preflight(p); err != nil {
		return err
	}
	outDir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("reports directory: %w", err)
	}
	var w report.Waivers
	if *waivers != "" {
		if w, err = report.LoadWaivers(*waivers); err != nil {
			return err
		}
	}
	reportJSON := filepath.Join(outDir, "report.json")
	planJSON := filepath.Join(outDir, report.PlanFile)
	if err := os.Remove(planJSON); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("stale plan: %w", err)
	}
	ginkgoArgs := []string{"tool", "ginkgo", "--no-color", "--keep-going",
		"--json-report=report.json", "--junit-report=junit.xml", "--output-dir=" + outDir}
	if *focus != "" {
		ginkgoArgs = append(ginkgoArgs, "--focus="+*focus)
	}
	if *procs == 0 {
		*procs = 1
		if p.DUT.Simulated && p.FixedBus() == "" {
			*procs = 4 // each process runs its own simulators, bus and center
		}
	}
	if *procs > 1 {
		if !p.DUT.Simulated {
			return fmt.Errorf("-procs %d: a real DUT is one device; specs against it run one at a time", *procs)
		}
		if k := p.FixedBus(); k != "" {
			return fmt.Errorf("-procs %d: profile %s fixes the CAN bus (%s), which parallel processes would share; run with -procs 1", *procs, p.Source, k)
		}
		ginkgoArgs = append(ginkgoArgs, fmt.Sprintf("--procs=%d", *procs))
	}
	ginkgoArgs = append(ginkgoArgs, suites...)
	ginkgoArgs = append(ginkgoArgs, "--", "-icoc.profile="+*profile)
	cmd := exec.Command("go", ginkgoArgs...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = append(os.Environ(), harness.EnvSkipSelfTest+"=1")
	start := time.Now()
	runErr := cmd.Run()
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		return fmt.Errorf("running ginkgo: %w", runErr)
	}
	if _, err := os.Stat(reportJSON); err != nil {
		return fmt.Errorf("ginkgo wrote no %s (exit: %v); see its output above", reportJSON, runErr)
	}
	if err := planNotRun(root, outDir, reportJSON, suites, *focus, *profile, stderr); err != nil {
		fmt.Fprintf(stderr, "icoc: could not count the specs of the suites that did not run: %v\n", err)
	}
	if err := report.WriteFiles(reportJSON, outDir, w); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "icoc: %s in %v; reports in %s (junit.xml, report.json, conformance.md, conformance.html)\n",
		map[bool]string{true: "all specs passed", false: "specs failed"}[runErr == nil], time.Since(start).Round(time.Millisecond), outDir)
	if runErr != nil {
		return fmt.Errorf("conformance suite failed (%v): see %s", runErr, filepath.Join(outDir, "conformance.md"))
	}
	return nil
}

// preflight checks that a real DUT can be reached before any spec runs.
func preflight(p *harness.Profile) error {
	if p.DUT.Simulated {
		return nil
	}
	if p.HasRole("center") {
		addr := p.Center.Address
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return fmt.Errorf("center DUT at %s (profile %s, center.address) is unreachable: %v", addr, p.Source, err)
		}
		_ = c.Close()
	}
	return nil
}

// planNotRun finds the Ginkgo suites the run meant to run (suites, as
// package patterns) that did not run or left no report, and dry-runs them
// (same focus and profile; "" passes no profile flag) into report.PlanFile
// in outDir, so the matrix counts their specs. It writes nothing when every
// suite ran.
func planNotRun(root, outDir, reportJSON string, suites []string, focus, profile string, stderr io.Writer) error {
	reports, err := report.Load(reportJSON)
	if err != nil {
		return err
	}
	ran := map[string]bool{}
	for _, r := range reports {
		if !r.StartTime.IsZero() || len(r.SpecReports) > 0 {
			ran[filepath.Clean(r.SuitePath)] = true
		}
	}
	want, err := ginkgoSuites(root, suites)
	if err != nil {
		return err
	}
	var missing []string
	for _, dir := range want {
		if !ran[dir] {
			missing = append(missing, dir)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	args := []string{"tool", "ginkgo", "--no-color", "--dry-run", "--keep-going",
		"--json-report=" + report.PlanFile, "--output-dir=" + outDir}
	if focus != "" {
		args = append(args, "--focus="+focus)
	}
	args = append(args, missing...)
	if profile != "" {
		args = append(args, "--", "-icoc.profile="+profile)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), harness.EnvSkipSelfTest+"=1")
	runErr := cmd.Run()
	if _, err := os.Stat(filepath.Join(outDir, report.PlanFile)); err != nil {
		return fmt.Errorf("dry run of %v wrote no plan (%v): %s", missing, runErr, out.Bytes())
	}
	fmt.Fprintf(stderr, "icoc: %d suites did not run; the dry run in %s counts their specs\n", len(missing), report.PlanFile)
	return nil
}

// ginkgoSuites lists the directories of the packages the patterns name
// whose tests import Ginkgo: the suites the ginkgo command runs.
func ginkgoSuites(root string, patterns []string) ([]string, error) {
	cmd := exec.Command("go", append([]string{"list", "-f", "{{.Dir}}\t{{.TestImports}} {{.XTestImports}}"}, patterns...)...)
	cmd.Dir = root
	var errb bytes.Buffer
	cmd.Stderr = &errb
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %v: %v: %s", patterns, err, errb.Bytes())
	}
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		dir, imports, ok := strings.Cut(line, "\t")
		if ok && strings.Contains(imports, "github.com/onsi/ginkgo/v2") {
			dirs = append(dirs, filepath.Clean(dir))
		}
	}
	return dirs, nil
}
