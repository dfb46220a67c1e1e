// Package report turns Ginkgo's JSON report of a conformance run into the
// conformance matrix (reports/conformance.md and reports/conformance.html):
// one row per spec with its clause, verdict, durations and labels, the
// failure details, per-verdict counts and the run's metadata.
//
// The package reads only what Ginkgo wrote; it never runs specs. The harness
// attaches three kinds of report entries that this package understands:
// EntryRun (once per suite, in a BeforeSuite node), EntrySpecTime (by a
// spec, for the protocol time it covered) and EntryPhaseNotRun (by a spec,
// for a phase it could not run).
package report

import "strings"

// EntryRun is the name of the report entry the harness attaches once per
// suite, in a BeforeSuite node. Its value is a RunMetadata; Ginkgo stores it
// as JSON in ReportEntryValue.AsJSON and this package decodes it from there.
const EntryRun = "icoc.run"

// EntrySpecTime is the name of the report entry a spec attaches to state how
// many seconds of spec (protocol) time it covered. Its value is a float64
// number of spec seconds; a spec that attaches it more than once covers the
// sum of the values.
const EntrySpecTime = "icoc.spec_time"

// EntryPhaseNotRun is the name of the report entry a spec attaches for
// each phase of it that did not run (a fault the harness cannot inject
// against this DUT, say). Its value is a string, "phase: why". The matrix
// shows it beside the spec's verdict: a pass does not cover that phase.
const EntryPhaseNotRun = "icoc.phase_not_run"

// RunMetadata describes one run of the suite against one DUT. The harness
// attaches it as the EntryRun report entry; the JSON field names are the
// contract between the harness and this package and must not change.
type RunMetadata struct {
	// Profile is the DUT profile file the run used, or "builtin:sim".
	Profile string `json:"profile"`
	// DUT is the identity of the device under test.
	DUT DUTIdentity `json:"dut"`
	// ClockMode is "scaled" (reference simulators) or "real" (a real DUT).
	ClockMode string `json:"clock_mode"`
	// TimeScale is wall seconds per spec second; it is 1 in real mode.
	TimeScale float64 `json:"time_scale"`
	// Transport names how the harness reached the DUT, e.g. "loopback", "netns".
	Transport string `json:"transport"`
	// Certificates lists the certificates the run used, by name and digest.
	Certificates []CertFingerprint `json:"certificates"`
}

// DUTIdentity is who the device under test says it is, as the profile
// states it.
type DUTIdentity struct {
	// Name is the profile's human name for the DUT.
	Name string `json:"name"`
	// Roles are the roles the DUT plays, e.g. "vehicle", "center".
	Roles []string `json:"roles"`
	// Firmware is the DUT's firmware or software version.
	Firmware string `json:"firmware"`
	// VIN is the vehicle identification number (vehicle DUTs).
	VIN string `json:"vin"`
}

// CertFingerprint names one certificate of the run and its SHA-256
// fingerprint over the DER encoding, as lower-case hex.
type CertFingerprint struct {
	// Name says which certificate this is, e.g. "vehicle client".
	Name string `json:"name"`
	// SHA256 is the hex SHA-256 digest of the certificate's DER bytes.
	SHA256 string `json:"sha256"`
}

// EntryEvidence is the name of the report entry the harness attaches to a
// spec whose wire evidence it kept (a failed spec, or every spec on
// request). Its value is an Evidence; the matrix links each file from the
// spec's row.
const EntryEvidence = "icoc.evidence"

// Evidence kinds, in the order the matrix lists them.
const (
	EvidenceCapture  = "capture"
	EvidenceKeyLog   = "keylog"
	EvidenceCAN      = "can"
	EvidenceTimeline = "timeline"
	// EvidenceExchanges is the run's timeline of exchanges during the
	// spec, as text (with the messages of the harness's own clients).
	EvidenceExchanges = "exchanges"
	EvidenceReadme    = "readme"
)

// Evidence lists the files kept for one spec. The JSON field names are the
// contract between the harness and this package.
type Evidence struct {
	// Files are the files, each once.
	Files []EvidenceFile `json:"files"`
	// Notes say what could not be kept and why (no capture without
	// CAP_NET_RAW, say), or what a file lacks.
	Notes []string `json:"notes,omitempty"`
}

// EvidenceFile is one file of a spec's evidence.
type EvidenceFile struct {
	// Kind is one of the Evidence... kinds.
	Kind string `json:"kind"`
	// Path is slash-separated and relative to the directory the matrix is
	// written to (the reports directory), so links work from it.
	Path string `json:"path"`
	// Title is what the link says, e.g. "capture (pcapng)".
	Title string `json:"title"`
}

// String lists the files and notes, one per line (Ginkgo prints it beside
// a failure).
func (e Evidence) String() string {
	var lines []string
	for _, f := range e.Files {
		lines = append(lines, f.Title+": "+f.Path)
	}
	lines = append(lines, e.Notes...)
	return strings.Join(lines, "\n")
}
