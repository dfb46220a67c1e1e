package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildIcoc builds this command once per test binary.
func buildIcoc(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "icoc")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// A bad profile, a missing certificate and an unreachable center each end
// the run before any spec, with one line naming the cause and exit 1, and
// leave earlier reports alone.
func TestConformanceRefusesBadInput(t *testing.T) {
	bin := buildIcoc(t)
	profiles, _ := filepath.Abs("../../harness/testdata/profiles")
	for _, c := range []struct {
		profile string
		want    []string
	}{
		{"unknown-field.yaml", []string{"unknown-field.yaml:6", "field firmware_version not found"}},
		{"missing-cert.yaml", []string{"center.cert_file", "no-such-center.chain.pem", "no such file"}},
		{"unreachable-center.yaml", []string{"center DUT at 127.0.0.1:1", "unreachable", "connection refused"}},
	} {
		t.Run(c.profile, func(t *testing.T) {
			out := t.TempDir()
			keep := filepath.Join(out, "conformance.md")
			if err := os.WriteFile(keep, []byte("earlier run\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "conformance", "-profile", filepath.Join(profiles, c.profile), "-out", out)
			stderr, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v, want 1; output:\n%s", err, stderr)
			}
			msg := strings.TrimSpace(string(stderr))
			if strings.Count(msg, "\n") != 0 {
				t.Errorf("want one line, got:\n%s", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if b, _ := os.ReadFile(keep); string(b) != "earlier run\n" {
				t.Errorf("earlier report was touched: %q", b)
			}
		})
	}
}
