package exve

import (
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/canfile"
	"github.com/icoc-dev/icoc/spec"
)

// Sample is one frame of one bench-DBC message as a vehicle recorded it:
// when, and the physical value of each signal.
type Sample struct {
	At     time.Time
	Values map[string]float64
}

// DTC is the last state a vehicle reported for one trouble code.
type DTC struct {
	Code   uint32
	Status uint8
	At     time.Time
}

// Active reports whether the DTC's testFailed bit is set.
func (d DTC) Active() bool { return d.Status&1 != 0 }

// ECU is a node of the bench DBC that sent frames in a vehicle's uploads.
type ECU struct {
	Name     string
	Messages []string
	LastSeen time.Time
}

// Vehicle is everything one vehicle uploaded, decoded: its VIN (the
// vehicle identifier of its uploads, read from the CAN bus), a pseudonym,
// the samples of each ordinary bench-DBC message, its DTCs and its ECUs.
type Vehicle struct {
	VIN       string
	Pseudonym string
	FirstSeen time.Time
	LastSeen  time.Time
	Uploads   int
	Series    map[string][]Sample
	DTCs      map[uint32]DTC
	ECUs      map[string]*ECU
}

// Fleet is the offering party's index of the center's store: each CAN data
// file a vehicle uploaded, decoded once. It is safe for concurrent use.
type Fleet struct {
	mu       sync.RWMutex
	vehicles map[string]*Vehicle
	order    []string // the VINs, sorted
	byPseudo map[string]string
	files    map[[2]string]time.Time // vehicle, file name -> upload time ingested
	gen      uint64                  // bumped by every ingest
}

// NewFleet returns an empty fleet.
func NewFleet() *Fleet {
	return &Fleet{vehicles: map[string]*Vehicle{}, byPseudo: map[string]string{}, files: map[[2]string]time.Time{}}
}

// pseudonymNS is the namespace of the vehicles' pseudonymized IDs.
var pseudonymNS = uuid.MustParse("6f1c1d3e-20f8-5e2a-9c1b-2078a0c0ffee")

// Pseudonym is the pseudonymized ID of a VIN (a UUID, REQ_04_02_16).
func Pseudonym(vin string) string { return uuid.NewSHA1(pseudonymNS, []byte(vin)).String() }

// Ingested says what an upload added: the vehicle, the messages of its
// frames, and the request ID of its file name ("" when it has none).
type Ingested struct {
	VIN       string
	File      string
	RequestID string
	Messages  map[string]int
	At        time.Time
}

// Ingest decodes one uploaded CAN data file of vehicle vin and adds its
// frames. A file already ingested with the same upload time is skipped
// (ok false); a file that does not decode is an error and adds nothing.
func (f *Fleet) Ingest(vin, name string, data []byte, at time.Time) (Ingested, bool, error) {
	recs, err := canfile.Decode(data)
	if err != nil {
		return Ingested{}, false, fmt.Errorf("%s %s: %w", vin, name, err)
	}
	in := Ingested{VIN: vin, File: name, Messages: map[string]int{}, At: at}
	if fn, err := spec.ParseFileName(path.Base(name)); err == nil {
		in.RequestID = fn.RequestID
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := [2]string{vin, name}
	if last, ok := f.files[k]; ok && !at.After(last) {
		return in, false, nil
	}
	f.files[k] = at
	v := f.vehicles[vin]
	if v == nil {
		v = &Vehicle{VIN: vin, Pseudonym: Pseudonym(vin), FirstSeen: at, Series: map[string][]Sample{}, DTCs: map[uint32]DTC{}, ECUs: map[string]*ECU{}}
		f.vehicles[vin] = v
		f.byPseudo[v.Pseudonym] = vin
		i := sort.SearchStrings(f.order, vin)
		f.order = append(f.order, "")
		copy(f.order[i+1:], f.order[i:])
		f.order[i] = vin
	}
	v.Uploads++
	if at.After(v.LastSeen) {
		v.LastSeen = at
	}
	for _, r := range recs {
		m, ok := bench.DB().MessageByID(r.Frame.ID)
		if !ok || bench.IsControl(r.Frame) {
			continue
		}
		vals, err := m.Decode(r.Frame)
		if err != nil {
			continue
		}
		in.Messages[m.Name]++
		if r.Time.Before(v.FirstSeen) {
			v.FirstSeen = r.Time
		}
		if m.Name == "DTCStatus" {
			code := uint32(vals["DTCCode"])
			if d, ok := v.DTCs[code]; !ok || !r.Time.Before(d.At) {
				v.DTCs[code] = DTC{Code: code, Status: uint8(vals["DTCStatusByte"]), At: r.Time}
			}
		} else {
			s := v.Series[m.Name]
			// Keep time order: uploads arrive in bus order, retries may not.
			i := sort.Search(len(s), func(i int) bool { return s[i].At.After(r.Time) })
			s = append(s, Sample{})
			copy(s[i+1:], s[i:])
			s[i] = Sample{At: r.Time, Values: vals}
			v.Series[m.Name] = s
		}
		if m.Sender != "" {
			e := v.ECUs[strings.ToLower(m.Sender)]
			if e == nil {
				e = &ECU{Name: m.Sender}
				v.ECUs[strings.ToLower(m.Sender)] = e
			}
			if !containsString(e.Messages, m.Name) {
				e.Messages = append(e.Messages, m.Name)
				sort.Strings(e.Messages)
			}
			if r.Time.After(e.LastSeen) {
				e.LastSeen = r.Time
			}
		}
	}
	f.gen++
	return in, true, nil
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Resolve finds a vehicle by the ID a URI gives: its VIN or its pseudonym.
func (f *Fleet) Resolve(id string) (string, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if _, ok := f.vehicles[id]; ok {
		return id, true
	}
	vin, ok := f.byPseudo[id]
	return vin, ok
}

// VINs returns the VINs of every vehicle, sorted.
func (f *Fleet) VINs() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return append([]string(nil), f.order...)
}

// Len is the number of vehicles.
func (f *Fleet) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.vehicles)
}

// View calls fn with vehicle vin under the read lock; fn must not keep v.
func (f *Fleet) View(vin string, fn func(v *Vehicle)) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	v, ok := f.vehicles[vin]
	if ok {
		fn(v)
	}
	return ok
}

// Each calls fn for every vehicle in VIN order under the read lock.
func (f *Fleet) Each(fn func(v *Vehicle)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, vin := range f.order {
		fn(f.vehicles[vin])
	}
}

// signalRef splits "Message.Signal".
func signalRef(ref string) (msg, sig string) {
	msg, sig, _ = strings.Cut(ref, ".")
	return msg, sig
}

// unitOf is the DBC unit of a "Message.Signal".
func unitOf(ref string) string {
	msg, sig := signalRef(ref)
	m, ok := bench.DB().Message(msg)
	if !ok {
		return ""
	}
	s, ok := m.Signal(sig)
	if !ok {
		return ""
	}
	return s.Unit
}

// physical renders a signal value with the decimals of its DBC factor, so
// 12345.600000000002 is written 12345.6; raw renders the raw value (quirk
// signal-raw).
func physical(ref string, v float64, raw bool) any {
	msg, sig := signalRef(ref)
	m, ok := bench.DB().Message(msg)
	if !ok {
		return v
	}
	s, ok := m.Signal(sig)
	if !ok {
		return v
	}
	if raw {
		return int64(math.Round((v - s.Offset) / s.Scale))
	}
	dec := 0
	for f := s.Scale; f < 1 && dec < 6; f *= 10 {
		dec++
	}
	n, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', dec, 64), 64)
	return n
}

// DemoVIN is the VIN of demo vehicle i (1-based): ICOCDEMO and nine digits.
func DemoVIN(i int) string { return fmt.Sprintf("ICOCDEMO%09d", i) }

// DemoFile builds the CAN data file of demo vehicle i: six samples of each
// ordinary message, a minute apart, ending at end, and one DTC for every
// third vehicle; and its file name per Appendix 1 §2.
func DemoFile(i int, end time.Time) (string, []byte) {
	var recs []canfile.Record
	for k := 0; k < 6; k++ {
		at := end.Add(time.Duration(k-5) * time.Minute).UTC()
		add := func(name string, vals map[string]float64) {
			fr, err := bench.Encode(name, vals)
			if err != nil {
				panic("exve demo fleet: " + err.Error())
			}
			recs = append(recs, canfile.Record{Time: at, Frame: fr})
		}
		add("Odometer", map[string]float64{"Odometer": float64(1000*i) + float64(k)*12.3, "TripMeter": float64(k) * 12.3})
		add("VehicleSpeed", map[string]float64{"VehicleSpeed": float64((i*7+k*11)%130) + 0.5, "WheelSpeedFL": float64((i*7+k*11)%130) + 0.4, "WheelSpeedFR": float64((i*7+k*11)%130) + 0.6})
		add("EngineData", map[string]float64{"EngineSpeed": 800 + float64((i*13+k*100)%3000), "CoolantTemp": 60 + float64((i+k)%40), "FuelLevel": float64((i*3+k)%100) + 0.5, "BatteryVoltage": 12.6 + float64(k)/100})
		if i%3 == 0 && k == 2 {
			add("DTCStatus", map[string]float64{"DTCCode": float64(0x010100 + i), "DTCStatusByte": 0x09})
		}
	}
	name := spec.FileName{Time: end.UTC().Truncate(time.Second), Generation: "D24", Function: 1, Counter: i % 100,
		RequestID: spec.InvalidRequestID(true), Trigger: "s", Extension: "bin"}.String()
	return name, canfile.Encode(recs)
}
