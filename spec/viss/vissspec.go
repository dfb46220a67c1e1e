package vissspec

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed data/*.yaml schema/*.json
var files embed.FS

// DialectName names a VISS dialect.
type DialectName string

// The dialects (register I-260).
const (
	// Gen2 is seed 001 with the Gen2 TRANSPORT.
	Gen2 DialectName = "gen2"
	// V3 is seed 002 with the v3.0 TRANSPORT; the default.
	V3 DialectName = "v3"
)

// Dialects lists every dialect, the default first.
func Dialects() []DialectName { return []DialectName{V3, Gen2} }

// ParseDialect checks a dialect name; "" means V3.
func ParseDialect(s string) (DialectName, error) {
	switch DialectName(s) {
	case "", V3:
		return V3, nil
	case Gen2:
		return Gen2, nil
	}
	return "", fmt.Errorf("VISS dialect %q: want v3 or gen2", s)
}

// Revisions of the v3 dialect (I-260).
const (
	// RevisionRC0 is seed 002 as written (boundary-op, metadata key names,
	// the core's 406 token errors beside the transport's).
	RevisionRC0 = "rc0"
	// RevisionPublished applies the published v3.0 changes (logic-op,
	// metadata depth, 401 invalid_token only).
	RevisionPublished = "published"
)

// Options are the configurable readings of the VISS dialects. Invariant:
// Validate accepts DefaultOptions.
type Options struct {
	// Revision of the v3 dialect: rc0 (default) or published (I-260).
	Revision string `yaml:"revision" json:"revision"`
	// Gen2Subprotocol is the WebSocket subprotocol of a Gen2 server
	// (I-287, default gen21.0).
	Gen2Subprotocol string `yaml:"subprotocol" json:"subprotocol"`
	// SampleGap is the least spec time between two captures the suite puts
	// on the bus when it judges an exact event sequence (I-275).
	SampleGap time.Duration `yaml:"sample_gap" json:"sample_gap"`
}

// DefaultOptions returns the readings the register chooses.
func DefaultOptions() Options {
	return Options{Revision: RevisionRC0, Gen2Subprotocol: "gen21.0", SampleGap: 2 * time.Second}
}

var gen2Subprotocol = regexp.MustCompile(`^gen2\d+(\.\d+)*$`)

// Validate names every bad field.
func (o Options) Validate() error {
	var errs []error
	if o.Revision != RevisionRC0 && o.Revision != RevisionPublished {
		errs = append(errs, fmt.Errorf("revision %q: want rc0 or published", o.Revision))
	}
	if !gen2Subprotocol.MatchString(o.Gen2Subprotocol) {
		errs = append(errs, fmt.Errorf("subprotocol %q: a Gen2 subprotocol is gen2 with a version suffix, e.g. gen21.0 (Gen2 TRANSPORT 5.2.1.1)", o.Gen2Subprotocol))
	}
	if o.SampleGap <= 0 {
		errs = append(errs, fmt.Errorf("sample_gap %v: must be positive", o.SampleGap))
	}
	return errors.Join(errs...)
}

// Document is one source text of a dialect.
type Document struct {
	// File is relative to ../shared/spec/ of the repository.
	File  string `yaml:"file" json:"file"`
	Title string `yaml:"title" json:"title"`
}

// Section is one clause a spec may cite: its reconstructed ID (I-283) and
// its heading as the document writes it.
type Section struct {
	ID      string `yaml:"id" json:"id"`
	Doc     string `yaml:"doc" json:"doc"`
	Heading string `yaml:"heading" json:"heading"`
}

// PathRules say how a path is written.
type PathRules struct {
	Delimiters      []string `yaml:"delimiters" json:"delimiters"`
	WildcardAllowed bool     `yaml:"wildcard_allowed" json:"wildcard_allowed"`
}

// Field is one attribute of a message table.
type Field struct {
	Name     string `yaml:"name" json:"name"`
	Type     string `yaml:"type" json:"type"`
	Required bool   `yaml:"required" json:"required"`
}

// Message is one row group of the transport's message tables.
type Message struct {
	Name   string  `yaml:"name" json:"name"`
	Fields []Field `yaml:"fields" json:"fields"`
}

// ErrorRow is one row of the transport's status-code table. Exactly one of
// Provoke (the situation the suite provokes it with) and NotProvoked (why
// no stimulus can) is set.
type ErrorRow struct {
	Number      int    `yaml:"number" json:"number"`
	Reason      string `yaml:"reason" json:"reason"`
	Message     string `yaml:"message" json:"message"`
	Provoke     string `yaml:"provoke" json:"provoke,omitempty"`
	NotProvoked string `yaml:"not_provoked" json:"not_provoked,omitempty"`
}

// Scenario is one row of the v3 transport's Common Error Scenarios.
type Scenario struct {
	Scenario    string `yaml:"scenario" json:"scenario"`
	Number      int    `yaml:"number" json:"number"`
	Reason      string `yaml:"reason" json:"reason"`
	Description string `yaml:"description" json:"description"`
	Situation   string `yaml:"situation" json:"situation"`
}

// ErrorObject says how an error is written on the wire (I-262).
type ErrorObject struct {
	// NumberType is "integer" (gen2) or "string" (v3).
	NumberType string `yaml:"number_type" json:"number_type"`
	// MessageKey is "message" (gen2) or "description" (v3).
	MessageKey string   `yaml:"message_key" json:"message_key"`
	Required   []string `yaml:"required" json:"required"`
}

// ErrorCode is a number and reason pair.
type ErrorCode struct {
	Number int    `yaml:"number" json:"number"`
	Reason string `yaml:"reason" json:"reason"`
	// CoreTable marks the core's access-control table (001 8.4.4, 002
	// 10.4.4) as the source.
	CoreTable bool `yaml:"core_table" json:"core_table,omitempty"`
	// Revision, when set, limits the code to that revision.
	Revision string `yaml:"revision" json:"revision,omitempty"`
}

// String renders "404 unavailable_data".
func (c ErrorCode) String() string { return fmt.Sprintf("%d %s", c.Number, c.Reason) }

// Situation is a condition the suite provokes and the errors a conformant
// server may answer it with; Errors[0] is the reference server's answer.
type Situation struct {
	Name            string      `yaml:"name" json:"name"`
	Errors          []ErrorCode `yaml:"errors" json:"errors"`
	Interpretations []string    `yaml:"interpretations" json:"interpretations,omitempty"`
}

// Accepts reports whether number and reason are one of the situation's
// errors.
func (s Situation) Accepts(number int, reason string) bool {
	for _, e := range s.Errors {
		if e.Number == number && e.Reason == reason {
			return true
		}
	}
	return false
}

// Describe lists the accepted errors for messages: "401 invalid_token or 406 invalid_token".
func (s Situation) Describe() string {
	parts := make([]string, len(s.Errors))
	for i, e := range s.Errors {
		parts[i] = e.String()
	}
	return strings.Join(parts, " or ")
}

// CoreTableError returns the situation's error from the core's
// access-control table, or Errors[0] when it has none.
func (s Situation) CoreTableError() ErrorCode {
	for _, e := range s.Errors {
		if e.CoreTable {
			return e
		}
	}
	return s.Errors[0]
}

// TimestampRule is the timestamp format of 001 11 / 002 5.3 (I-274).
type TimestampRule struct {
	Format  string `yaml:"format" json:"format"`
	Pattern string `yaml:"pattern" json:"pattern"`
}

// FilterVariant is one v3 filter variant (002 7).
type FilterVariant struct {
	Variant   string   `yaml:"variant" json:"variant"`
	Methods   []string `yaml:"methods" json:"methods"`
	Mandatory bool     `yaml:"mandatory" json:"mandatory"`
}

// InvalidFilter is a filter a conformant server refuses: a v3 filter in
// JSON or a Gen2 filter expression.
type InvalidFilter struct {
	Variant string `yaml:"variant" json:"variant"`
	Action  string `yaml:"action" json:"action"`
	Why     string `yaml:"why" json:"why"`
	Filter  string `yaml:"filter" json:"filter"`
	// Situation is bad-filter unless set.
	Situation string `yaml:"situation" json:"situation"`
}

// QueryWord is one Gen2 reserved word (001 7).
type QueryWord struct {
	Word      string   `yaml:"word" json:"word"`
	Methods   []string `yaml:"methods" json:"methods"`
	Operators []string `yaml:"operators" json:"operators"`
	Index     int      `yaml:"index" json:"index"`
	Name      string   `yaml:"name" json:"name"`
}

// Combination is one row of 001 7.3 Table 1.
type Combination struct {
	Index int   `yaml:"index" json:"index"`
	With  []int `yaml:"with" json:"with"`
}

// Permission is one row of the access permission table (001 8.4.4, 002
// 10.4.4): whether a request passes with a read-only or read-write grant.
type Permission struct {
	Request   string `yaml:"request" json:"request"`
	ReadOnly  bool   `yaml:"read-only" json:"read_only"`
	ReadWrite bool   `yaml:"read-write" json:"read_write"`
}

// Claims lists the claims of a token.
type Claims struct {
	Required []string `yaml:"required" json:"required"`
	Optional []string `yaml:"optional" json:"optional"`
}

// AccessControl are the access-control rules of a dialect.
type AccessControl struct {
	Audience          string       `yaml:"audience" json:"audience"`
	Permissions       []Permission `yaml:"permissions" json:"permissions"`
	CoreTokenErrors   []ErrorRow   `yaml:"core_token_errors" json:"core_token_errors"`
	AccessTokenClaims Claims       `yaml:"access_token_claims" json:"access_token_claims"`
	VINClaim          bool         `yaml:"vin_claim" json:"vin_claim"`
	SelectionModes    []string     `yaml:"selection_modes" json:"selection_modes"`
}

// Allowed reports whether a request of kind request (get, set, subscribe)
// passes with a read-only (readWrite false) or read-write grant.
func (a AccessControl) Allowed(request string, readWrite bool) bool {
	for _, p := range a.Permissions {
		if p.Request == request {
			if readWrite {
				return p.ReadWrite
			}
			return p.ReadOnly
		}
	}
	return false
}

// ServerFeatures are the feature names of 002 B (v3 only).
type ServerFeatures struct {
	Protocol          []string `yaml:"protocol" json:"protocol"`
	Filter            []string `yaml:"filter" json:"filter"`
	FileTransfer      []string `yaml:"file_transfer" json:"file_transfer"`
	DataCompression   []string `yaml:"data_compression" json:"data_compression"`
	Security          []string `yaml:"security" json:"security"`
	AccessControlFlow []string `yaml:"access_control_flow" json:"access_control_flow"`
}

// DCScheme is one data compression scheme of 002 C: the part of the
// "dc":"A+B" expression it belongs to (path: A, ts: B) and its value there
// (the bit 1, 2, 4 or 8), named as 002 B names it (register I-330).
type DCScheme struct {
	Name  string `yaml:"name" json:"name"`
	Part  string `yaml:"part" json:"part"`
	Value int    `yaml:"value" json:"value"`
}

// rawDialect is a data file as written.
type rawDialect struct {
	Dialect              DialectName         `yaml:"dialect"`
	Tag                  string              `yaml:"tag"`
	Documents            map[string]Document `yaml:"documents"`
	Sections             []Section           `yaml:"sections"`
	Subprotocol          string              `yaml:"subprotocol"`
	MinTLS               string              `yaml:"min_tls"`
	Ports                map[string]int      `yaml:"ports"`
	Path                 PathRules           `yaml:"path"`
	Actions              []string            `yaml:"actions"`
	Messages             []Message           `yaml:"messages"`
	Errors               []ErrorRow          `yaml:"errors"`
	Scenarios            []Scenario          `yaml:"scenarios"`
	ErrorObject          ErrorObject         `yaml:"error_object"`
	InlineErrorValue     string              `yaml:"inline_error_value"`
	Situations           []Situation         `yaml:"situations"`
	Timestamp            TimestampRule       `yaml:"timestamp"`
	Filters              []FilterVariant     `yaml:"filters"`
	Operators            []string            `yaml:"operators"`
	CombinationOperators []string            `yaml:"combination_operators"`
	RangeOperatorKey     map[string]string   `yaml:"range_operator_key"`
	HistoryMaxDays       int                 `yaml:"history_max_days"`
	InvalidFilters       []InvalidFilter     `yaml:"invalid_filters"`
	QueryWords           []QueryWord         `yaml:"query_words"`
	Combinations         []Combination       `yaml:"combinations"`
	MaxQueries           int                 `yaml:"max_queries"`
	AccessControl        AccessControl       `yaml:"access_control"`
	ServerFeatures       ServerFeatures      `yaml:"server_features"`
	DataCompression      []DCScheme          `yaml:"data_compression"`
}

// Dialect is one dialect's tables under one set of Options. Invariants:
// every Situation named by an ErrorRow, Scenario or InvalidFilter exists;
// Situations hold only the codes of the chosen revision; a Dialect from
// Load is a deep copy.
type Dialect struct {
	Name DialectName `json:"name"`
	// Tag is the dialect's prefix in spec names: VISSv3 or VISSgen2.
	Tag string `json:"tag"`
	// Revision is the v3 revision ("" for gen2).
	Revision  string              `json:"revision,omitempty"`
	Options   Options             `json:"options"`
	Documents map[string]Document `json:"documents"`
	Sections  []Section           `json:"sections"`
	// Subprotocol is the WebSocket subprotocol (I-287).
	Subprotocol string `json:"subprotocol"`
	// MinTLS is the least TLS version ("" where none is stated, I-268).
	MinTLS           string          `json:"min_tls,omitempty"`
	Ports            map[string]int  `json:"ports"`
	Path             PathRules       `json:"path"`
	Actions          []string        `json:"actions"`
	Messages         []Message       `json:"messages"`
	Errors           []ErrorRow      `json:"errors"`
	Scenarios        []Scenario      `json:"scenarios,omitempty"`
	ErrorObject      ErrorObject     `json:"error_object"`
	InlineErrorValue string          `json:"inline_error_value,omitempty"`
	Situations       []Situation     `json:"situations"`
	Timestamp        TimestampRule   `json:"timestamp"`
	Filters          []FilterVariant `json:"filters,omitempty"`
	Operators        []string        `json:"operators,omitempty"`
	CombinationOps   []string        `json:"combination_operators,omitempty"`
	// RangeOperatorKey is the key of a v3 range operator (I-266).
	RangeOperatorKey string `json:"range_operator_key,omitempty"`
	// MetadataByDepth is true when the v3 metadata parameter is a depth
	// (published) rather than key names (rc0) (I-267).
	MetadataByDepth bool            `json:"metadata_by_depth,omitempty"`
	HistoryMaxDays  int             `json:"history_max_days,omitempty"`
	InvalidFilters  []InvalidFilter `json:"invalid_filters"`
	QueryWords      []QueryWord     `json:"query_words,omitempty"`
	Combinations    []Combination   `json:"combinations,omitempty"`
	MaxQueries      int             `json:"max_queries,omitempty"`
	AccessControl   AccessControl   `json:"access_control"`
	ServerFeatures  ServerFeatures  `json:"server_features"`
	// DataCompression are the schemes of the "dc" parameter (v3 only,
	// 002 C).
	DataCompression []DCScheme `json:"data_compression,omitempty"`
}

var raws = map[DialectName]*rawDialect{}

func init() {
	for _, n := range Dialects() {
		r, err := loadRaw(n)
		if err != nil {
			panic("vissspec: embedded data: " + err.Error())
		}
		raws[n] = r
		if _, err := Load(n, DefaultOptions()); err != nil {
			panic("vissspec: embedded data: " + err.Error())
		}
	}
}

func loadRaw(n DialectName) (*rawDialect, error) {
	name := "data/" + string(n) + ".yaml"
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var r rawDialect
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if r.Dialect != n {
		return nil, fmt.Errorf("%s: dialect %q", name, r.Dialect)
	}
	return &r, nil
}

// DataFile returns the embedded data file of a dialect (for `icoc spec`
// and tests).
func DataFile(n DialectName) ([]byte, error) { return files.ReadFile("data/" + string(n) + ".yaml") }

// Load returns the dialect's tables under o; it fails iff o.Validate fails
// or a data file is inconsistent.
func Load(n DialectName, o Options) (Dialect, error) {
	if err := o.Validate(); err != nil {
		return Dialect{}, err
	}
	r0, ok := raws[n]
	if !ok {
		return Dialect{}, fmt.Errorf("VISS dialect %q: want v3 or gen2", n)
	}
	var r rawDialect
	if err := deepCopy(r0, &r); err != nil {
		return Dialect{}, err
	}
	d := Dialect{
		Name: r.Dialect, Tag: r.Tag, Options: o, Documents: r.Documents, Sections: r.Sections,
		Subprotocol: r.Subprotocol, MinTLS: r.MinTLS, Ports: r.Ports, Path: r.Path, Actions: r.Actions,
		Messages: r.Messages, Errors: r.Errors, Scenarios: r.Scenarios, ErrorObject: r.ErrorObject,
		InlineErrorValue: r.InlineErrorValue, Timestamp: r.Timestamp, Filters: r.Filters,
		Operators: r.Operators, CombinationOps: r.CombinationOperators, HistoryMaxDays: r.HistoryMaxDays,
		InvalidFilters: r.InvalidFilters, QueryWords: r.QueryWords, Combinations: r.Combinations,
		MaxQueries: r.MaxQueries, AccessControl: r.AccessControl, ServerFeatures: r.ServerFeatures,
		DataCompression: r.DataCompression,
	}
	if n == V3 {
		d.Revision = o.Revision
		d.RangeOperatorKey = r.RangeOperatorKey[o.Revision]
		d.MetadataByDepth = o.Revision == RevisionPublished
		for i := range d.InvalidFilters {
			d.InvalidFilters[i].Filter = strings.ReplaceAll(d.InvalidFilters[i].Filter, "{op}", d.RangeOperatorKey)
		}
	} else {
		d.Subprotocol = o.Gen2Subprotocol
	}
	for _, s := range r.Situations {
		s.Errors = slices.DeleteFunc(s.Errors, func(e ErrorCode) bool { return e.Revision != "" && e.Revision != d.Revision })
		d.Situations = append(d.Situations, s)
	}
	for i := range d.InvalidFilters {
		if d.InvalidFilters[i].Situation == "" {
			d.InvalidFilters[i].Situation = "bad-filter"
		}
	}
	return d, d.check()
}

// MustLoad is Load that panics; for the package's own defaults.
func MustLoad(n DialectName, o Options) Dialect {
	d, err := Load(n, o)
	if err != nil {
		panic(err)
	}
	return d
}

// check verifies the references inside a Dialect.
func (d Dialect) check() error {
	var errs []error
	for _, s := range d.Situations {
		if len(s.Errors) == 0 {
			errs = append(errs, fmt.Errorf("%s: situation %s has no error under revision %q", d.Name, s.Name, d.Revision))
		}
	}
	has := func(name string) bool { _, ok := d.Situation(name); return ok }
	for _, e := range d.Errors {
		if (e.Provoke == "") == (e.NotProvoked == "") {
			errs = append(errs, fmt.Errorf("%s: error row %d %s: want exactly one of provoke and not_provoked", d.Name, e.Number, e.Reason))
		}
		if e.Provoke != "" && !has(e.Provoke) {
			errs = append(errs, fmt.Errorf("%s: error row %d %s: unknown situation %q", d.Name, e.Number, e.Reason, e.Provoke))
		}
	}
	for _, s := range d.Scenarios {
		if !has(s.Situation) {
			errs = append(errs, fmt.Errorf("%s: scenario %q: unknown situation %q", d.Name, s.Scenario, s.Situation))
		}
	}
	for _, f := range d.InvalidFilters {
		if !has(f.Situation) {
			errs = append(errs, fmt.Errorf("%s: invalid filter %q: unknown situation %q", d.Name, f.Filter, f.Situation))
		}
		if d.Name == V3 && !json.Valid([]byte(f.Filter)) {
			errs = append(errs, fmt.Errorf("%s: invalid filter %q is not JSON", d.Name, f.Filter))
		}
	}
	seen := map[string]bool{}
	for _, s := range d.Sections {
		if seen[s.ID] {
			errs = append(errs, fmt.Errorf("%s: section %s listed twice", d.Name, s.ID))
		}
		seen[s.ID] = true
		if _, ok := d.Documents[s.Doc]; !ok {
			errs = append(errs, fmt.Errorf("%s: section %s: unknown document %q", d.Name, s.ID, s.Doc))
		}
	}
	parts := map[string]int{}
	for _, c := range d.DataCompression {
		if !slices.Contains(d.ServerFeatures.DataCompression, c.Name) {
			errs = append(errs, fmt.Errorf("%s: data compression scheme %q is not a feature name of server_features.data_compression", d.Name, c.Name))
		}
		if (c.Part != "path" && c.Part != "ts") || (c.Value != 1 && c.Value != 2 && c.Value != 4 && c.Value != 8) || parts[c.Part]&c.Value != 0 {
			errs = append(errs, fmt.Errorf("%s: data compression scheme %q: part %q value %d: want path or ts and a bit 1, 2, 4 or 8 not taken", d.Name, c.Name, c.Part, c.Value))
		}
		parts[c.Part] |= c.Value
	}
	if _, err := regexp.Compile(d.Timestamp.Pattern); err != nil {
		errs = append(errs, fmt.Errorf("%s: timestamp pattern: %v", d.Name, err))
	}
	return errors.Join(errs...)
}

// Section returns the section with this clause ID.
func (d Dialect) Section(id string) (Section, bool) {
	for _, s := range d.Sections {
		if s.ID == id {
			return s, true
		}
	}
	return Section{}, false
}

// Situation returns the named situation.
func (d Dialect) Situation(name string) (Situation, bool) {
	for _, s := range d.Situations {
		if s.Name == name {
			return s, true
		}
	}
	return Situation{}, false
}

// MustSituation returns the named situation or panics (a typo in code).
func (d Dialect) MustSituation(name string) Situation {
	s, ok := d.Situation(name)
	if !ok {
		panic(fmt.Sprintf("vissspec: %s has no situation %q", d.Name, name))
	}
	return s
}

// Filter returns the v3 filter variant named v.
func (d Dialect) Filter(v string) (FilterVariant, bool) {
	for _, f := range d.Filters {
		if f.Variant == v {
			return f, true
		}
	}
	return FilterVariant{}, false
}

// QueryWord returns the Gen2 reserved word w ("$interval").
func (d Dialect) QueryWord(w string) (QueryWord, bool) {
	for _, q := range d.QueryWords {
		if q.Word == w {
			return q, true
		}
	}
	return QueryWord{}, false
}

// Combines reports whether Gen2 filters of indexes a and b may be combined
// (001 7.3 Table 1); the table is read as symmetric where it lists either.
func (d Dialect) Combines(a, b int) bool {
	for _, c := range d.Combinations {
		if (c.Index == a && slices.Contains(c.With, b)) || (c.Index == b && slices.Contains(c.With, a)) {
			return true
		}
	}
	return false
}

var timestampRes = map[string]*regexp.Regexp{}

// CheckTimestamp returns nil iff s is a timestamp of the dialect's format
// (I-274): the pattern, and a valid UTC date and time.
func (d Dialect) CheckTimestamp(s string) error {
	re, ok := timestampRes[d.Timestamp.Pattern]
	if !ok {
		re = regexp.MustCompile(d.Timestamp.Pattern)
	}
	if !re.MatchString(s) {
		return fmt.Errorf("timestamp %q is not of the form %s (UTC with a trailing Z, 0 to 6 fractional digits)", s, d.Timestamp.Format)
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		return fmt.Errorf("timestamp %q is not a valid date and time: %v", s, err)
	}
	return nil
}

func init() {
	for _, n := range Dialects() {
		p := raws[n].Timestamp.Pattern
		timestampRes[p] = regexp.MustCompile(p)
	}
}

// FormatTimestamp writes t in the dialect's format with microseconds.
func FormatTimestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// ParseTimestamp parses a timestamp of either dialect.
func ParseTimestamp(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

func deepCopy(src, dst any) error {
	b, err := json.Marshal(src)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}
