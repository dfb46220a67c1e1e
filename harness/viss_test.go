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
		{"viss-access-node.yaml", "viss.access.read[0]", `"Vehicle.NoSuchNode" is not a node of the VSS 4.0 tree`},
		{"viss-access-both.yaml", "viss.access.write[0]", "Vehicle.TraveledDistance is also in viss.access.read[0]"},
		{"viss-access-purposes.yaml", "viss.access.purposes", `purposes[0] "odometer" has no contexts`},
		{"viss-access-sim.yaml", "viss.access", "a simulated DUT's access control is the reference vehicle's (simulator/viss/data/access.yaml: read [Vehicle.Powertrain.FuelSystem Vehicle.TraveledDistance], write [Vehicle.TripMeterReading])"},
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

// The profile's access lists and the purpose list are what the
// access-control specs use: which paths need a token for get or set, and
// which purpose (with which client context) grants a node, read-only or
// read-write, or does not cover it.
func TestVISSAccess(t *testing.T) {
	p, err := LoadProfile("testdata/profiles/viss-good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Profile: p}
	if err := r.prepareVISS(); err != nil {
		t.Fatal(err)
	}
	v := &r.VISS
	for _, c := range []struct {
		path        string
		read, write bool
	}{
		{"Vehicle.TraveledDistance", true, true},
		{"Vehicle.TripMeterReading", false, false}, // the profile names only the odometer
		{"Vehicle.Speed", false, false},
	} {
		if v.ReadControlled(c.path) != c.read || v.WriteControlled(c.path) != c.write {
			t.Errorf("%s: read %v write %v, want %v %v", c.path, v.ReadControlled(c.path), v.WriteControlled(c.path), c.read, c.write)
		}
	}
	short := func(p VISSPurpose, ok bool) string {
		if !ok {
			return "none"
		}
		return p.Short + " " + p.Context
	}
	for _, c := range []struct{ what, got, want string }{
		{"read odometer", short(v.Purpose("Vehicle.TraveledDistance", false)), "odometer Independent+OEM+Cloud"},
		{"write trip", short(v.Purpose("Vehicle.TripMeterReading", true)), "trip-reset Driver+OEM+Vehicle"},
		{"read-only trip", short(v.PurposeReadOnly("Vehicle.TripMeterReading")), "odometer Independent+OEM+Cloud"},
		{"not odometer", short(v.PurposeNotCovering("Vehicle.TraveledDistance")), "fuel-status Independent+OEM+Cloud"},
		{"fuel branch", short(v.Purpose("Vehicle.Powertrain.FuelSystem", false)), "fuel-status Independent+OEM+Cloud"},
		{"write speed", short(v.Purpose("Vehicle.Speed", true)), "none"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", c.what, c.got, c.want)
		}
	}
	// Without lists, the reference vehicle's selection.
	p.VISS.Access.Read = nil
	r = &Run{Profile: p}
	if err := r.prepareVISS(); err != nil {
		t.Fatal(err)
	}
	if !r.VISS.ReadControlled("Vehicle.Powertrain.FuelSystem.Range") || !r.VISS.WriteControlled("Vehicle.TripMeterReading") || r.VISS.ReadControlled("Vehicle.TripMeterReading") {
		t.Errorf("default selection: read %v write %v", r.VISS.Read, r.VISS.Write)
	}
}
