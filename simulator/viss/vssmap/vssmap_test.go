package vssmap

import (
	"strings"
	"testing"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/viss/vss"
)

func TestDefaultMapBindsAndDecodes(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.Frame("VehicleSpeed", map[string]float64{"Vehicle.Speed": 42.5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range m.NewDecoder().Decode(f) {
		got[s.Path] = s.Value.Wire()
	}
	if got["Vehicle.Speed"] != "42.5" || got["Vehicle.IsMoving"] != "true" || got["Vehicle.Chassis.Axle.Row1.Wheel.Left.Speed"] != "0" {
		t.Errorf("decoded %v", got)
	}
	f, _ = bench.Encode("Ignition", map[string]float64{"IgnitionState": 1})
	if s := m.NewDecoder().Decode(f); len(s) != 1 || s[0].Value.Wire() != "ON" {
		t.Errorf("ignition: %v", s)
	}
	vin := m.NewDecoder()
	frames, _ := bench.VINFrames("JT1TESTVH00000001")
	var last []Sample
	for _, f := range frames {
		last = vin.Decode(f)
	}
	if len(last) != 1 || last[0].Value.Str != "JT1TESTVH00000001" {
		t.Errorf("VIN: %v", last)
	}
}

func TestIntegerDatatypesRound(t *testing.T) {
	m, _ := Default()
	e, _ := m.Entry("Vehicle.Powertrain.CombustionEngine.Speed")
	if v := e.Convert(812.75); v.Wire() != "813" {
		t.Errorf("uint16 from 812.75: %s", v.Wire())
	}
	e, _ = m.Entry("Vehicle.LowVoltageBattery.CurrentVoltage")
	if v := e.Convert(12.3456789); v.Wire() != "12.346" || e.Resolution() != 0.001 {
		t.Errorf("float at 0.001: %s (%v)", v.Wire(), e.Resolution())
	}
}

func TestBindNamesEveryBadEntry(t *testing.T) {
	tree, _ := vss.Default()
	m, err := Parse("bad.yaml", []byte(`dbc: bench
vss: "4.0"
signals:
  - {message: VehicleSpeed, signal: VehicleSpeed, path: Vehicle.Speed}
  - {message: NoSuchMessage, signal: X, path: Vehicle.Speed}
  - {message: Odometer, signal: NoSuchSignal, path: Vehicle.TraveledDistance}
  - {message: Odometer, signal: Odometer, path: Vehicle.NoSuchNode}
  - {message: Odometer, signal: Odometer, path: Vehicle.Cabin}
  - {message: EngineData, signal: FuelLevel, path: Vehicle.Speed}
  - {message: EngineData, signal: EngineSpeed, path: Vehicle.LowVoltageSystemState}
`))
	if err != nil {
		t.Fatal(err)
	}
	err = m.Bind(bench.DB(), tree)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"bad.yaml:5: message \"NoSuchMessage\"", "bad.yaml:6: message Odometer has no signal \"NoSuchSignal\"",
		"bad.yaml:7: path \"Vehicle.NoSuchNode\"", "bad.yaml:8: path \"Vehicle.Cabin\"", "bad.yaml:9: path Vehicle.Speed is fed twice",
		"bad.yaml:10: signal EngineSpeed feeds Vehicle.LowVoltageSystemState, a string"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestParseRejectsUnknownKeys(t *testing.T) {
	if _, err := Parse("x.yaml", []byte("dbc: bench\nvss: \"4.0\"\nsignal: []\n")); err == nil || !strings.Contains(err.Error(), "x.yaml") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestPhysicalInvertsConvert(t *testing.T) {
	m, _ := Default()
	for _, p := range []string{"Vehicle.Speed", "Vehicle.TraveledDistance", "Vehicle.Powertrain.CombustionEngine.ECT"} {
		e, _ := m.Entry(p)
		x, err := e.Physical(37)
		if err != nil || e.Convert(x).Num != 37 {
			t.Errorf("%s: %v %v", p, x, err)
		}
	}
	e, _ := m.Entry("Vehicle.IsMoving")
	if _, err := e.Physical(1); err == nil {
		t.Error("greater_than has an inverse")
	}
}
