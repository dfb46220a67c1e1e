package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/icoc-dev/icoc/harness/report"
)

func init() {
	register("report", "render reports/conformance.{md,html} from reports/report.json", runReport)
}

// runReport renders the conformance matrix from Ginkgo's JSON report. Paths
// are relative to the current directory. It fails only if the inputs cannot
// be read or the outputs cannot be written; failing specs are reported in
// the matrix and in the one-line summary, not as an error.
func runReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("icoc report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", filepath.Join("reports", "report.json"), "Ginkgo JSON report (--json-report), one report or an array; a "+report.PlanFile+" beside it counts the specs of suites that did not run")
	out := fs.String("out", "reports", "directory to write "+report.MarkdownFile+" and "+report.HTMLFile+" into")
	waiversPath := fs.String("waivers", "", "YAML file of the DUT's waivers: spec ID -> reason (optional)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: icoc report [-in reports/report.json] [-out reports] [-waivers FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var waivers report.Waivers
	if *waiversPath != "" {
		w, err := report.LoadWaivers(*waiversPath)
		if err != nil {
			return err
		}
		waivers = w
	}
	m, err := report.LoadMatrix(*in, waivers)
	if err != nil {
		return err
	}
	if err := m.Write(*out); err != nil {
		return err
	}
	t := m.Totals
	result := "FAILED"
	if t.Passed() {
		result = "PASSED"
	}
	fmt.Fprintf(stdout, "wrote %s and %s: %s; %d rows: %d passed, %d failed, %d error, %d waived, %d not applicable, %d skipped, %d pending; %d suites and %d specs did not run (and the specs of %d suites uncounted); %d flagged\n",
		filepath.Join(*out, report.MarkdownFile), filepath.Join(*out, report.HTMLFile), result, t.Rows,
		t.Counts[report.Passed], t.Counts[report.Failed], t.Counts[report.Error], t.Counts[report.Waived],
		t.Counts[report.NotApplicable], t.Counts[report.Skipped], t.Counts[report.Pending], t.SuitesNotRun, t.NotRun, t.NotRunUncounted, t.Flagged)
	return nil
}
