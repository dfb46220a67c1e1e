// Package quirk is the switchboard of the reference simulators' quirks and
// variants. A quirk makes a simulator break exactly one clause, so that the
// harness's self-test can prove the spec for that clause fails. A variant
// makes the simulator take another choice its clause allows, so that the
// variant self-test can prove the spec passes every conformant device. Each
// simulator keeps one Registry for both; each of its files registers what
// it implements.
package quirk

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Info describes one quirk or variant.
type Info struct {
	Name   string
	Clause string
	// Breaks says what a quirk breaks; for a variant, which allowed choice
	// it makes instead of the simulator's default.
	Breaks string
	// Variant is true for a variant: a conformant behaviour the clause
	// allows, under which every spec of the clause must pass.
	Variant bool
	// Arg is the kind of value after '=': "" (none), "int", "float" (> 0)
	// or "string".
	Arg string
}

// Registry holds the quirks of one simulator. It is safe for concurrent
// use; quirks are registered from init functions.
type Registry struct {
	owner string
	mu    sync.Mutex
	known map[string]Info
}

// NewRegistry returns an empty registry; owner names the simulator in
// messages ("vehicle", "center").
func NewRegistry(owner string) *Registry {
	return &Registry{owner: owner, known: map[string]Info{}}
}

// Register adds a quirk; a name registered twice panics.
func (r *Registry) Register(q Info) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.known[q.Name]; dup {
		panic(r.owner + ": quirk registered twice: " + q.Name)
	}
	r.known[q.Name] = q
}

// Known returns every registered quirk, by name.
func (r *Registry) Known() map[string]Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Info, len(r.known))
	for k, v := range r.known {
		out[k] = v
	}
	return out
}

// Names returns the registered quirk names, sorted.
func (r *Registry) Names() []string {
	known := r.Known()
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Set is a parsed set of quirks; the zero value has none. A quirk may be
// given more than once with different values (no-retry=503,no-retry=504).
type Set struct {
	args  map[string][]string
	names []string
}

// Parse parses "name" and "name=value" strings; an unknown name or a bad
// value is an error that lists the known quirks.
func (r *Registry) Parse(list []string) (Set, error) {
	q := Set{args: map[string][]string{}}
	known := r.Known()
	for _, s := range list {
		s = strings.TrimSpace(s)
		name, arg, _ := strings.Cut(s, "=")
		info, ok := known[name]
		if !ok {
			return q, fmt.Errorf("quirk %q: unknown; known quirks: %s", s, strings.Join(r.Names(), ", "))
		}
		if info.Arg == "" && arg != "" {
			return q, fmt.Errorf("quirk %q: takes no value", s)
		}
		if info.Arg != "" && arg == "" {
			return q, fmt.Errorf("quirk %q: takes a value (%s)", s, info.Arg)
		}
		switch info.Arg {
		case "int":
			if n, err := strconv.Atoi(arg); err != nil || n < 0 {
				return q, fmt.Errorf("quirk %q: %q is not a non-negative integer", s, arg)
			}
		case "float":
			if f, err := strconv.ParseFloat(arg, 64); err != nil || f <= 0 {
				return q, fmt.Errorf("quirk %q: %q is not a positive number", s, arg)
			}
		}
		q.args[name] = append(q.args[name], arg)
		q.names = append(q.names, s)
	}
	return q, nil
}

// Has reports whether the quirk is on.
func (q Set) Has(name string) bool { _, ok := q.args[name]; return ok }

// HasValue reports whether the quirk is on with this value.
func (q Set) HasValue(name, value string) bool {
	for _, v := range q.args[name] {
		if v == value {
			return true
		}
	}
	return false
}

// Int returns the quirk's last integer value, or def when it is off.
func (q Set) Int(name string, def int) int {
	vs := q.args[name]
	if len(vs) == 0 {
		return def
	}
	n, _ := strconv.Atoi(vs[len(vs)-1])
	return n
}

// Float returns the quirk's last float value, or def when it is off.
func (q Set) Float(name string, def float64) float64 {
	vs := q.args[name]
	if len(vs) == 0 {
		return def
	}
	f, _ := strconv.ParseFloat(vs[len(vs)-1], 64)
	return f
}

// String returns the quirk's last value, or "" when it is off.
func (q Set) String(name string) string {
	vs := q.args[name]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// IsVariant reports whether name ("name" or "name=value") is a registered
// variant.
func (r *Registry) IsVariant(name string) bool {
	name, _, _ = strings.Cut(name, "=")
	return r.Known()[name].Variant
}

// Names lists the active quirks, or "none".
func (q Set) Names() string {
	if len(q.names) == 0 {
		return "none"
	}
	return strings.Join(q.names, ",")
}
