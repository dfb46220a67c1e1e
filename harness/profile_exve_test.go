package harness

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	exveop "github.com/icoc-dev/icoc/simulator/exve"
)

// benchCopy copies a shipped example profile into a temporary directory
// without its CAN interface (can0 is on a bench, not here), with absolute
// paths.
func benchCopy(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../profiles/" + name)
	if err != nil {
		t.Fatal(err)
	}
	profiles, _ := filepath.Abs("../profiles")
	s := strings.ReplaceAll(string(b), "../fixtures", filepath.Join(profiles, "..", "fixtures"))
	s = strings.ReplaceAll(s, "catalogue: exve-catalogue", "catalogue: "+profiles+"/exve-catalogue")
	s = strings.ReplaceAll(s, "interface: can0", `interface: ""`)
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestExVeExampleProfiles(t *testing.T) {
	p, err := LoadProfile(benchCopy(t, "exve-offering-party.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasRole(RoleOfferingParty) || p.ExVe.BaseURI != "https://exve.oem.example/exve" || p.ExVe.Clients.Limited.ID != "icoc-bench-odo" {
		t.Errorf("offering-party example: %+v", p.ExVe)
	}
	got, _ := json.Marshal(p.ExVeCatalogue())
	want, _ := json.Marshal(exveop.DefaultCatalogue())
	if string(got) != string(want) {
		t.Errorf("profiles/exve-catalogue.example.yaml is stale: it is not the reference's DefaultCatalogue")
	}
	if _, err := LoadProfile(benchCopy(t, "exve-accessing-party.example.yaml")); err != nil {
		t.Fatal(err)
	}
}

func TestExVeProfileErrors(t *testing.T) {
	root, _ := filepath.Abs("../fixtures/pki")
	head := "name: x\nclock: {mode: real}\ncenter:\n  listen: 127.0.0.1:0\n  host: h\n" +
		"  cert_file: " + root + "/center-ecdsa.chain.pem\n  key_file: " + root + "/center-ecdsa.key.pem\n  client_ca_file: " + root + "/root.crt.pem\n"
	for _, c := range []struct{ dut, exve, want string }{
		{"roles: [operator]", "", "dut.roles"},
		{"roles: [offering-party]", "", "exve.base_uri"},
		{"roles: [offering-party]", "base_uri: http://plain.example/exve", "exve.base_uri"},
		{"roles: [accessing-party]", "", "exve.ap_command"},
		{"roles: [offering-party]", "base_uri: https://x.example/exve\n  catalogue: nowhere.yaml", "exve.catalogue"},
		{"roles: [offering-party]", "base_uri: https://x.example/exve\n  paging_start: 2", "exve.paging_start"},
	} {
		f := filepath.Join(t.TempDir(), "p.yaml")
		body := head + "dut:\n  " + c.dut + "\n  vin: JT1TESTVH00000001\n"
		if c.exve != "" {
			body += "exve:\n  " + c.exve + "\n"
		}
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadProfile(f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s / %s: error %v, want one naming %s", c.dut, c.exve, err, c.want)
		}
	}
}
