package harness

import (
	"errors"
	"strings"
	"testing"
)

func TestVISSProfile(t *testing.T) {
	p, err := LoadProfile("testdata/profiles/viss-good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.VISS.Servers) != 2 || !strings.HasSuffix(p.VISS.Map, "simulator/viss/vssmap/dbc2vss.yaml") {
		t.Errorf("viss section: %+v", p.VISS)
	}
	r := &Run{Profile: p}
	if err := r.prepareVISS(); err != nil {
		t.Fatal(err)
	}
	if len(r.VISS.Endpoints) != 2 || r.VISS.Endpoints[0].Dialect.Revision != "published" || r.VISS.Endpoints[1].Dialect.Subprotocol != "gen21.0" {
		t.Errorf("endpoints: %+v", r.VISS.Endpoints)
	}
	if r.VISS.Map == nil || r.VISS.Secret != nil || len(r.VISS.Read) != 1 {
		t.Errorf("run: map %v, secret %v, read %v", r.VISS.Map, r.VISS.Secret, r.VISS.Read)
	}
}

// Each bad viss section fails with one error naming the file, the field and
// the reason.
func TestBadVISSProfiles(t *testing.T) {
	for _, c := range []struct{ file, field, want string }{
		{"viss-bad-dialect.yaml", "viss.servers[0]", `VISS dialect "v2": want v3 or gen2`},
		{"viss-plain-ws.yaml", "viss.servers[0].ws", "want wss://host:port"},
		{"viss-no-server.yaml", "viss.servers", "capability viss needs at least one server"},
		{"viss-bad-map.yaml", "viss.map", "bad-dbc2vss.yaml:4: message VehicleSpeed has no signal \"NoSuchSignal\""},
	} {
		t.Run(c.file, func(t *testing.T) {
			_, err := LoadProfile("testdata/profiles/" + c.file)
			var pe *ProfileError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ProfileError", err, err)
			}
			if msg := err.Error(); !strings.Contains(msg, c.file) || !strings.Contains(msg, c.field) || !strings.Contains(msg, c.want) {
				t.Errorf("error %q should name %s, %q and %q", msg, c.file, c.field, c.want)
			}
		})
	}
}
