package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/report"
)

func init() {
	register("conformance", "run the conformance suite and write reports/ (junit.xml, report.json, conformance.md/.html)", runConformance)
}

// runConformance checks the profile, runs every suite under cases/ with
// Ginkgo, and renders the conformance matrix from Ginkgo's JSON report. A
// failing spec still produces every report, and then an error.
func runConformance(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	profile := fs.String("profile", harness.BuiltinSimProfile, "DUT profile file")
	out := fs.String("out", "reports", "directory for the reports")
	waivers := fs.String("waivers", "", "waiver file of the DUT (YAML)")
	focus := fs.String("focus", "", "run only specs whose name matches this regular expression")
	procs := fs.Int("procs", 0, "Ginkgo processes per suite (default: 4 against the simulators, 1 against a real DUT, which is one device)")
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
	ginkgoArgs := []string{"tool", "ginkgo", "--no-color",
		"--json-report=report.json", "--junit-report=junit.xml", "--output-dir=" + outDir}
	if *focus != "" {
		ginkgoArgs = append(ginkgoArgs, "--focus="+*focus)
	}
	if *procs == 0 {
		*procs = 1
		if p.DUT.Simulated {
			*procs = 4 // each process runs its own simulators, bus and center
		}
	}
	if *procs > 1 {
		if !p.DUT.Simulated {
			return fmt.Errorf("-procs %d: a real DUT is one device; specs against it run one at a time", *procs)
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
