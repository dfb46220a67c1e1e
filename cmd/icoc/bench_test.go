package main

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/report"
)

// benchSuites and benchFocus are what TestBenchModeOutsideVehicle runs
// (README.md, "Bench: a real DCM", names them): the CAN suite's three
// specs (the CAN-to-center oracle, session establishment on IG-ON and the
// VIN, the center away, whose dead-link phase a real DUT skips) and, over
// HTTP/1.1, the 503 and 400 rows of Table 7-8 (retried, not retried), the
// 567 row (silent until the next IG-ON), the headers, the data format and
// file name, and the session rules. About two minutes on 2 cores.
var (
	benchSuites = []string{"./cases/can", "./cases/http/h1"}
	benchFocus  = `\[5 T5-1 CAN\]|\[7\.2\.2\.7\]|\[7\.2\.2\.6\] CAN data|T7-8 (503|400|567)\]|\[7\.2\.2\.3\]|\[A1\.[12]\]`
)

// TestBenchModeOutsideVehicle runs vehicle suites in bench mode against the
// reference vehicle started as a separate program, the way README.md's
// bench section tells a user to join a software DCM: the profile is
// profiles/software-dcm.example.yaml (simulated: false, only bench keys,
// a scaled clock the DUT declares), the vehicle's command line is the one
// in the README (only its ports changed to free ones). The verdicts must be
// the sim run's, spec by spec, and the center-away spec must say that its
// dead-link phase did not run.
func TestBenchModeOutsideVehicle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two conformance runs (-short)")
	}
	if os.Getenv(harness.EnvSkipSelfTest) != "" {
		t.Skip("inside a conformance run")
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	canAddr := "239.64.142.206:" + strconv.Itoa(freePort(t, "udp"))
	centerAddr := "127.0.0.1:" + strconv.Itoa(freePort(t, "tcp"))
	revAddr := "127.0.0.1:" + strconv.Itoa(freePort(t, "tcp"))
	_, centerPort, _ := net.SplitHostPort(centerAddr)
	swap := strings.NewReplacer(
		"239.64.142.206:29536", canAddr,
		"127.0.0.1:8443", centerAddr, "center.icoc.test:8443", "center.icoc.test:"+centerPort,
		"127.0.0.1:8080", revAddr,
		"../fixtures/", filepath.Join(root, "fixtures")+"/")

	// The profile: the shipped example, its ports changed.
	example, err := os.ReadFile(filepath.Join(root, "profiles", "software-dcm.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	profile := filepath.Join(dir, "software-dcm.yaml")
	if err := os.WriteFile(profile, []byte(swap.Replace(string(example))), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := harness.LoadProfile(profile)
	if err != nil {
		t.Fatal(err)
	}
	if p.DUT.Simulated || !p.Clock.DUTRunsScaled {
		t.Fatalf("the example is not a bench profile with a DUT-declared clock: %+v %+v", p.DUT, p.Clock)
	}

	// The DCM: cmd/vehicle, run from the repository as the README says.
	args := readmeVehicleArgs(t, filepath.Join(root, "README.md"))
	for i := range args {
		args[i] = swap.Replace(args[i])
	}
	bin, err := harness.VehicleBinary()
	if err != nil {
		t.Fatal(err)
	}
	var vlog bytes.Buffer
	veh := exec.Command(bin, args...)
	veh.Dir = root
	veh.Stdout, veh.Stderr = &vlog, &vlog
	veh.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := veh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("vehicle: %s %s", bin, strings.Join(args, " "))
	defer func() {
		_ = veh.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = veh.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = veh.Process.Kill()
			<-done
		}
	}()

	// One suite per run: Ginkgo compiles the next suite while one runs,
	// which on 2 cores would crowd a scaled clock's timing.
	bv, sv := map[string]report.Verdict{}, map[string]report.Verdict{}
	var matrices []report.Matrix
	for _, suite := range benchSuites {
		name := filepath.Base(suite)
		bench := conformanceMatrix(t, "bench-"+name, dir, suite, "-profile", profile)
		if t.Failed() {
			t.Logf("vehicle output (last lines):\n%s", tail(vlog.String(), 60))
		}
		sim := conformanceMatrix(t, "sim-"+name, dir, suite)
		maps.Copy(bv, verdicts(bench))
		maps.Copy(sv, verdicts(sim))
		matrices = append(matrices, bench, sim)
		// The real DUT skipped the dead-link phase, and the matrix says so.
		for _, r := range bench.Rows {
			if r.ID == "7.2.2.6" && strings.Contains(r.Name, "CAN data") && len(r.PhasesNotRun) == 0 {
				t.Errorf("bench %s: no phase-not-run note for the dead-link phase", r.Name)
			}
		}
		if bench.Run == nil || bench.Run.ClockMode != "scaled (declared by the DUT)" {
			t.Errorf("bench run metadata %+v: want the DUT-declared scaled clock", bench.Run)
		}
	}

	// Same specs, same verdicts.
	if len(sv) < 15 {
		t.Fatalf("the sim run judged %d specs; the focus should select at least 15", len(sv))
	}
	var names []string
	for n := range sv {
		names = append(names, n)
	}
	for n := range bv {
		if _, ok := sv[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if bv[n] != sv[n] {
			t.Errorf("%s: bench %q, sim %q", n, orNone(bv[n]), orNone(sv[n]))
		}
	}
	for _, m := range matrices {
		if m.Totals.SuitesNotRun != 0 || m.Totals.NotRun != 0 {
			t.Errorf("suites or specs did not run: %+v", m.Totals)
		}
	}
}

// conformanceMatrix runs icoc conformance of suite with the bench focus
// into dir/name and returns its matrix; the run's output goes to the test
// log when specs failed.
func conformanceMatrix(t *testing.T, name, dir, suite string, extra ...string) report.Matrix {
	t.Helper()
	out := filepath.Join(dir, name)
	args := append([]string{"-out", out, "-focus", benchFocus}, extra...)
	args = append(args, suite)
	var log bytes.Buffer
	start := time.Now()
	err := runConformance(args, &log, &log)
	t.Logf("%s run: %v (%v)", name, time.Since(start).Round(time.Second), err)
	m, lerr := report.LoadMatrix(filepath.Join(out, "report.json"), nil)
	if lerr != nil {
		t.Fatalf("%s run: %v\n%s", name, lerr, tail(log.String(), 200))
	}
	if err != nil {
		t.Errorf("%s run failed: %v\n%s", name, err, tail(log.String(), 200))
	}
	return m
}

// verdicts maps each spec row's name to its verdict.
func verdicts(m report.Matrix) map[string]report.Verdict {
	out := map[string]report.Verdict{}
	for _, r := range m.Rows {
		if !r.SuiteLevel {
			out[r.Name] = r.Verdict
		}
	}
	return out
}

func orNone(v report.Verdict) report.Verdict {
	if v == "" {
		return "(not in this run)"
	}
	return v
}

// readmeVehicleArgs returns the flags of the cmd/vehicle command line in
// the README's bench section (the fenced line that starts with
// "go run ./cmd/vehicle -can-udp", with its continuation lines).
func readmeVehicleArgs(t *testing.T, readme string) []string {
	t.Helper()
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	inBench, cmd := false, ""
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inBench = strings.HasPrefix(line, "## Bench")
		}
		if !inBench {
			continue
		}
		if cmd == "" && !strings.HasPrefix(line, "go run ./cmd/vehicle -can-udp") {
			continue
		}
		cmd += " " + strings.TrimSuffix(strings.TrimSpace(line), `\`)
		if !strings.HasSuffix(strings.TrimSpace(line), `\`) {
			break
		}
	}
	fields := strings.Fields(cmd)
	if len(fields) < 4 || fields[0] != "go" || fields[2] != "./cmd/vehicle" {
		t.Fatalf("README.md's bench section has no \"go run ./cmd/vehicle -can-udp ...\" command line (found %q)", cmd)
	}
	return fields[3:]
}

// freePort returns a port free on 127.0.0.1 for network "tcp" or "udp".
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
