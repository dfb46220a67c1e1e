package viss

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/spec/viss"
)

// curl runs the curl command line the README shows against a server's
// https endpoint and returns the status and the body.
func curl(t *testing.T, url string, extra ...string) (string, map[string]any) {
	t.Helper()
	bin, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed: this test drives the curl binary (Debian package curl)")
	}
	host := strings.TrimPrefix(url, "https://")
	host, _, _ = strings.Cut(host, "/")
	_, port, _ := strings.Cut(host, ":")
	url = strings.Replace(url, host, pki.VISSHost+":"+port, 1)
	args := append([]string{"-sS", "--cacert", pki.Path(pki.Root.CertFile()), "--resolve", pki.VISSHost + ":" + port + ":127.0.0.1",
		"-w", "\n%{http_code}"}, extra...)
	args = append(args, url)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	body, code, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("curl %v: body %q: %v", args, body, err)
	}
	return code, m
}

// TestCurl reads and sets signals of the reference servers with curl, an
// HTTPS client nobody here wrote, as the README shows.
func TestCurl(t *testing.T) {
	s := startService(t)
	s.OnFrame(speed(t, 88.25), time.Now())
	v3, gen2 := s.Endpoints()[0], s.Endpoints()[1]

	code, m := curl(t, v3.HTTP+"/Vehicle/Speed")
	dp, _ := m["data"].(map[string]any)["dp"].(map[string]any)
	if code != "200" || dp["value"] != "88.25" {
		t.Errorf("v3 GET: %s %v", code, m)
	}
	code, m = curl(t, v3.HTTP+`/Vehicle?filter=`+`%7B%22variant%22%3A%22paths%22%2C%22parameter%22%3A%5B%22Speed%22%2C%22IsMoving%22%5D%7D`)
	if code != "200" || len(m["data"].([]any)) != 2 {
		t.Errorf("v3 GET with a paths filter: %s %v", code, m)
	}
	code, m = curl(t, v3.HTTP+"/Vehicle/Speed", "-H", "Content-Type: application/json", "--data", `{"value":"1"}`)
	if e, _ := m["error"].(map[string]any); code != "400" || e["reason"] != "invalid_data" {
		t.Errorf("v3 POST of a sensor: %s %v", code, m)
	}
	code, m = curl(t, gen2.HTTP+"/Vehicle/Speed")
	if code != "200" || m["value"] != "88.25" {
		t.Errorf("Gen2 GET: %s %v", code, m)
	}
	code, m = curl(t, gen2.HTTP+"/Vehicle/NoSuchNode")
	if e, _ := m["error"].(map[string]any); code != "404" || e["reason"] != "invalid_path" {
		t.Errorf("Gen2 GET of an unknown path: %s %v", code, m)
	}
	_ = vissspec.V3
}
