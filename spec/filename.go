package spec

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FieldError is the error of a strict parser or checker in this package.
// Invariant: Field names the offending field exactly as the seed names it
// ("month", "generation", "request_id", "trigger", "extension", ...).
type FieldError struct {
	Input  string // the whole input, if any
	Field  string // the offending field
	Value  string // the offending field's text
	Reason string // what is wrong with it
}

// Error formats the error as "spec: [file name "<input>": ]<field> "<value>": <reason>".
func (e *FieldError) Error() string {
	if e.Input != "" {
		return fmt.Sprintf("spec: file name %q: %s %q: %s", e.Input, e.Field, e.Value, e.Reason)
	}
	return fmt.Sprintf("spec: %s %q: %s", e.Field, e.Value, e.Reason)
}

func itoa(i int) string { return strconv.Itoa(i) }

// Trigger is one trigger identifier of Appendix 1 §2.
type Trigger struct {
	ID      string `yaml:"id" json:"id"`
	Meaning string `yaml:"meaning" json:"meaning"`
}

// FileNameRules is Appendix 1 §2 as data plus the readings in force.
// Invariants: Triggers lists the accepted trigger identifiers (one ASCII
// alphanumeric character each) unless AnyTrigger is set, in which case any
// single ASCII alphanumeric character is accepted (I-020);
// RequestIDInvalidLength is the length of the "000..."/"FFF..." invalid
// request ID (I-019).
type FileNameRules struct {
	Clause                 string    `yaml:"clause" json:"clause"`
	Format                 string    `yaml:"format" json:"format"`
	UnknownTime            string    `yaml:"unknown_time" json:"unknown_time"`
	TimeZone               string    `yaml:"time_zone" json:"time_zone"`
	Generation             string    `yaml:"generation" json:"generation"`
	Function               string    `yaml:"function" json:"function"`
	Counter                string    `yaml:"counter" json:"counter"`
	RequestID              string    `yaml:"request_id" json:"request_id"`
	RequestIDInvalidLength int       `yaml:"request_id_invalid_length" json:"request_id_invalid_length"`
	Triggers               []Trigger `yaml:"triggers" json:"triggers"`
	AnyTrigger             bool      `yaml:"-" json:"any_trigger"`
	Extra                  string    `yaml:"extra" json:"extra"`
	Extension              string    `yaml:"extension" json:"extension"`
	Interpretations        []string  `yaml:"interpretations" json:"interpretations,omitempty"`
}

// FileName is a file name of Appendix 1 §2:
//
//	YYYYMMDD_HHMMSS_<generation>_<function>_<counter>_<request ID>_<trigger>[extra].<extension>
//
// Invariants of a valid FileName (one ParseFileName returns, or one for
// which Validate returns nil): Time is the zero time.Time ("unknown",
// written 00000000_000000) or a UTC instant in years 1..9999 with whole
// seconds; Generation is one ASCII alphanumeric and two decimal digits;
// Function is 0..999 (three digits); Counter is 0..99 (two digits);
// RequestID is decimal digits, or 'F' repeated RequestIDInvalidLength times;
// Trigger is one accepted trigger character; Extra is ASCII letters, digits,
// '-' and '_'; Extension is one or more dot-separated parts of [a-z0-9].
// For a valid f, ParseFileName(f.String()) returns f.
type FileName struct {
	Time       time.Time
	Generation string
	Function   int
	Counter    int
	RequestID  string
	Trigger    string
	Extra      string
	Extension  string
}

// Unknown reports whether the file's date and time are unknown
// (00000000_000000).
func (f FileName) Unknown() bool { return f.Time.IsZero() }

// HasRequestID reports whether RequestID is a real request ID and not the
// invalid value ("000..." for text/json, "FFF..." for binary).
func (f FileName) HasRequestID() bool {
	return strings.Trim(f.RequestID, "0") != "" && strings.Trim(f.RequestID, "F") != ""
}

// String formats f; fields are written as they are, so String of an invalid
// FileName is not a valid file name (see Validate).
func (f FileName) String() string {
	var b strings.Builder
	if f.Time.IsZero() {
		b.WriteString("00000000_000000")
	} else {
		b.WriteString(f.Time.UTC().Format("20060102_150405"))
	}
	fmt.Fprintf(&b, "_%s_%03d_%02d_%s_%s%s.%s", f.Generation, f.Function, f.Counter, f.RequestID, f.Trigger, f.Extra, f.Extension)
	return b.String()
}

// Validate reports whether f is valid under the default rules; the error is
// a *FieldError naming the offending field.
func (f FileName) Validate() error { return defaultDoc.FileName.Validate(f) }

// InvalidRequestID returns the invalid request-ID value of Appendix 1 §2
// under the default rules: "F" repeated for binary files, "0" otherwise.
func InvalidRequestID(binary bool) string { return defaultDoc.FileName.InvalidRequestID(binary) }

// ParseFileName parses a file name strictly under the default rules
// (DefaultOptions). The error is a *FieldError naming the offending field.
func ParseFileName(s string) (FileName, error) { return defaultDoc.FileName.Parse(s) }

// InvalidRequestID returns the invalid request-ID value under r.
func (r FileNameRules) InvalidRequestID(binary bool) string {
	c := "0"
	if binary {
		c = "F"
	}
	return strings.Repeat(c, r.RequestIDInvalidLength)
}

// Validate reports whether f is valid under r.
func (r FileNameRules) Validate(f FileName) error {
	if !f.Time.IsZero() {
		t := f.Time
		if t.Location() != time.UTC {
			return &FieldError{Field: "time", Value: t.String(), Reason: "must be in UTC"}
		}
		if t.Nanosecond() != 0 {
			return &FieldError{Field: "time", Value: t.String(), Reason: "must be whole seconds"}
		}
		if t.Year() < 1 || t.Year() > 9999 {
			return &FieldError{Field: "year", Value: itoa(t.Year()), Reason: "must be 0001..9999"}
		}
	}
	if f.Function < 0 || f.Function > 999 {
		return &FieldError{Field: "function", Value: itoa(f.Function), Reason: "must be 0..999"}
	}
	if f.Counter < 0 || f.Counter > 99 {
		return &FieldError{Field: "counter", Value: itoa(f.Counter), Reason: "must be 0..99"}
	}
	s := f.String()
	g, err := r.Parse(s)
	if err != nil {
		return err
	}
	if !g.Time.Equal(f.Time) || g.withoutTime() != f.withoutTime() {
		return &FieldError{Input: s, Field: "file name", Value: s, Reason: "fields do not round-trip"}
	}
	return nil
}

func (f FileName) withoutTime() FileName { f.Time = time.Time{}; return f }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// Parse parses s strictly under r. Every error is a *FieldError whose Field
// names the offending field: "date", "year", "month", "day", "time", "hour",
// "minute", "second", "generation", "function", "counter", "request_id",
// "trigger", "extra" or "extension".
func (r FileNameRules) Parse(s string) (FileName, error) {
	fail := func(field, value, reason string) (FileName, error) {
		return FileName{}, &FieldError{Input: s, Field: field, Value: value, Reason: reason}
	}
	// Missing fields are padded with "" so that the first field that is
	// wrong, or missing, is the one the error names.
	parts := strings.SplitN(s, "_", 7)
	for len(parts) < 7 {
		parts = append(parts, "")
	}
	var f FileName
	date, clock := parts[0], parts[1]
	if len(date) != 8 || !isDigits(date) {
		return fail("date", date, "must be 8 decimal digits YYYYMMDD")
	}
	if len(clock) != 6 || !isDigits(clock) {
		return fail("time", clock, "must be 6 decimal digits HHMMSS")
	}
	if date == "00000000" {
		if clock != "000000" {
			return fail("time", clock, "an unknown date must be written 00000000_000000")
		}
	} else {
		num := func(x string) int { n, _ := strconv.Atoi(x); return n }
		y, mo, d := num(date[0:4]), num(date[4:6]), num(date[6:8])
		h, mi, se := num(clock[0:2]), num(clock[2:4]), num(clock[4:6])
		switch {
		case y < 1:
			return fail("year", date[0:4], "must be 0001..9999 (00000000_000000 is the only unknown form)")
		case mo < 1 || mo > 12:
			return fail("month", date[4:6], "must be 01..12")
		case d < 1 || d > 31:
			return fail("day", date[6:8], "must be 01..31")
		case h > 23:
			return fail("hour", clock[0:2], "must be 00..23")
		case mi > 59:
			return fail("minute", clock[2:4], "must be 00..59")
		case se > 59:
			return fail("second", clock[4:6], "must be 00..59")
		}
		t := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
		if t.Day() != d {
			return fail("day", date[6:8], "does not exist in "+date[0:6])
		}
		f.Time = t
	}
	gen := parts[2]
	if len(gen) != 3 || !isAlnum(gen[0]) || !isDigits(gen[1:]) {
		return fail("generation", gen, "must be 1 alphanumeric and 2 decimal digits")
	}
	f.Generation = gen
	if len(parts[3]) != 3 || !isDigits(parts[3]) {
		return fail("function", parts[3], "must be 3 decimal digits")
	}
	f.Function, _ = strconv.Atoi(parts[3])
	if len(parts[4]) != 2 || !isDigits(parts[4]) {
		return fail("counter", parts[4], "must be 2 decimal digits")
	}
	f.Counter, _ = strconv.Atoi(parts[4])
	rid := parts[5]
	switch {
	case isDigits(rid):
	case rid != "" && strings.Trim(rid, "F") == "":
		if len(rid) != r.RequestIDInvalidLength {
			return fail("request_id", rid, "the binary invalid value must be "+itoa(r.RequestIDInvalidLength)+" F characters")
		}
	default:
		return fail("request_id", rid, "must be decimal digits (or the binary invalid value FFF...)")
	}
	f.RequestID = rid
	last := parts[6]
	if last == "" {
		return fail("trigger", "", "missing")
	}
	dot := strings.IndexByte(last, '.')
	if dot < 0 {
		return fail("extension", "", "missing (no '.')")
	}
	head, ext := last[:dot], last[dot+1:]
	if head == "" {
		return fail("trigger", "", "missing")
	}
	if !r.triggerOK(head[0]) {
		return fail("trigger", head[:1], "not an accepted trigger identifier ("+r.triggerList()+")")
	}
	f.Trigger = head[:1]
	extra := head[1:]
	for i := 0; i < len(extra); i++ {
		if c := extra[i]; !isAlnum(c) && c != '-' && c != '_' {
			return fail("extra", extra, "may contain only ASCII letters, digits, '-' and '_'")
		}
	}
	f.Extra = extra
	if ext == "" {
		return fail("extension", ext, "empty")
	}
	for _, p := range strings.Split(ext, ".") {
		if p == "" {
			return fail("extension", ext, "empty part")
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			if c >= 'A' && c <= 'Z' {
				return fail("extension", ext, "must be lower case")
			}
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return fail("extension", ext, "may contain only a-z, 0-9 and '.'")
			}
		}
	}
	f.Extension = ext
	return f, nil
}

func (r FileNameRules) triggerOK(c byte) bool {
	if !isAlnum(c) {
		return false
	}
	if r.AnyTrigger {
		return true
	}
	for _, t := range r.Triggers {
		if t.ID == string(c) {
			return true
		}
	}
	return false
}

func (r FileNameRules) triggerList() string {
	if r.AnyTrigger {
		return "any ASCII alphanumeric"
	}
	ids := make([]string, len(r.Triggers))
	for i, t := range r.Triggers {
		ids[i] = t.ID
	}
	return strings.Join(ids, ", ")
}
