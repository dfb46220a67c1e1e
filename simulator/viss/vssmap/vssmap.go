// Package vssmap is the DBC-to-VSS map: the data table that says which
// VSS path each CAN signal feeds and how its value is converted (format in
// dbc2vss.yaml, the reference vehicle's map). The reference vehicle's VISS
// servers decode bus frames with it, and the harness's CAN-to-VSS oracle
// decodes the frames it sent with a profile's map.
package vssmap

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/viss/vss"
	"go.einride.tech/can"
	"go.yaml.in/yaml/v3"
)

// DefaultFile is the reference vehicle's map.
//
//go:embed dbc2vss.yaml
var DefaultFile []byte

// Map is a parsed DBC-to-VSS map. Invariant after Bind: every entry names
// a message and signal of the DBC and a leaf of the tree.
type Map struct {
	// Source names the file.
	Source string `yaml:"-"`
	// DBC is "bench" (simulator/bench/bench.dbc) or a DBC file path.
	DBC string `yaml:"dbc"`
	// VSS is the VSS release of the paths ("4.0").
	VSS     string  `yaml:"vss"`
	Signals []Entry `yaml:"signals"`

	db    *bench.Database
	tree  *vss.Tree
	byID  map[uint32][]int
	paths map[string]int
}

// Entry is one row: a DBC signal feeding a VSS path.
type Entry struct {
	Message   string    `yaml:"message"`
	Signal    string    `yaml:"signal"`
	Path      string    `yaml:"path"`
	Transform Transform `yaml:"transform"`
	// Line is the entry's line in Source.
	Line int `yaml:"-"`

	msg  *bench.Message
	node *vss.Node
	res  float64 // resolution of the VSS value
	dec  int     // decimals of the VSS value
}

// Transform converts a signal's physical value to the VSS value; at most
// one of its kinds is set (none: identity).
type Transform struct {
	Scale       *float64         `yaml:"scale"`
	Offset      float64          `yaml:"offset"`
	Map         map[int64]string `yaml:"map"`
	GreaterThan *float64         `yaml:"greater_than"`
	Assemble    string           `yaml:"assemble"`
}

// Parse reads a map; the error names the file and line.
func Parse(name string, data []byte) (*Map, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("DBC-to-VSS map %s: %v", name, err)
	}
	m := &Map{Source: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("DBC-to-VSS map %s: %v", name, err)
	}
	// Lines of the entries, from the node tree.
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "signals" {
				for j, e := range root.Content[i+1].Content {
					if j < len(m.Signals) {
						m.Signals[j].Line = e.Line
					}
				}
			}
		}
	}
	return m, nil
}

// Load reads a map file.
func Load(path string) (*Map, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("DBC-to-VSS map: %w", err)
	}
	return Parse(path, b)
}

// Default returns the reference vehicle's map, bound to the bench DBC and
// the VSS 4.0 tree.
func Default() (*Map, error) {
	m, err := Parse("simulator/viss/vssmap/dbc2vss.yaml", DefaultFile)
	if err != nil {
		return nil, err
	}
	t, err := vss.Default()
	if err != nil {
		return nil, err
	}
	return m, m.Bind(bench.DB(), t)
}

// Bind checks every entry against the DBC and the tree and prepares the
// conversions; the error names each bad entry by file and line.
func (m *Map) Bind(db *bench.Database, tree *vss.Tree) error {
	m.db, m.tree = db, tree
	m.byID = map[uint32][]int{}
	m.paths = map[string]int{}
	var errs []error
	bad := func(e Entry, format string, args ...any) {
		errs = append(errs, fmt.Errorf("DBC-to-VSS map %s:%d: %s", m.Source, e.Line, fmt.Sprintf(format, args...)))
	}
	if m.VSS != "4.0" {
		errs = append(errs, fmt.Errorf("DBC-to-VSS map %s: vss %q: only the 4.0 tree is served (register I-276)", m.Source, m.VSS))
	}
	for i := range m.Signals {
		e := &m.Signals[i]
		msg, ok := db.Message(e.Message)
		if !ok {
			bad(*e, "message %q is not in DBC %s", e.Message, db.Source)
			continue
		}
		s, ok := msg.Signal(e.Signal)
		if !ok {
			bad(*e, "message %s has no signal %q (it has %s)", e.Message, e.Signal, strings.Join(msg.SignalNames(), ", "))
			continue
		}
		n, ok := tree.Node(e.Path)
		if !ok || !n.IsLeaf() {
			bad(*e, "path %q is not a leaf of the VSS %s tree", e.Path, m.VSS)
			continue
		}
		if _, dup := m.paths[e.Path]; dup {
			bad(*e, "path %s is fed twice", e.Path)
			continue
		}
		e.msg, e.node = msg, n
		t := e.Transform
		kinds := 0
		for _, set := range []bool{t.Scale != nil || t.Offset != 0, t.Map != nil, t.GreaterThan != nil, t.Assemble != ""} {
			if set {
				kinds++
			}
		}
		if kinds > 1 {
			bad(*e, "transform: at most one of scale/offset, map, greater_than and assemble")
			continue
		}
		switch {
		case t.Assemble != "":
			if t.Assemble != "vin" || e.Message != bench.MsgVIN || db != bench.DB() {
				bad(*e, "transform assemble: only \"vin\" on the bench DBC's %s", bench.MsgVIN)
				continue
			}
			if n.Datatype != "string" {
				bad(*e, "assemble vin feeds a %s; want a string", n.Datatype)
			}
		case t.Map != nil:
			if n.Datatype != "string" {
				bad(*e, "transform map feeds %s, a %s; want a string", e.Path, n.Datatype)
			}
		case t.GreaterThan != nil:
			if n.Datatype != "boolean" {
				bad(*e, "transform greater_than feeds %s, a %s; want a boolean", e.Path, n.Datatype)
			}
		default:
			if !IsNumeric(n.Datatype) {
				bad(*e, "signal %s feeds %s, a %s; want a numeric datatype (or a transform)", e.Signal, e.Path, n.Datatype)
			}
			scale := 1.0
			if t.Scale != nil {
				scale = *t.Scale
			}
			e.res = math.Abs(s.Scale * scale)
			e.dec = decimals(e.res)
			if IsInteger(n.Datatype) {
				e.res, e.dec = math.Max(1, e.res), 0
			}
		}
		m.paths[e.Path] = i
		m.byID[msg.ID] = append(m.byID[msg.ID], i)
	}
	return errors.Join(errs...)
}

// decimals is how many decimals represent r exactly (at most 9).
func decimals(r float64) int {
	s := strconv.FormatFloat(r, 'f', -1, 64)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return min(len(s)-i-1, 9)
	}
	return 0
}

// IsNumeric reports whether a VSS datatype is a number.
func IsNumeric(dt string) bool { return IsInteger(dt) || dt == "float" || dt == "double" }

// IsInteger reports whether a VSS datatype is an integer.
func IsInteger(dt string) bool {
	switch dt {
	case "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64":
		return true
	}
	return false
}

// Paths returns the mapped paths, sorted.
func (m *Map) Paths() []string {
	out := make([]string, 0, len(m.paths))
	for p := range m.paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Entry returns the entry feeding path.
func (m *Map) Entry(path string) (Entry, bool) {
	i, ok := m.paths[path]
	if !ok {
		return Entry{}, false
	}
	return m.Signals[i], true
}

// Tree returns the tree the map is bound to.
func (m *Map) Tree() *vss.Tree { return m.tree }

// DB returns the DBC the map is bound to.
func (m *Map) DB() *bench.Database { return m.db }

// Node returns the VSS node the entry feeds.
func (e Entry) Node() *vss.Node { return e.node }

// Resolution is the step of the entry's VSS value (0 for non-numbers):
// two numbers closer than half of it are equal (register I-277).
func (e Entry) Resolution() float64 { return e.res }

// Value is a VSS value as the map produces it.
type Value struct {
	// Kind is "number", "boolean" or "string".
	Kind string
	Num  float64
	Bool bool
	Str  string
}

// Wire is the value as a VISS payload carries it: a string (002 4).
func (v Value) Wire() string {
	switch v.Kind {
	case "number":
		return strconv.FormatFloat(v.Num, 'f', -1, 64)
	case "boolean":
		return strconv.FormatBool(v.Bool)
	}
	return v.Str
}

// Convert turns a physical signal value into the entry's VSS value.
func (e Entry) Convert(phys float64) Value {
	t := e.Transform
	switch {
	case t.Map != nil:
		s, ok := t.Map[int64(math.Round(phys))]
		if !ok {
			s = "UNDEFINED"
		}
		return Value{Kind: "string", Str: s}
	case t.GreaterThan != nil:
		return Value{Kind: "boolean", Bool: phys > *t.GreaterThan}
	}
	v := phys
	if t.Scale != nil {
		v *= *t.Scale
	}
	v += t.Offset
	p := math.Pow(10, float64(e.dec))
	v = math.Round(v*p) / p
	return Value{Kind: "number", Num: v}
}

// Physical inverts a linear entry: the physical signal value that gives
// VSS value v.
func (e Entry) Physical(v float64) (float64, error) {
	t := e.Transform
	if t.Map != nil || t.GreaterThan != nil || t.Assemble != "" {
		return 0, fmt.Errorf("%s: the %s transform has no inverse", e.Path, e.kind())
	}
	v -= t.Offset
	if t.Scale != nil {
		if *t.Scale == 0 {
			return 0, fmt.Errorf("%s: scale 0 has no inverse", e.Path)
		}
		v /= *t.Scale
	}
	return v, nil
}

func (e Entry) kind() string {
	switch t := e.Transform; {
	case t.Map != nil:
		return "map"
	case t.GreaterThan != nil:
		return "greater_than"
	case t.Assemble != "":
		return "assemble"
	}
	return "linear"
}

// Sample is one VSS value a frame carried.
type Sample struct {
	Path  string
	Value Value
}

// Decoder turns frames into samples; it keeps the state a multi-frame
// value (the VIN) needs. Not safe for concurrent use.
type Decoder struct {
	m   *Map
	vin bench.VINAssembler
}

// NewDecoder returns a decoder for m (bound).
func (m *Map) NewDecoder() *Decoder { return &Decoder{m: m} }

// Decode returns the samples of f (none for a frame the map does not use).
func (d *Decoder) Decode(f can.Frame) []Sample {
	if f.IsExtended {
		return nil
	}
	idx := d.m.byID[f.ID]
	if len(idx) == 0 {
		return nil
	}
	var out []Sample
	var phys map[string]float64
	for _, i := range idx {
		e := d.m.Signals[i]
		if e.Transform.Assemble == "vin" {
			if vin, err := d.vin.Add(f); err == nil && vin != "" {
				out = append(out, Sample{Path: e.Path, Value: Value{Kind: "string", Str: vin}})
			}
			continue
		}
		if phys == nil {
			var err error
			if phys, err = e.msg.Decode(f); err != nil {
				return out
			}
		}
		v, ok := phys[e.Signal]
		if !ok {
			continue
		}
		out = append(out, Sample{Path: e.Path, Value: e.Convert(v)})
	}
	return out
}

// Frame encodes one frame of message msg with the physical values of its
// mapped paths given in VSS terms (values by path); the message's other
// signals take other[signal] or zero.
func (m *Map) Frame(msg string, values map[string]float64, other map[string]float64) (can.Frame, error) {
	dm, ok := m.db.Message(msg)
	if !ok {
		return can.Frame{}, fmt.Errorf("message %q is not in DBC %s", msg, m.db.Source)
	}
	phys := map[string]float64{}
	for k, v := range other {
		phys[k] = v
	}
	for p, v := range values {
		e, ok := m.Entry(p)
		if !ok {
			return can.Frame{}, fmt.Errorf("path %s is not in the DBC-to-VSS map %s", p, m.Source)
		}
		if e.Message != msg {
			return can.Frame{}, fmt.Errorf("path %s comes from message %s, not %s", p, e.Message, msg)
		}
		x, err := e.Physical(v)
		if err != nil {
			return can.Frame{}, err
		}
		phys[e.Signal] = x
	}
	return dm.Frame(phys)
}
