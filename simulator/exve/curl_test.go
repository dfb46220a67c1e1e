package exve_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/simulator/exve"
)

// curl runs curl against the offering party with the test root and
// returns its output and whether it succeeded.
func curl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed: this test drives the curl binary (Debian package curl)")
	}
	out, err := exec.Command(bin, append([]string{"-sS", "--cacert", pki.Path(pki.Root.CertFile())}, args...)...).CombinedOutput()
	return string(out), err
}

// The README's curl lines against the reference offering party, judged by
// a client nobody here wrote: a token by the client-credentials grant, a
// versioned read, a refusal without token, TLS 1.1 refused, HTTP/1.0 505.
func TestCurl(t *testing.T) {
	r := start(t)
	base := r.op.BaseURI()
	out, err := curl(t, "-d", "grant_type=client_credentials", "-d", "client_id=icoc-ap", "-d", "client_secret=icoc-ap-secret", base+exve.TokenPath)
	if err != nil {
		t.Fatalf("token: %v\n%s", err, out)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok.AccessToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("token answer %q: %v", out, err)
	}
	for _, proto := range []string{"--http1.1", "--http2"} {
		out, err = curl(t, proto, "-i", "-H", "Authorization: Bearer "+tok.AccessToken,
			"-H", "Accept: application/json; exve-resourceversion=odometer.v1.0", base+"/vehicles/"+exve.DemoVIN(3)+"/odometers?limit=2")
		if err != nil || !strings.Contains(out, " 200") || !strings.Contains(strings.ToLower(out), "content-type: application/json; exve-resourceversion=odometer.v1.0; charset=utf-8") {
			t.Errorf("%s read: %v\n%s", proto, err, out)
		}
	}
	out, _ = curl(t, "-o", "/dev/null", "-w", "%{http_code}", base+"/vehicles")
	if out != "401" {
		t.Errorf("without token: %q", out)
	}
	if out, err = curl(t, "--tlsv1.1", "--tls-max", "1.1", base+"/vehicles"); err == nil {
		t.Errorf("TLS 1.1 was taken:\n%s", out)
	}
	out, _ = curl(t, "--http1.0", "--no-alpn", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer "+tok.AccessToken, base+"/vehicles")
	if out != "505" {
		t.Errorf("HTTP/1.0: %q", out)
	}
}
