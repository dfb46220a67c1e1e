package bench

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"go.einride.tech/can"
	"go.einride.tech/can/pkg/dbc"
	"go.einride.tech/can/pkg/descriptor"
)

// DBCFile is the bench DBC: the bench messages and the ordinary signals, as
// shipped in this package (bench.dbc).
//
//go:embed bench.dbc
var DBCFile []byte

// Database is a parsed DBC file: every message by name and by ID. It is
// immutable after Parse and safe for concurrent use.
type Database struct {
	// Source names the file the database was parsed from.
	Source   string
	byName   map[string]*Message
	byID     map[uint32]*Message
	messages []*Message
}

// Message is one DBC message: its frame ID, length and signals.
type Message struct {
	Name       string
	ID         uint32
	IsExtended bool
	Length     uint8
	// Line is where the message is defined in its DBC file.
	Line int
	// Sender is the node (ECU) that transmits the message ("ESC").
	Sender  string
	Signals []*descriptor.Signal
	mux     *descriptor.Signal
	byName  map[string]*descriptor.Signal
}

// Parse parses DBC text; the error names the file and line.
func Parse(name string, data []byte) (*Database, error) {
	p := dbc.NewParser(name, data)
	if err := p.Parse(); err != nil {
		return nil, fmt.Errorf("DBC %v", err)
	}
	db := &Database{Source: name, byName: map[string]*Message{}, byID: map[uint32]*Message{}}
	for _, d := range p.Defs() {
		md, ok := d.(*dbc.MessageDef)
		if !ok {
			continue
		}
		m := &Message{
			Name:       string(md.Name),
			ID:         md.MessageID.ToCAN(),
			IsExtended: md.MessageID.IsExtended(),
			Length:     uint8(md.Size),
			Line:       md.Pos.Line,
			Sender:     string(md.Transmitter),
			byName:     map[string]*descriptor.Signal{},
		}
		if md.Size > 8 {
			return nil, fmt.Errorf("DBC %s:%d: message %s: %d bytes; classic CAN carries at most 8", name, md.Pos.Line, m.Name, md.Size)
		}
		for _, sd := range md.Signals {
			s := &descriptor.Signal{
				Name:             string(sd.Name),
				Start:            uint8(sd.StartBit),
				Length:           uint8(sd.Size),
				IsBigEndian:      sd.IsBigEndian,
				IsSigned:         sd.IsSigned,
				IsMultiplexer:    sd.IsMultiplexerSwitch,
				IsMultiplexed:    sd.IsMultiplexed,
				MultiplexerValue: uint(sd.MultiplexerSwitch),
				Offset:           sd.Offset,
				Scale:            sd.Factor,
				Min:              sd.Minimum,
				Max:              sd.Maximum,
				Unit:             sd.Unit,
			}
			if s.IsMultiplexer {
				m.mux = s
			}
			m.Signals = append(m.Signals, s)
			m.byName[s.Name] = s
		}
		if _, dup := db.byName[m.Name]; dup {
			return nil, fmt.Errorf("DBC %s:%d: message %s defined twice", name, md.Pos.Line, m.Name)
		}
		db.byName[m.Name] = m
		db.byID[m.ID] = m
		db.messages = append(db.messages, m)
	}
	return db, nil
}

var benchDB = func() *Database {
	db, err := Parse("bench.dbc", DBCFile)
	if err != nil {
		panic("bench: the embedded DBC does not parse: " + err.Error())
	}
	return db
}()

// DB returns the parsed bench DBC (the embedded bench.dbc).
func DB() *Database { return benchDB }

// Message returns the message named name.
func (db *Database) Message(name string) (*Message, bool) {
	m, ok := db.byName[name]
	return m, ok
}

// MessageByID returns the standard-ID message with this frame ID.
func (db *Database) MessageByID(id uint32) (*Message, bool) {
	m, ok := db.byID[id]
	return m, ok
}

// Messages returns the messages in file order.
func (db *Database) Messages() []*Message { return append([]*Message(nil), db.messages...) }

// Signal returns the signal named name.
func (m *Message) Signal(name string) (*descriptor.Signal, bool) {
	s, ok := m.byName[name]
	return s, ok
}

// SignalNames returns the message's signal names, sorted (for error messages).
func (m *Message) SignalNames() []string {
	out := make([]string, 0, len(m.byName))
	for n := range m.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Frame encodes the message with physical signal values (raw = (value -
// offset) / factor); signals not given are zero. A name the message does not
// have, or a value outside the signal's [min, max] (when the DBC gives a
// range), is an error naming the message and the signal.
func (m *Message) Frame(values map[string]float64) (can.Frame, error) {
	f := can.Frame{ID: m.ID, IsExtended: m.IsExtended, Length: m.Length}
	var errs []error
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := values[n]
		s, ok := m.byName[n]
		if !ok {
			errs = append(errs, fmt.Errorf("message %s has no signal %q (it has %s)", m.Name, n, strings.Join(m.SignalNames(), ", ")))
			continue
		}
		if s.Min < s.Max && (v < s.Min || v > s.Max) {
			errs = append(errs, fmt.Errorf("message %s signal %s: %v outside [%v, %v]", m.Name, n, v, s.Min, s.Max))
			continue
		}
		raw := math.Round(s.FromPhysical(v))
		if s.IsSigned {
			s.MarshalSigned(&f.Data, int64(raw))
		} else {
			s.MarshalUnsigned(&f.Data, uint64(raw))
		}
	}
	return f, errors.Join(errs...)
}

// FrameRaw encodes the message with raw (unscaled, unsigned) signal values;
// for signals wider than float64 carries exactly (the VIN's 56-bit chunks).
func (m *Message) FrameRaw(values map[string]uint64) (can.Frame, error) {
	f := can.Frame{ID: m.ID, IsExtended: m.IsExtended, Length: m.Length}
	for n, v := range values {
		s, ok := m.byName[n]
		if !ok {
			return f, fmt.Errorf("message %s has no signal %q (it has %s)", m.Name, n, strings.Join(m.SignalNames(), ", "))
		}
		if s.Length < 64 && v>>s.Length != 0 {
			return f, fmt.Errorf("message %s signal %s: raw %d does not fit %d bits", m.Name, n, v, s.Length)
		}
		s.MarshalUnsigned(&f.Data, v)
	}
	return f, nil
}

// Decode returns the physical value of every signal present in f (for a
// multiplexed message: the switch and the signals it selects).
func (m *Message) Decode(f can.Frame) (map[string]float64, error) {
	if f.ID != m.ID || f.IsExtended != m.IsExtended {
		return nil, fmt.Errorf("frame ID 0x%X is not message %s (0x%X)", f.ID, m.Name, m.ID)
	}
	if f.Length < m.Length {
		return nil, fmt.Errorf("frame 0x%X has %d bytes; message %s has %d", f.ID, f.Length, m.Name, m.Length)
	}
	out := map[string]float64{}
	var sel uint64
	if m.mux != nil {
		sel = m.mux.UnmarshalUnsigned(f.Data)
	}
	for _, s := range m.Signals {
		if s.IsMultiplexed && uint64(s.MultiplexerValue) != sel {
			continue
		}
		out[s.Name] = s.UnmarshalPhysical(f.Data)
	}
	return out, nil
}

// DecodeRaw returns the raw unsigned value of one signal in f.
func (m *Message) DecodeRaw(f can.Frame, signal string) (uint64, error) {
	s, ok := m.byName[signal]
	if !ok {
		return 0, fmt.Errorf("message %s has no signal %q", m.Name, signal)
	}
	if f.ID != m.ID || f.Length < m.Length {
		return 0, fmt.Errorf("frame %v is not message %s (ID 0x%X, %d bytes)", f, m.Name, m.ID, m.Length)
	}
	return s.UnmarshalUnsigned(f.Data), nil
}
