// Package exve is ISO 20078-2:2021 (Extended Vehicle web services, access;
// seeds ../shared/spec/003_*.txt and 004_*.txt) as data: one entry per
// requirement ID with its clause, strength, the party it binds and whether it
// can be judged on the wire (with the reason when not), and the tables the
// offering party, the accessing party and the conformance cases read: the
// minimum set of status codes (Tables 31 to 33), the deactivation reasons
// (Table 27), the asynchronous states (Table 34), the error, async and
// rate-limit keys, the resource-version media-type parameter, and the
// container API's statuses, events and status-code lists (clause 5, Annex A).
//
// The data lives in embedded YAML (data/*.yaml), loaded once at package
// initialisation; a malformed file panics at init (the package tests load
// it). Every entry is checked against the seed text by the package's seed
// test. Readings of the seed are in ../INTERPRETATIONS.md (I-200 to I-237);
// entries that depend on one list its ID. Every function returns a fresh
// copy.
package exve

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed data/*.yaml
var files embed.FS

// Strengths of a requirement: the modal verb of its sentence (ISO/IEC
// Directives Part 2: requirement, recommendation, permission, possibility),
// or Statement where the sentence has none.
const (
	Shall     = "shall"
	Should    = "should"
	May       = "may"
	Can       = "can"
	Statement = "statement"
)

// Parties a requirement binds.
const (
	OfferingParty  = "offering-party"
	AccessingParty = "accessing-party"
	BothParties    = "both"
	UseCase        = "use-case"
)

// Testability of a requirement.
const (
	// OnTheWire: a black-box spec judges the requirement.
	OnTheWire = "wire"
	// NotTestable: no observation on the wire can judge it; Reason says why.
	NotTestable = "no"
)

// Requirement is one REQ of the seed. Invariants: ID is REQ_cc_ss_nn and
// unique; Text is the seed's sentence with markup removed and white space
// collapsed; Strength is one of the strengths above and its verb occurs in
// Text (Statement: none does); Reason is set exactly when Testable is
// NotTestable; every interpretation is an entry of the register.
type Requirement struct {
	ID       string `yaml:"id" json:"id"`
	Clause   string `yaml:"clause" json:"clause"`
	Strength string `yaml:"strength" json:"strength"`
	Party    string `yaml:"party" json:"party"`
	Testable string `yaml:"testable" json:"testable"`
	Reason   string `yaml:"reason" json:"reason,omitempty"`
	// Capability is the profile capability a recommendation or permission
	// needs before it is judged (register I-232); "" for a requirement
	// every device must meet.
	Capability      string   `yaml:"capability" json:"capability,omitempty"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
	Text            string   `yaml:"text" json:"text"`
}

// OnWire reports whether a spec judges r on the wire.
func (r Requirement) OnWire() bool { return r.Testable == OnTheWire }

// StatusCode is one row of Tables 31 to 33.
type StatusCode struct {
	Code   int    `yaml:"code" json:"code"`
	Reason string `yaml:"reason" json:"reason"`
	Table  string `yaml:"table" json:"table"`
}

// DeactivationReason is one row of Table 27. HTTPStatus says whether the
// reason comes from an HTTP answer whose code the subscription must then
// state (register I-217).
type DeactivationReason struct {
	Reason      string `yaml:"reason" json:"reason"`
	Description string `yaml:"description" json:"description"`
	HTTPStatus  bool   `yaml:"http_status" json:"http_status"`
}

// AsyncState is one row of Table 34.
type AsyncState struct {
	State       string `yaml:"state" json:"state"`
	Description string `yaml:"description" json:"description"`
}

// Key is a body key or header of the standard and the requirement that
// defines it.
type Key struct {
	Key      string `yaml:"key" json:"key"`
	Req      string `yaml:"req" json:"req"`
	Strength string `yaml:"strength" json:"strength,omitempty"`
	// Kind says what an async key holds: state, milliseconds, date-time or
	// percent.
	Kind string `yaml:"kind" json:"kind,omitempty"`
}

// Header is a header field the standard names.
type Header struct {
	Name string `yaml:"name" json:"name"`
	Req  string `yaml:"req" json:"req"`
}

// MediaType is one media type of 4.5.
type MediaType struct {
	Type     string `yaml:"type" json:"type"`
	Req      string `yaml:"req" json:"req"`
	Strength string `yaml:"strength" json:"strength"`
}

// VersionParameter is the resource-version parameter of 4.6.
type VersionParameter struct {
	Name    string `yaml:"name" json:"name"`
	Req     string `yaml:"req" json:"req"`
	Syntax  string `yaml:"syntax" json:"syntax"`
	Pattern string `yaml:"pattern" json:"pattern"`
	Charset string `yaml:"charset" json:"charset"`
	Example string `yaml:"example" json:"example"`
}

// ContainerEvent is one row of Table 44.
type ContainerEvent struct {
	Event       string `yaml:"event" json:"event"`
	Description string `yaml:"description" json:"description"`
}

// ContainerOperation is one of Tables A.2 to A.7: the operation and the
// status codes the table lists (empty where the seed is cut off, I-218).
type ContainerOperation struct {
	Table  string `yaml:"table" json:"table"`
	Req    string `yaml:"req" json:"req"`
	Method string `yaml:"method" json:"method"`
	Path   string `yaml:"path" json:"path"`
	Codes  []int  `yaml:"codes" json:"codes"`
}

// Tables is every table of the standard this package holds.
type Tables struct {
	StatusCodes          []StatusCode         `yaml:"status_codes" json:"status_codes"`
	DeactivationReasons  []DeactivationReason `yaml:"deactivation_reasons" json:"deactivation_reasons"`
	AsyncStates          []AsyncState         `yaml:"async_states" json:"async_states"`
	AsyncKeys            []Key                `yaml:"async_keys" json:"async_keys"`
	ErrorKeys            []Key                `yaml:"error_keys" json:"error_keys"`
	RateLimitHeaders     []Header             `yaml:"rate_limit_headers" json:"rate_limit_headers"`
	RateLimitStatus      int                  `yaml:"rate_limit_status" json:"rate_limit_status"`
	MediaTypes           []MediaType          `yaml:"media_types" json:"media_types"`
	VersionParameter     VersionParameter     `yaml:"version_parameter" json:"version_parameter"`
	SubscriptionStatuses []string             `yaml:"subscription_statuses" json:"subscription_statuses"`
	TokenTypes           []string             `yaml:"token_types" json:"token_types"`
	ProfileKeys          []string             `yaml:"profile_keys" json:"profile_keys"`
	ContainerStatuses    []string             `yaml:"container_statuses" json:"container_statuses"`
	ConsentStatuses      []string             `yaml:"consent_statuses" json:"consent_statuses"`
	ContainerEvents      []ContainerEvent     `yaml:"container_events" json:"container_events"`
	ContainerMediaType   string               `yaml:"container_media_type" json:"container_media_type"`
	ContainerOperations  []ContainerOperation `yaml:"container_operations" json:"container_operations"`
}

var (
	requirements []Requirement
	tables       Tables
	versionRe    *regexp.Regexp
)

func init() {
	var r struct {
		Requirements []Requirement `yaml:"requirements"`
	}
	if err := decodeStrict("data/requirements.yaml", &r); err != nil {
		panic("spec/exve: " + err.Error())
	}
	if err := decodeStrict("data/tables.yaml", &tables); err != nil {
		panic("spec/exve: " + err.Error())
	}
	requirements = r.Requirements
	if err := check(requirements, tables); err != nil {
		panic("spec/exve: " + err.Error())
	}
	versionRe = regexp.MustCompile(tables.VersionParameter.Pattern)
}

func decodeStrict(name string, v any) error {
	b, err := files.ReadFile(name)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

var reqIDRe = regexp.MustCompile(`^REQ_0[45]_\d\d_\d\d$`)

// check enforces the invariants of Requirement and of the tables that do
// not need the seed.
func check(reqs []Requirement, t Tables) error {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	seen := map[string]bool{}
	for _, r := range reqs {
		if !reqIDRe.MatchString(r.ID) {
			bad("%q is not a REQ ID", r.ID)
		}
		if seen[r.ID] {
			bad("%s twice", r.ID)
		}
		seen[r.ID] = true
		if !slices.Contains([]string{Shall, Should, May, Can, Statement}, r.Strength) {
			bad("%s: strength %q", r.ID, r.Strength)
		}
		if !slices.Contains([]string{OfferingParty, AccessingParty, BothParties, UseCase}, r.Party) {
			bad("%s: party %q", r.ID, r.Party)
		}
		switch r.Testable {
		case OnTheWire:
			if r.Reason != "" {
				bad("%s: testable on the wire, yet a reason", r.ID)
			}
		case NotTestable:
			if r.Reason == "" {
				bad("%s: not testable without a reason", r.ID)
			}
		default:
			bad("%s: testable %q (want wire or no)", r.ID, r.Testable)
		}
		if r.Strength == Should && r.OnWire() && r.Capability == "" {
			bad("%s: a should requirement judged on the wire needs a capability (I-232)", r.ID)
		}
	}
	for _, k := range append(append([]Key(nil), t.AsyncKeys...), t.ErrorKeys...) {
		if !seen[k.Req] {
			bad("key %s: unknown requirement %s", k.Key, k.Req)
		}
	}
	for _, h := range t.RateLimitHeaders {
		if !seen[h.Req] {
			bad("header %s: unknown requirement %s", h.Name, h.Req)
		}
	}
	if _, err := regexp.Compile(t.VersionParameter.Pattern); err != nil {
		bad("version pattern: %v", err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("data invariants: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Requirements returns every requirement in seed order.
func Requirements() []Requirement {
	out := make([]Requirement, len(requirements))
	for i, r := range requirements {
		r.Interpretations = slices.Clone(r.Interpretations)
		out[i] = r
	}
	return out
}

// Lookup returns the requirement with the given ID.
func Lookup(id string) (Requirement, bool) {
	for _, r := range Requirements() {
		if r.ID == id {
			return r, true
		}
	}
	return Requirement{}, false
}

// MustLookup returns the requirement with the given ID and panics when there
// is none: for spec trees, where an unknown ID is a programming error.
func MustLookup(id string) Requirement {
	r, ok := Lookup(id)
	if !ok {
		panic("spec/exve: no requirement " + id)
	}
	return r
}

// AllTables returns a copy of every table.
func AllTables() Tables {
	t := tables
	t.StatusCodes = slices.Clone(t.StatusCodes)
	t.DeactivationReasons = slices.Clone(t.DeactivationReasons)
	t.AsyncStates = slices.Clone(t.AsyncStates)
	t.AsyncKeys = slices.Clone(t.AsyncKeys)
	t.ErrorKeys = slices.Clone(t.ErrorKeys)
	t.RateLimitHeaders = slices.Clone(t.RateLimitHeaders)
	t.MediaTypes = slices.Clone(t.MediaTypes)
	t.SubscriptionStatuses = slices.Clone(t.SubscriptionStatuses)
	t.TokenTypes = slices.Clone(t.TokenTypes)
	t.ProfileKeys = slices.Clone(t.ProfileKeys)
	t.ContainerStatuses = slices.Clone(t.ContainerStatuses)
	t.ConsentStatuses = slices.Clone(t.ConsentStatuses)
	t.ContainerEvents = slices.Clone(t.ContainerEvents)
	t.ContainerOperations = slices.Clone(t.ContainerOperations)
	for i := range t.ContainerOperations {
		t.ContainerOperations[i].Codes = slices.Clone(t.ContainerOperations[i].Codes)
	}
	return t
}

// StatusCodes returns the minimum set of Tables 31 to 33 in code order.
func StatusCodes() []StatusCode { return AllTables().StatusCodes }

// DeactivationReasons returns Table 27 in seed order.
func DeactivationReasons() []DeactivationReason { return AllTables().DeactivationReasons }

// AsyncStates returns Table 34 in seed order.
func AsyncStates() []AsyncState { return AllTables().AsyncStates }

// IsAsyncState reports whether s is one of Table 34's states, spelled as
// the seed spells it.
func IsAsyncState(s string) bool {
	for _, a := range tables.AsyncStates {
		if a.State == s {
			return true
		}
	}
	return false
}

// IsDeactivationReason reports whether s is one of Table 27's reasons.
func IsDeactivationReason(s string) bool {
	for _, d := range tables.DeactivationReasons {
		if d.Reason == s {
			return true
		}
	}
	return false
}

// VersionParam is the name of the resource-version media-type parameter,
// "exve-resourceversion".
func VersionParam() string { return tables.VersionParameter.Name }

// ValidVersionValue reports whether v is a value of the resource-version
// parameter as REQ_04_06_04 writes it: {usecase resource.}v{major.minor}.
func ValidVersionValue(v string) bool { return versionRe.MatchString(v) }

// ErrorKeyNames returns the error keys of 4.11 in seed order.
func ErrorKeyNames() []string {
	var out []string
	for _, k := range tables.ErrorKeys {
		out = append(out, k.Key)
	}
	return out
}
