package center

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// mosquittoArgs are the connection flags of the README's mosquitto_pub and
// mosquitto_sub lines: MQTT v5, TLS 1.3 with the vehicle's client
// certificate, Client ID and username the VIN, the OTP as password.
// --insecure only skips the host-name check (the test dials 127.0.0.1, the
// certificate names center.icoc.test); the chain is still verified.
func mosquittoArgs(b *Broker, otp string) []string {
	_, port, _ := strings.Cut(b.Addr(), ":")
	return []string{"-V", "mqttv5", "-h", "127.0.0.1", "-p", port,
		"--cafile", pki.Path(pki.Root.CertFile()), "--cert", pki.Path(pki.Vehicle.ChainFile()), "--key", pki.Path(pki.Vehicle.KeyFile()),
		"--tls-version", "tlsv1.3", "--insecure",
		"-i", pki.TestVIN, "-u", pki.TestVIN, "-P", otp}
}

func mosquittoTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed: this test drives the mosquitto clients (Debian package mosquitto-clients; .ci/run installs it)", name)
	}
	return p
}

// mosquitto_pub and mosquitto_sub, clients nobody here wrote, talk to the
// reference broker as the vehicle: a QoS 1 upload with Payload Format
// Indicator and Content Type is stored; a reused one-time password is
// refused; a push from the center reaches the subscriber.
func TestMosquittoClientsAgainstBroker(t *testing.T) {
	pub := mosquittoTool(t, "mosquitto_pub")
	sub := mosquittoTool(t, "mosquitto_sub")
	s, b, _ := startBroker(t, true)
	vin := pki.TestVIN

	otp := getOTP(t, s, pki.Vehicle)
	args := append(mosquittoArgs(b, otp), "-t", vin+"/can/V2C", "-q", "1", "-m", "can data",
		"-D", "publish", "payload-format-indicator", "1", "-D", "publish", "content-type", "text/plain",
		"-D", "publish", "user-property", MQTTFileNameProp, goodName)
	if out, err := exec.Command(pub, args...).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	files := s.Store().Files()
	if len(files) != 1 || files[0].Name != goodName || string(files[0].Data) != "can data" {
		t.Errorf("store after mosquitto_pub: %+v", files)
	}

	// The same OTP again: refused, 0x86 Bad User Name or Password.
	out, err := exec.Command(pub, args...).CombinedOutput()
	if err == nil || !strings.Contains(strings.ToLower(string(out)), "bad user name or password") {
		t.Errorf("mosquitto_pub with a used OTP: err %v, output %q; want a refusal (bad user name or password)", err, out)
	}

	otp = getOTP(t, s, pki.Vehicle)
	sargs := append(mosquittoArgs(b, otp), "-t", vin+"/push/C2V", "-q", "1", "-C", "1", "-W", "10", "-F", "%t %p")
	cmd := exec.Command(sub, sargs...)
	var sout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &sout, &sout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.waitSubscribed(ctx, vin, vin+"/push/C2V"); err != nil {
		t.Fatalf("mosquitto_sub did not subscribe: %v\n%s", err, sout.String())
	}
	if err := b.Publish(vin+"/push/C2V", []byte("hello vehicle"), packets.Properties{ContentType: "text/plain", PayloadFormat: 1, PayloadFormatFlag: true}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mosquitto_sub %s: %v\n%s", strings.Join(sargs, " "), err, sout.String())
	}
	if got := strings.TrimSpace(sout.String()); got != vin+"/push/C2V hello vehicle" {
		t.Errorf("mosquitto_sub printed %q", got)
	}
}
