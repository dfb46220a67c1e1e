package center

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// h2specExplained are the h2spec cases the reference center fails, each
// explained in the register (spec/INTERPRETATIONS.md) with its RFC clause.
// The test fails on any other failure, and on an explained one that starts
// passing (the entry must then go).
var h2specExplained = map[string]string{
	"http2/6.5.3/1":   "I-083: Go's net/http treats a SETTINGS parameter sent twice as PROTOCOL_ERROR",
	"http2/8.1.2.2/1": "I-083: Go's net/http answers a connection-specific header with 400, not a stream error",
	"http2/8.1.2.2/2": "I-083: Go's net/http answers TE other than trailers with 400, not a stream error",
}

// h2relay accepts plain TCP (h2spec in prior-knowledge mode) and relays
// each connection into a TLS 1.3 connection to the center with the test
// vehicle's client certificate and ALPN h2: h2spec cannot present a client
// certificate, which the center requires (7.1.1.3).
func h2relay(t *testing.T, center string) string {
	t.Helper()
	cert, err := pki.LoadTLS(pki.Vehicle)
	if err != nil {
		t.Fatal(err)
	}
	roots, _ := pki.CertPool(pki.Root)
	tc := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots, ServerName: pki.CenterHost, Certificates: []tls.Certificate{cert},
		NextProtos: []string{"h2"}, CurvePreferences: []tls.CurveID{tls.CurveP384}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := tls.Dial("tcp", center, tc)
				if err != nil {
					return
				}
				defer up.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(up, c); _ = up.CloseWrite(); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, up); _ = c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				<-done
				<-done
			}()
		}
	}()
	return ln.Addr().String()
}

type junitSuites struct {
	Suites []struct {
		Name  string `xml:"name,attr"`
		Cases []struct {
			Package string    `xml:"package,attr"`
			Name    string    `xml:"name,attr"`
			Class   string    `xml:"classname,attr"`
			Failure *struct{} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestH2Spec runs h2spec (github.com/summerwind/h2spec, a go tool of this
// module) against the reference center's HTTP/2 through a relay that adds
// the client certificate, and checks that every failure is one the
// register explains. It writes reports/h2spec.xml (JUnit) and logs the
// count for the README.
func TestH2Spec(t *testing.T) {
	if testing.Short() {
		t.Skip("h2spec: skipped in -short mode")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not in PATH: h2spec (a go tool of this module) cannot run")
	}
	s, _, _ := startPolicyCenter(t, func(c *Config) {
		c.ALPN = []string{"h2", "http/1.1"}
		c.TLS.ClientRevocation = ClientRevocation{} // one OCSP check per h2spec connection would only slow it down
	})
	e := &exchanges{}
	s.AddHook(e)
	addr := h2relay(t, s.Addr())
	host, port, _ := net.SplitHostPort(addr)
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "tool", "h2spec", "-h", host, "-p", port, "-o", "5", "-j", report)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errorsAs(err, &exit) {
		t.Fatalf("go tool h2spec: %v\n%s", err, out)
	}
	b, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("h2spec wrote no report (%v); its output:\n%s", rerr, out)
	}
	if root, err := repoRoot(); err == nil {
		_ = os.MkdirAll(filepath.Join(root, "reports"), 0o755)
		_ = os.WriteFile(filepath.Join(root, "reports", "h2spec.xml"), b, 0o644)
	}
	var js junitSuites
	if err := xml.Unmarshal(b, &js); err != nil {
		t.Fatalf("h2spec report: %v", err)
	}
	total, passed, skipped := 0, 0, 0
	failed := map[string]bool{}
	for _, su := range js.Suites {
		for i, c := range su.Cases {
			total++
			id := fmt.Sprintf("%s/%d", c.Package, i+1)
			switch {
			case c.Skipped != nil:
				skipped++
			case c.Failure != nil || c.Error != nil:
				failed[id] = true
			default:
				passed++
			}
		}
	}
	var unexplained, fixed []string
	for id := range failed {
		if _, ok := h2specExplained[id]; !ok {
			unexplained = append(unexplained, id)
		}
	}
	for id := range h2specExplained {
		if !failed[id] {
			fixed = append(fixed, id)
		}
	}
	sort.Strings(unexplained)
	sort.Strings(fixed)
	t.Logf("h2spec: %d of %d passed, %d failed (explained in the register), %d skipped", passed, total, len(failed), skipped)
	if len(unexplained) > 0 {
		t.Errorf("h2spec failures not explained in the register: %s\n%s", strings.Join(unexplained, ", "), out)
	}
	if len(fixed) > 0 {
		t.Errorf("h2spec cases explained as failing now pass (remove them from h2specExplained and the register): %s", strings.Join(fixed, ", "))
	}
	if total == 0 {
		t.Errorf("h2spec ran no case:\n%s", out)
	}
	// The protocol errors net/http answered itself reached the hooks.
	e.mu.Lock()
	refused := 0
	for _, x := range e.req {
		if strings.HasPrefix(x.Malformed, "HTTP/2 ") {
			refused++
		}
	}
	e.mu.Unlock()
	t.Logf("h2spec: %d HTTP/2 protocol errors of the stack reached the hooks", refused)
	if refused < 20 {
		t.Errorf("only %d HTTP/2 protocol errors reached the hooks; h2spec provokes dozens", refused)
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// repoRoot is the directory of the module (go.mod) above the test.
func repoRoot() (string, error) {
	dir, _ := filepath.Abs(".")
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}
