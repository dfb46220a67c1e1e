package mqtt_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/harness"
	"github.com/onsi/ginkgo/v2/types"
)

// mosquittoExpected is what Debian's mosquitto 2.0, configured as the
// spec wants (mosquittoConf), earns from the broker-DUT specs, by spec
// text; the README explains each failure and not-applicable verdict.
var mosquittoExpected = map[string]string{
	"without a client certificate no CONNACK comes":                                                             "passed",
	"a vehicle cannot publish to another VIN's topic (PUBACK 0x80 or above, or DISCONNECT)":                     "passed",
	"a vehicle cannot subscribe to another VIN's topic (SUBACK 0x80 or above)":                                  "failed",
	"a one-time password used before is refused (CONNACK 0x86 or 0x87)":                                         "skipped",
	"a wrong one-time password is refused (CONNACK 0x86 or 0x87)":                                               "skipped",
	"a one-time password issued to another client certificate of the same VIN is refused (RFC 8705 binding)":    "skipped",
	"a QoS 1 PUBLISH is acknowledged and delivered at QoS 1 with its Payload Format Indicator and Content Type": "passed",
	"CONNACK advertises a Topic Alias Maximum":                                                                  "passed",
	"a CONNECT with an Authentication Method is refused (no enhanced authentication)":                           "passed",
	"a CONNECT whose Client ID is not the certificate's VIN is refused (CONNACK 0x85)":                          "failed",
	"a client silent for 1.5 times its Keep Alive is disconnected":                                              "passed",
	"a push carries a Response Topic, QoS 1, a Payload Format Indicator and a Content Type":                     "skipped",
}

// mosquittoConf is the mosquitto configuration the spec asks for: TLS 1.3
// with the center's certificate, client certificates required and
// verified against the OEM root (7.2.5.1), the certificate's common name
// (the VIN) as the username, and an ACL that gives each VIN its own
// topics (I-146).
func mosquittoConf(port int, acl string) string {
	p := pki.Path
	u := "root"
	if cu, err := user.Current(); err == nil {
		u = cu.Username
	}
	return fmt.Sprintf(`# icoc: mosquitto as the MQTT broker of a center (7.2.5)
per_listener_settings false
allow_anonymous false
persistence false
user %s
log_dest stderr
listener %d 127.0.0.1
cafile %s
certfile %s
keyfile %s
require_certificate true
use_identity_as_username true
tls_version tlsv1.3
acl_file %s
`, u, port, p(pki.Root.CertFile()), p(pki.CenterECDSA.ChainFile()), p(pki.CenterECDSA.KeyFile()), acl)
}

// mosquittoProfile is a DUT profile for mosquitto as a real center DUT.
func mosquittoProfile(addr string) string {
	p := pki.Path
	return fmt.Sprintf(`name: debian-mosquitto
dut:
  name: Debian mosquitto (broker only)
  firmware: %s
  roles: [center]
  simulated: false
  vin: %s
  capabilities: [mqtt, tls1.3]
  cert_file: %s
  key_file: %s
  root_ca_file: %s
clock:
  mode: real
tolerance:
  relative: 0.1
  absolute: 1s
center:
  address: %s
  listen: 127.0.0.1:0
  host: %s
  cert_file: %s
  key_file: %s
  client_ca_file: %s
mqtt:
  address: %s
  otp: false
`, mosquittoVersion(), pki.TestVIN, p(pki.Vehicle.ChainFile()), p(pki.Vehicle.KeyFile()), p(pki.Root.CertFile()),
		addr, pki.CenterHost, p(pki.CenterECDSA.ChainFile()), p(pki.CenterECDSA.KeyFile()), p(pki.Root.CertFile()), addr)
}

func mosquittoBinary() string {
	for _, c := range []string{"mosquitto", "/usr/sbin/mosquitto"} {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	return ""
}

func mosquittoVersion() string {
	out, _ := exec.Command(mosquittoBinary(), "-h").CombinedOutput()
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(strings.TrimPrefix(first, "mosquitto version "))
}

// TestMosquittoBrokerDUT runs the broker-DUT specs of this suite against
// Debian's mosquitto, a broker nobody here wrote, configured as the spec
// wants, and checks the verdicts against mosquittoExpected (recorded in
// the README): a spec that changes its verdict on mosquitto is noticed.
func TestMosquittoBrokerDUT(t *testing.T) {
	if os.Getenv(harness.EnvSkipSelfTest) != "" || os.Getenv("ICOC_SELFTEST_CHILD") != "" {
		t.Skip("skipped inside a conformance run")
	}
	bin := mosquittoBinary()
	if bin == "" {
		t.Skip("mosquitto is not installed (Debian package mosquitto; .ci/run installs it): the broker-DUT specs are not run against it")
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	acl := filepath.Join(dir, "acl")
	if err := os.WriteFile(acl, []byte("# each VIN (the certificate's CN, the username) reaches only its own topics\npattern readwrite %u/#\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(mosquittoConf(port, acl)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %s: %v\n%s", addr, err, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	profile := filepath.Join(dir, "mosquitto-profile.yaml")
	if err := os.WriteFile(profile, []byte(mosquittoProfile(addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := harness.RunChild(t, []string{"ICOC_PROFILE=" + profile}, "-ginkgo.label-filter=role:center-dut && protocol:mqtt")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var lines []string
	for _, sr := range rep.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt || sr.State == types.SpecStatePending {
			continue
		}
		_, text, _ := strings.Cut(sr.LeafNodeText, "center DUT: ")
		if text == "" {
			continue
		}
		got[text] = sr.State.String()
		lines = append(lines, fmt.Sprintf("%-8s %s", sr.State, sr.LeafNodeText))
		if want, ok := mosquittoExpected[text]; !ok {
			t.Errorf("spec %q has no expected mosquitto verdict (it ended %s)", text, sr.State)
		} else if want != sr.State.String() {
			t.Errorf("mosquitto: %q ended %s, the README says %s: %s", sr.LeafNodeText, sr.State, want, firstLine(sr.Failure.Message))
		}
	}
	for text := range mosquittoExpected {
		if _, ok := got[text]; !ok {
			t.Errorf("spec %q did not run against mosquitto", text)
		}
	}
	sort.Strings(lines)
	t.Logf("mosquitto %s as broker DUT:\n%s", mosquittoVersion(), strings.Join(lines, "\n"))
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "\nActual:"); i >= 0 {
		return strings.Join(strings.Fields(s[i:]), " ")
	}
	first, _, _ := strings.Cut(s, "\n")
	return first
}
