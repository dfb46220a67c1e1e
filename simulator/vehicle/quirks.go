package vehicle

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// QuirkInfo describes one quirk: a switch that makes the reference vehicle
// break exactly one clause, so the self-test can prove the spec for that
// clause fails.
type QuirkInfo struct {
	Name   string
	Clause string
	Breaks string
	// Arg says what the value after '=' is; empty when the quirk takes none.
	Arg string
}

// KnownQuirks lists every quirk the vehicle has, by name.
var KnownQuirks = map[string]QuirkInfo{
	"no-retry":        {Clause: "7.2.2.4 Table 7-8", Breaks: "does not retry the given status code", Arg: "status code"},
	"retry":           {Clause: "7.2.2.4 Table 7-8", Breaks: "retries the given status code", Arg: "status code"},
	"retries":         {Clause: "7.2.2.6", Breaks: "retries this many times instead of the rule's count", Arg: "count"},
	"interval-factor": {Clause: "7.2.2.6", Breaks: "waits the rule's retry interval times this factor", Arg: "factor"},
	"corrupt-upload":  {Clause: "7.2.2.9.1", Breaks: "flips one byte of the uploaded file"},
	"upper-extension": {Clause: "Appendix 1 §2", Breaks: "names files with an upper-case extension"},
}

// Quirks is a parsed set of quirks; the zero value has none.
type Quirks struct {
	noRetry        map[int]bool
	retry          map[int]bool
	retries        int // -1: not set
	intervalFactor float64
	corruptUpload  bool
	upperExtension bool
	names          []string
}

// ParseQuirks parses "name" and "name=value" strings; an unknown name or a
// bad value is an error that lists the known quirks.
func ParseQuirks(list []string) (Quirks, error) {
	q := Quirks{retries: -1, intervalFactor: 1}
	for _, s := range list {
		name, arg, _ := strings.Cut(strings.TrimSpace(s), "=")
		info, ok := KnownQuirks[name]
		if !ok {
			return q, fmt.Errorf("quirk %q: unknown; known quirks: %s", s, strings.Join(QuirkNames(), ", "))
		}
		if (info.Arg == "") != (arg == "") {
			return q, fmt.Errorf("quirk %q: takes %s", s, map[bool]string{true: "no value", false: "a value (" + info.Arg + ")"}[info.Arg == ""])
		}
		bad := func(err error) error { return fmt.Errorf("quirk %q: %s: %v", s, info.Arg, err) }
		switch name {
		case "no-retry", "retry":
			code, err := strconv.Atoi(arg)
			if err != nil {
				return q, bad(err)
			}
			m := &q.noRetry
			if name == "retry" {
				m = &q.retry
			}
			if *m == nil {
				*m = map[int]bool{}
			}
			(*m)[code] = true
		case "retries":
			n, err := strconv.Atoi(arg)
			if err != nil || n < 0 {
				return q, bad(fmt.Errorf("%q is not a count", arg))
			}
			q.retries = n
		case "interval-factor":
			f, err := strconv.ParseFloat(arg, 64)
			if err != nil || f <= 0 {
				return q, bad(fmt.Errorf("%q is not a positive number", arg))
			}
			q.intervalFactor = f
		case "corrupt-upload":
			q.corruptUpload = true
		case "upper-extension":
			q.upperExtension = true
		}
		q.names = append(q.names, s)
	}
	return q, nil
}

// QuirkNames returns the known quirk names, sorted.
func QuirkNames() []string {
	names := make([]string, 0, len(KnownQuirks))
	for n := range KnownQuirks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// String lists the active quirks, or "none".
func (q Quirks) String() string {
	if len(q.names) == 0 {
		return "none"
	}
	return strings.Join(q.names, ",")
}
