package center

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// curlUpload runs the curl command line the README shows a bench user and
// returns the status code and body it printed.
func curlUpload(t *testing.T, s *Server, httpFlag, name, vid string) (string, string) {
	t.Helper()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed: this test drives the curl binary (Debian package curl)")
	}
	_, port, _ := strings.Cut(s.Addr(), ":")
	data := filepath.Join(t.TempDir(), "data.bin")
	if err := exec.Command("sh", "-c", "printf 'can data' > "+data).Run(); err != nil {
		t.Fatal(err)
	}
	args := []string{"-sS", httpFlag, "--tlsv1.3", "--curves", "P-384",
		"--cacert", pki.Path(pki.Root.CertFile()),
		"--cert", pki.Path(pki.Vehicle.ChainFile()), "--key", pki.Path(pki.Vehicle.KeyFile()),
		"--resolve", pki.CenterHost + ":" + port + ":127.0.0.1",
		"-H", "Content-Type: application/octet-stream",
		"--data-binary", "@" + data,
		"-w", "\n%{http_code} %{http_version}",
		"https://" + pki.CenterHost + ":" + port + "/files/" + name}
	if vid != "" {
		args = append(args, "-H", "vehicle_id: "+vid)
	}
	out, err := exec.Command(curl, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	body, last, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return last, body
}

// The center answers an outside client (curl, HTTP/1.1 and HTTP/2, with the
// vehicle's client certificate): a good upload gets 200 SUCCESS, a bad one
// the documented 400 ERROR.
func TestCurl(t *testing.T) {
	s, _ := startCenter(t)
	for _, c := range []struct{ flag, version string }{{"--http1.1", "1.1"}, {"--http2", "2"}} {
		t.Run(c.flag, func(t *testing.T) {
			status, body := curlUpload(t, s, c.flag, goodName, pki.TestVIN)
			if status != "200 "+c.version || !strings.Contains(body, `"SUCCESS"`) {
				t.Errorf("good upload: %q %q", status, body)
			}
			status, body = curlUpload(t, s, c.flag, goodName, "")
			if status != "400 "+c.version || !strings.Contains(body, `"ERROR"`) || !strings.Contains(body, "vehicle_id") {
				t.Errorf("upload without vehicle_id: %q %q", status, body)
			}
		})
	}
}
