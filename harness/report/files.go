package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onsi/ginkgo/v2/types"
)

// Output file names WriteFiles writes in its output directory.
const (
	// MarkdownFile is the name of the Markdown matrix.
	MarkdownFile = "conformance.md"
	// HTMLFile is the name of the HTML matrix.
	HTMLFile = "conformance.html"
	// PlanFile is the run's plan beside its JSON report: Ginkgo's dry-run
	// JSON report of the suites that did not run (or not all of them), so
	// the matrix can count their specs. icoc conformance writes it only when
	// a suite did not run.
	PlanFile = "plan.json"
)

// Load reads a Ginkgo JSON report: the array of types.Report that
// --json-report writes (merged over suites), or a single report object.
//
// It returns at least one report or an error that names the file: a
// missing file, bad JSON, an empty array or a JSON value that is not a
// Ginkgo report (no suite path, description or specs) are all errors, so an
// empty or broken input can never render as an empty, passing matrix.
func Load(path string) ([]types.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	data = bytes.TrimSpace(data)
	var reports []types.Report
	switch {
	case len(data) == 0:
		return nil, fmt.Errorf("report: %s: empty file, want a Ginkgo JSON report", path)
	case data[0] == '[':
		err = json.Unmarshal(data, &reports)
	case data[0] == '{':
		var r types.Report
		err = json.Unmarshal(data, &r)
		reports = []types.Report{r}
	default:
		err = errors.New("want a JSON array of reports or one report object")
	}
	if err != nil {
		return nil, fmt.Errorf("report: %s: not a Ginkgo JSON report: %w", path, err)
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("report: %s: contains no suite reports", path)
	}
	for i, r := range reports {
		if r.SuitePath == "" && r.SuiteDescription == "" && len(r.SpecReports) == 0 {
			return nil, fmt.Errorf("report: %s: entry %d is not a Ginkgo suite report (no suite path, description or specs)", path, i)
		}
	}
	return reports, nil
}

// WriteFiles loads reportJSON (and the PlanFile beside it, when there is
// one), builds the matrix with waivers (nil for none) and writes
// MarkdownFile and HTMLFile into outDir (see Matrix.Write). If reportJSON
// or the plan is bad it returns Load's error and writes nothing, so
// existing outputs are left untouched.
func WriteFiles(reportJSON, outDir string, waivers Waivers) error {
	m, err := LoadMatrix(reportJSON, waivers)
	if err != nil {
		return err
	}
	return m.Write(outDir)
}

// LoadMatrix loads reportJSON and the PlanFile beside it, when there is
// one, and builds the matrix with waivers.
func LoadMatrix(reportJSON string, waivers Waivers) (Matrix, error) {
	reports, err := Load(reportJSON)
	if err != nil {
		return Matrix{}, err
	}
	var plan []types.Report
	planPath := filepath.Join(filepath.Dir(reportJSON), PlanFile)
	if _, err := os.Stat(planPath); err == nil {
		if plan, err = Load(planPath); err != nil {
			return Matrix{}, fmt.Errorf("plan: %w", err)
		}
	}
	return BuildPlanned(reports, plan, waivers), nil
}

// Write renders the matrix and writes MarkdownFile and HTMLFile into
// outDir, creating outDir if needed. Both files are rendered in memory
// first and each replaces its old version atomically (temporary file in
// outDir, then rename): if rendering fails, neither file is touched.
func (m Matrix) Write(outDir string) error {
	var mdBuf, htmlBuf bytes.Buffer
	if err := m.Markdown(&mdBuf); err != nil {
		return fmt.Errorf("report: rendering Markdown: %w", err)
	}
	if err := m.HTML(&htmlBuf); err != nil {
		return fmt.Errorf("report: rendering HTML: %w", err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := writeAtomic(filepath.Join(outDir, MarkdownFile), mdBuf.Bytes()); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(outDir, HTMLFile), htmlBuf.Bytes())
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("report: writing %s: %w", path, werr)
	}
	return nil
}
