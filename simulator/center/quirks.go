package center

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// QuirkInfo describes one quirk: a switch that makes the reference center
// break exactly one clause, so the self-test can prove the spec for that
// clause fails.
type QuirkInfo struct {
	Name   string
	Clause string
	Breaks string
	// Arg is the kind of value after '=': "" (none), "int", "float" (> 0)
	// or "string".
	Arg string
}

var (
	quirksMu sync.Mutex
	quirks   = map[string]QuirkInfo{}
)

// registerQuirk adds a quirk; each area of the center registers its own in
// an init function of the file that implements it.
func registerQuirk(q QuirkInfo) {
	quirksMu.Lock()
	defer quirksMu.Unlock()
	if _, dup := quirks[q.Name]; dup {
		panic("center: quirk registered twice: " + q.Name)
	}
	quirks[q.Name] = q
}

// KnownQuirks returns every quirk the center has, by name.
func KnownQuirks() map[string]QuirkInfo {
	quirksMu.Lock()
	defer quirksMu.Unlock()
	out := make(map[string]QuirkInfo, len(quirks))
	for k, v := range quirks {
		out[k] = v
	}
	return out
}

// QuirkNames returns the known quirk names, sorted.
func QuirkNames() []string {
	known := KnownQuirks()
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Quirks is a parsed set of quirks; the zero value has none. A quirk may be
// given more than once with different values (accept-expired-client-cert).
type Quirks struct {
	args  map[string][]string
	names []string
}

// ParseQuirks parses "name" and "name=value" strings; an unknown name or a
// bad value is an error that lists the known quirks.
func ParseQuirks(list []string) (Quirks, error) {
	q := Quirks{args: map[string][]string{}}
	known := KnownQuirks()
	for _, s := range list {
		s = strings.TrimSpace(s)
		name, arg, _ := strings.Cut(s, "=")
		info, ok := known[name]
		if !ok {
			return q, fmt.Errorf("quirk %q: unknown; known quirks: %s", s, strings.Join(QuirkNames(), ", "))
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
func (q Quirks) Has(name string) bool { _, ok := q.args[name]; return ok }

// HasValue reports whether the quirk is on with this value.
func (q Quirks) HasValue(name, value string) bool {
	for _, v := range q.args[name] {
		if v == value {
			return true
		}
	}
	return false
}

// Int returns the quirk's last integer value, or def when it is off.
func (q Quirks) Int(name string, def int) int {
	vs := q.args[name]
	if len(vs) == 0 {
		return def
	}
	n, _ := strconv.Atoi(vs[len(vs)-1])
	return n
}

// Float returns the quirk's last float value, or def when it is off.
func (q Quirks) Float(name string, def float64) float64 {
	vs := q.args[name]
	if len(vs) == 0 {
		return def
	}
	f, _ := strconv.ParseFloat(vs[len(vs)-1], 64)
	return f
}

// String lists the active quirks, or "none".
func (q Quirks) String() string {
	if len(q.names) == 0 {
		return "none"
	}
	return strings.Join(q.names, ",")
}
