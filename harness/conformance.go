package harness

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/harness/report"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// SetUpSuite registers the suite-level nodes every conformance suite needs
// and stores the Run in *run once it has started: BeforeSuite starts the run
// (and reports the run's metadata; the ignition and VIN broadcast runs from
// there), switches the DUT's ignition on (the profile's ig-on stimulus),
// waits the profile's warm-up (bench.warm_up) before the first spec
// stimulates the DUT, and AfterSuite stops it; around every spec the fault plan is cleared and the
// spec time covered is reported. opts go to Start (e.g. PreferHost). Call
// it once per suite, at package level.
func SetUpSuite(run **Run, opts ...Option) bool {
	ginkgo.BeforeSuite(func(ctx ginkgo.SpecContext) {
		r, err := Start(opts...)
		if err != nil {
			ginkgo.AbortSuite("harness: " + err.Error())
		}
		*run = r
		ginkgo.AddReportEntry(report.EntryRun, r.Metadata(), ginkgo.ReportEntryVisibilityNever)
		if err := r.Ignition(ctx, bench.IGOn); err != nil {
			ginkgo.AbortSuite("harness: " + err.Error())
		}
		// Let the DUT take IG-ON and the VIN before the first spec
		// stimulates it.
		select {
		case <-ctx.Done():
		case <-time.After(r.Profile.warmUp()):
		}
	}, ginkgo.NodeTimeout(setUpTimeout))
	ginkgo.AfterSuite(func() {
		if *run != nil {
			(*run).Stop()
		}
	})
	var started time.Time
	ginkgo.BeforeEach(func() {
		started = time.Now()
		if *run != nil && (*run).Center != nil {
			(*run).Faults.Reset()
			(*run).Center.SetALPN(defaultALPN...)
		}
	})
	ginkgo.AfterEach(func() {
		if *run == nil {
			return
		}
		(*run).Faults.Reset()
		covered := (*run).Clock.Spec(time.Since(started))
		ginkgo.AddReportEntry(report.EntrySpecTime, covered.Seconds(), ginkgo.ReportEntryVisibilityNever)
	})
	return true
}

// setUpTimeout bounds the suite's set-up: starting the run (a vehicle
// process is given 15 s), an ig-on command or operator prompt (their
// timeout, 2 min by default) and the warm-up (at most MaxWarmUp).
const setUpTimeout = 10 * time.Minute

// PhaseNotRun records in the spec's report that a phase of it did not run
// and why (e.g. a fault the harness cannot inject against a real DUT); the
// conformance matrix shows it beside the spec's verdict, so a pass is not
// read as covering the phase.
func PhaseNotRun(phase, why string) {
	ginkgo.AddReportEntry(report.EntryPhaseNotRun, phase+": "+why)
}

// defaultALPN is what the harness's center offers unless a spec narrows it.
var defaultALPN = []string{"h2", "http/1.1"}

// RunSuite runs the suite's specs under go test.
func RunSuite(t *testing.T, description string) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	ginkgo.RunSpecs(t, description)
}

// Requires skips the current spec as not applicable when the DUT lacks any
// of the capabilities (the report shows "not applicable", never "passed").
func (r *Run) Requires(capabilities ...string) {
	for _, c := range capabilities {
		if !r.Profile.Has(c) {
			ginkgo.Skip(fmt.Sprintf("not applicable: the DUT profile %s does not list capability %q", r.Profile.Name, c))
		}
	}
}

// Requirement is the normative rule a spec checks, quoted from the seed, with
// its clause; failure messages print it above Expected and Actual.
type Requirement struct {
	Clause string
	Rule   string
}

// String renders "Requirement: clause: \"rule\"" so that it can serve as the
// description of any Gomega assertion.
func (q Requirement) String() string {
	return fmt.Sprintf("Requirement: %s: %q", q.Clause, q.Rule)
}

// SpecContext is the context a spec body receives.
type SpecContext = context.Context
