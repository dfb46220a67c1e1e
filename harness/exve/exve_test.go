package exve

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	exveop "github.com/icoc-dev/icoc/simulator/exve"
	"github.com/icoc-dev/icoc/simulator/exveap"
)

// A real offering party (here a reference one standing in for an OEM's
// server, reached only by its base URI): the harness gets tokens, reads it,
// and takes its pushes on a callback of its own whose requests land on the
// run's recorder.
func TestRealOfferingParty(t *testing.T) {
	cc := center.NewDefaultConfig()
	cc.CertFile, cc.KeyFile, cc.ClientCAFile = pki.Path(pki.CenterECDSA.ChainFile()), pki.Path(pki.CenterECDSA.KeyFile()), pki.Path(pki.Root.CertFile())
	oem, err := center.New(cc)
	if err != nil {
		t.Fatal(err)
	}
	if err := oem.Start(); err != nil {
		t.Fatal(err)
	}
	defer oem.Close()
	oc := exveop.NewDefaultConfig()
	oc.CertFile, oc.KeyFile, oc.RootCAFiles = cc.CertFile, cc.KeyFile, []string{cc.ClientCAFile}
	op, err := exveop.New(oc, oem)
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Start(); err != nil {
		t.Fatal(err)
	}
	defer op.Close()

	profile := fmt.Sprintf(`name: real-op
dut: {roles: [offering-party], simulated: false, vin: JT1TESTVH00000001, root_ca_file: %[1]s}
clock: {mode: real}
center: {listen: "127.0.0.1:0", host: center.icoc.test, cert_file: %[2]s, key_file: %[3]s, client_ca_file: %[1]s}
exve: {base_uri: "%[4]s"}
`, cc.ClientCAFile, cc.CertFile, cc.KeyFile, op.BaseURI())
	f := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(f, []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := harness.LoadProfile(f)
	if err != nil {
		t.Fatal(err)
	}
	r := &harness.Run{Profile: p, Clock: p.Clock, Recorder: harness.NewRecorder(), Faults: center.NewFaultPlan()}
	e, err := Start(r)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.OP != nil || e.AP == nil || e.Center == nil {
		t.Fatalf("a real offering party: OP %v, AP %v, center %v", e.OP, e.AP, e.Center)
	}
	ctx := context.Background()
	resp := e.Client("main").Do(ctx, "GET", "/vehicles?limit=3")
	if resp.Status != 200 || resp.Object()["exveTotal"] != "24" {
		t.Fatalf("%s", resp.Describe())
	}
	sub := e.Client("main").Do(ctx, "POST", "/odometerSubscriptions", JSONBody(map[string]any{"profile": map[string]any{
		"token_type": "bearer_token", "token": e.AP.NewBearerToken(time.Hour), "expires_in": 3600, "callbackBaseURI": e.AP.CallbackBaseURI()}}))
	if sub.Status != 201 {
		t.Fatalf("%s", sub.Describe())
	}
	loc := sub.Header.Get("Location")
	if err := op.PushTest(ctx, loc[len(loc)-36:], 1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(r.Recorder.Attempts(func(a harness.Attempt) bool { return a.Service == exveap.ServiceName })) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the push is not on the run's timeline; the callback took %d", len(e.AP.Pushes()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ps := e.AP.Pushes(); len(ps) != 1 || ps[0].Status != 200 {
		t.Errorf("pushes %+v", ps)
	}
}
