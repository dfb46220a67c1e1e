package vissclient

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/viss/vssmap"
)

// Capture is one VSS value the harness put on the bus, and when.
type Capture struct {
	Path  string
	Value vssmap.Value
	Sent  time.Time
}

// Oracle follows, in VSS terms, every frame the harness puts on the DUT's
// bus through it: it encodes values with the DUT's DBC-to-VSS map and
// decodes each frame it sends with the same map, so it knows each path's
// captures. Safe for concurrent use.
type Oracle struct {
	run  *harness.Run
	m    *vssmap.Map
	mu   sync.Mutex
	dec  *vssmap.Decoder
	phys map[string]map[string]float64 // message -> signal -> last physical value sent
	caps map[string][]Capture
}

// NewOracle returns an oracle for the run's DUT (its profile's map).
func NewOracle(r *harness.Run) *Oracle {
	return &Oracle{run: r, m: r.VISS.Map, dec: r.VISS.Map.NewDecoder(), phys: map[string]map[string]float64{}, caps: map[string][]Capture{}}
}

// Map returns the DBC-to-VSS map the oracle uses.
func (o *Oracle) Map() *vssmap.Map { return o.m }

// Put sends one frame that sets the given paths (all fed by one message)
// to the given VSS values; the message's other signals keep the values
// last sent. It returns the frame's send time and the captures it carries.
func (o *Oracle) Put(ctx context.Context, values map[string]float64) (time.Time, []Capture, error) {
	msg := ""
	for p := range values {
		e, ok := o.m.Entry(p)
		if !ok {
			return time.Time{}, nil, fmt.Errorf("%s is not in the DBC-to-VSS map %s", p, o.m.Source)
		}
		if msg != "" && e.Message != msg {
			return time.Time{}, nil, fmt.Errorf("%s and the other paths come from different messages (%s, %s)", p, e.Message, msg)
		}
		msg = e.Message
	}
	o.mu.Lock()
	other := o.phys[msg]
	o.mu.Unlock()
	f, err := o.m.Frame(msg, values, other)
	if err != nil {
		return time.Time{}, nil, err
	}
	dm, _ := o.m.DB().Message(msg)
	phys, _ := dm.Decode(f)
	if err := o.run.Send(ctx, f); err != nil {
		return time.Time{}, nil, err
	}
	at := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.phys[msg] = phys
	var out []Capture
	for _, s := range o.dec.Decode(f) {
		c := Capture{Path: s.Path, Value: s.Value, Sent: at}
		o.caps[s.Path] = append(o.caps[s.Path], c)
		out = append(out, c)
	}
	return at, out, nil
}

// PutSeries sets path to each value in turn, gap (spec time) apart, and
// returns the captures of path.
func (o *Oracle) PutSeries(ctx context.Context, path string, values []float64, gap time.Duration) ([]Capture, error) {
	var out []Capture
	for i, v := range values {
		if i > 0 && !o.run.Wait(ctx, gap) {
			return out, ctx.Err()
		}
		_, cs, err := o.Put(ctx, map[string]float64{path: v})
		if err != nil {
			return out, err
		}
		for _, c := range cs {
			if c.Path == path {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// Latest returns the last capture the harness sent for path.
func (o *Oracle) Latest(path string) (Capture, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	cs := o.caps[path]
	if len(cs) == 0 {
		return Capture{}, false
	}
	return cs[len(cs)-1], true
}

// Since returns the captures of path sent at or after t.
func (o *Oracle) Since(path string, t time.Time) []Capture {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Capture
	for _, c := range o.caps[path] {
		if !c.Sent.Before(t) {
			out = append(out, c)
		}
	}
	return out
}

// Equal reports whether a wire value (a JSON string) is the capture's
// value: numbers within half the map's resolution, booleans and strings
// exactly (register I-277); why says what differs.
func (o *Oracle) Equal(path string, want vssmap.Value, wire any) (bool, string) {
	s, ok := wire.(string)
	if !ok {
		return false, fmt.Sprintf("the value %v is a JSON %T, not a string", wire, wire)
	}
	switch want.Kind {
	case "number":
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return false, fmt.Sprintf("%q is not a number", s)
		}
		res := 0.0
		if e, ok := o.m.Entry(path); ok {
			res = e.Resolution()
		}
		if math.Abs(x-want.Num) > res/2+1e-9*math.Max(1, math.Abs(want.Num)) {
			return false, fmt.Sprintf("%q where the bus carried %s", s, want.Wire())
		}
		return true, ""
	default:
		if s != want.Wire() {
			return false, fmt.Sprintf("%q where the bus carried %q", s, want.Wire())
		}
		return true, ""
	}
}

// Num returns a numeric or boolean value as a number (booleans 1 and 0).
func Num(v vssmap.Value) float64 {
	if v.Kind == "boolean" {
		if v.Bool {
			return 1
		}
		return 0
	}
	return v.Num
}

// Op evaluates x <op> y for the v3 operators (eq ne gt gte lt lte).
func Op(op string, x, y float64) bool {
	switch op {
	case "eq":
		return x == y
	case "ne":
		return x != y
	case "gt":
		return x > y
	case "gte":
		return x >= y
	case "lt":
		return x < y
	case "lte":
		return x <= y
	}
	return false
}

// ExpectChangeV3 returns the captures a v3 change subscription must report
// (002 7.5, register I-273): each capture for which (current - previous)
// <op> diff holds, the first compared with base (the value current when
// the subscription was made).
func ExpectChangeV3(base vssmap.Value, caps []Capture, op string, diff float64) []Capture {
	var out []Capture
	prev := Num(base)
	for _, c := range caps {
		if Op(op, Num(c.Value)-prev, diff) {
			out = append(out, c)
		}
		prev = Num(c.Value)
	}
	return out
}

// ExpectChangeGen2 returns the captures a Gen2 change subscription must
// notify (001 7.2.3, register I-273): GT d: |current - last notified| > d;
// NEQ 0: current != last notified; the value current at subscription is
// the first reference.
func ExpectChangeGen2(base vssmap.Value, caps []Capture, op string, d float64) []Capture {
	var out []Capture
	ref := Num(base)
	for _, c := range caps {
		x := Num(c.Value)
		fire := false
		switch op {
		case "GT":
			fire = math.Abs(x-ref) > d
		case "NEQ":
			fire = x != ref
		}
		if fire {
			out = append(out, c)
			ref = x
		}
	}
	return out
}

// Bound is one range boundary: an operator and a value.
type Bound struct {
	Op    string
	Value float64
}

// InRange evaluates bounds on x, with AND or (or true) OR.
func InRange(bounds []Bound, or bool, x float64) bool {
	res := Op(bounds[0].Op, x, bounds[0].Value)
	for _, b := range bounds[1:] {
		if or {
			res = res || Op(b.Op, x, b.Value)
		} else {
			res = res && Op(b.Op, x, b.Value)
		}
	}
	return res
}

// ExpectRangeV3 returns the captures a v3 range subscription must report:
// every capture for which the boundary expression holds (002 7.4, I-272).
func ExpectRangeV3(caps []Capture, bounds []Bound, or bool) []Capture {
	var out []Capture
	for _, c := range caps {
		if InRange(bounds, or, Num(c.Value)) {
			out = append(out, c)
		}
	}
	return out
}

// ExpectRangeGen2 returns the captures a Gen2 range subscription must
// notify: those where the value enters or leaves the range (the AND of the
// bounds), compared with the previous capture, the first with base
// (001 7.2.2, I-272).
func ExpectRangeGen2(base vssmap.Value, caps []Capture, bounds []Bound) []Capture {
	var out []Capture
	in := InRange(bounds, false, Num(base))
	for _, c := range caps {
		now := InRange(bounds, false, Num(c.Value))
		if now != in {
			out = append(out, c)
		}
		in = now
	}
	return out
}

// Describe lists captures for messages.
func Describe(cs []Capture) string {
	if len(cs) == 0 {
		return "(none)"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Value.Wire()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
