package viss

import (
	"sync"
	"time"

	"github.com/icoc-dev/icoc/simulator/viss/vssmap"
	"go.einride.tech/can"
)

// Capture is one value of a signal and when the vehicle took it off the
// bus (the "capture time" of 002 5.1.1).
type Capture struct {
	Value vssmap.Value
	At    time.Time
}

// ring is a fixed-size buffer of the last captures of one signal.
type ring struct {
	buf  []Capture
	next int
	full bool
}

func (r *ring) add(c Capture) {
	r.buf[r.next] = c
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// since returns the captures at or after t, oldest first.
func (r *ring) since(t time.Time) []Capture {
	var out []Capture
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	start := 0
	if r.full {
		start = r.next
	}
	for i := 0; i < n; i++ {
		c := r.buf[(start+i)%len(r.buf)]
		if !c.At.Before(t) {
			out = append(out, c)
		}
	}
	return out
}

type signal struct {
	cur, prev *Capture
	hist      ring
}

// Store holds every mapped signal's latest capture, the capture before it
// and a history ring, fed from the bus. Listeners hear every capture.
// Safe for concurrent use.
type Store struct {
	mu        sync.RWMutex
	m         *vssmap.Map
	dec       *vssmap.Decoder
	sig       map[string]*signal
	histSize  int
	listeners []func(path string, c Capture)
	targets   map[string]vssmap.Value
}

// NewStore returns an empty store decoding frames with m.
func NewStore(m *vssmap.Map, historySize int) *Store {
	return &Store{m: m, dec: m.NewDecoder(), sig: map[string]*signal{}, histSize: historySize, targets: map[string]vssmap.Value{}}
}

// Reset forgets every capture, history and target, and any frame half
// decoded (the unit lost its power); the listeners stay.
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dec, s.sig, s.targets = s.m.NewDecoder(), map[string]*signal{}, map[string]vssmap.Value{}
}

// Listen adds a listener for every capture; it runs on the ingesting
// goroutine and must not block.
func (s *Store) Listen(f func(path string, c Capture)) {
	s.mu.Lock()
	s.listeners = append(s.listeners, f)
	s.mu.Unlock()
}

// Ingest decodes one frame taken off the bus at time at.
func (s *Store) Ingest(f can.Frame, at time.Time) {
	s.mu.Lock()
	samples := s.dec.Decode(f)
	if len(samples) == 0 {
		s.mu.Unlock()
		return
	}
	for _, sm := range samples {
		sg := s.sig[sm.Path]
		if sg == nil {
			sg = &signal{hist: ring{buf: make([]Capture, s.histSize)}}
			s.sig[sm.Path] = sg
		}
		c := Capture{Value: sm.Value, At: at}
		sg.prev = sg.cur
		sg.cur = &c
		sg.hist.add(c)
	}
	ls := s.listeners
	s.mu.Unlock()
	for _, sm := range samples {
		for _, l := range ls {
			l(sm.Path, Capture{Value: sm.Value, At: at})
		}
	}
}

// Current returns the latest capture of path.
func (s *Store) Current(path string) (Capture, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sg := s.sig[path]; sg != nil && sg.cur != nil {
		return *sg.cur, true
	}
	return Capture{}, false
}

// Previous returns the capture before the latest one.
func (s *Store) Previous(path string) (Capture, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sg := s.sig[path]; sg != nil && sg.prev != nil {
		return *sg.prev, true
	}
	return Capture{}, false
}

// History returns the recorded captures of path at or after since,
// oldest first, without the latest one (002 7.2: "excluding the current
// value").
func (s *Store) History(path string, since time.Time) []Capture {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sg := s.sig[path]
	if sg == nil {
		return nil
	}
	h := sg.hist.since(since)
	if len(h) > 0 && sg.cur != nil && h[len(h)-1] == *sg.cur {
		h = h[:len(h)-1]
	}
	return h
}

// SetTarget records the target of an actuator (a set).
func (s *Store) SetTarget(path string, v vssmap.Value) {
	s.mu.Lock()
	s.targets[path] = v
	s.mu.Unlock()
}

// Target returns the target last set for path.
func (s *Store) Target(path string) (vssmap.Value, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.targets[path]
	return v, ok
}
