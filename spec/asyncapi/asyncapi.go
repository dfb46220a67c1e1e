// Package asyncapi holds the AsyncAPI documents of 7.2.5.9 (data upload,
// push from the center, data download), repaired from the seed's damaged
// listings (register I-147), and the AsyncAPI document of icoc's reference
// simulators; it validates any AsyncAPI document against the AsyncAPI
// 2.0.0 JSON Schema (a copy of @asyncapi/specs' schemas/2.0.0.json, Apache
// 2.0, in schema/) with santhosh-tekuri/jsonschema, and matches the topics
// a DUT used against the channels of its documents.
package asyncapi

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

//go:embed *.yaml schema/asyncapi-2.0.0.json
var files embed.FS

// SchemaID is the $id of the AsyncAPI 2.0.0 JSON Schema kept in schema/.
const SchemaID = "http://asyncapi.com/definitions/2.0.0/asyncapi.json"

// The embedded documents. Listings are the seed's, repaired; Reference is
// the reference simulators' own, in the topic style of 7.2.5.2.
const (
	Upload    = "upload.yaml"
	Push      = "push.yaml"
	Download  = "download.yaml"
	Reference = "reference.yaml"
)

// Listings names the repaired seed listings, in clause order (7.2.5.9.1,
// .2, .4): the channels of the "asyncapi" topic style (register I-005).
var Listings = []string{Upload, Push, Download}

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

func compiled() (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		b, err := files.ReadFile("schema/asyncapi-2.0.0.json")
		if err != nil {
			schemaErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			schemaErr = fmt.Errorf("AsyncAPI 2.0.0 schema: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource(SchemaID, doc); err != nil {
			schemaErr = fmt.Errorf("AsyncAPI 2.0.0 schema: %w", err)
			return
		}
		schema, schemaErr = c.Compile(SchemaID)
	})
	return schema, schemaErr
}

// ErrInvalid is wrapped by Validate's error for a document that parses but
// breaks the AsyncAPI 2.0.0 schema.
var ErrInvalid = errors.New("not a valid AsyncAPI 2.0.0 document")

// Validate parses an AsyncAPI document (YAML or JSON) and validates it
// against the AsyncAPI 2.0.0 JSON Schema. It returns nil iff the document
// is valid; the error names what is wrong and where (a YAML line, or the
// schema's instance location).
func Validate(doc []byte) error {
	inst, err := toJSON(doc)
	if err != nil {
		return err
	}
	sch, err := compiled()
	if err != nil {
		return err
	}
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("%w: %s", ErrInvalid, oneLine(ve.Error()))
		}
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// toJSON turns YAML (a superset of JSON) into the generic values of
// encoding/json, which the validator takes.
func toJSON(doc []byte) (any, error) {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return nil, fmt.Errorf("AsyncAPI document: %w", err)
	}
	v, err := jsonable(v)
	if err != nil {
		return nil, fmt.Errorf("AsyncAPI document: %w", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("AsyncAPI document: %w", err)
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// jsonable turns YAML's map[any]any into map[string]any recursively.
func jsonable(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[k] = j
		}
		return t, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("map key %v is not a string", k)
			}
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			out[ks] = j
		}
		return out, nil
	case []any:
		for i, e := range t {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[i] = j
		}
		return t, nil
	}
	return v, nil
}

// Document is one parsed AsyncAPI document: its channels, each a topic
// template with its parameters' schemas. Invariant: every parameter of a
// channel's template has an entry in Params (a channel whose template
// names a parameter it does not declare fails Parse).
type Document struct {
	// Name is the file name or the source the document came from.
	Name     string
	Title    string
	Channels []Channel
}

// Channel is one channel of a Document.
type Channel struct {
	// Template is the channel name, e.g. "{vehicle_id}/{application}/V2C".
	Template string
	// Params are the parameter names in template order.
	Params []string
	// Schemas are the parameters' schemas (type, format, length limits).
	Schemas map[string]ParamSchema
	re      *regexp.Regexp
}

// ParamSchema is the part of a parameter's schema a topic level is
// checked against.
type ParamSchema struct {
	Type      string `yaml:"type"`
	Format    string `yaml:"format"`
	MinLength *int   `yaml:"minLength"`
	MaxLength *int   `yaml:"maxLength"`
}

var paramRe = regexp.MustCompile(`\{([^{}/]+)\}`)

// Parse validates doc (Validate) and reads its channels; name labels
// errors and the Document.
func Parse(name string, doc []byte) (*Document, error) {
	if err := Validate(doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var raw struct {
		Info struct {
			Title string `yaml:"title"`
		} `yaml:"info"`
		Channels map[string]struct {
			Parameters map[string]struct {
				Schema ParamSchema `yaml:"schema"`
			} `yaml:"parameters"`
		} `yaml:"channels"`
	}
	if err := yaml.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	d := &Document{Name: name, Title: raw.Info.Title}
	for tmpl, ch := range raw.Channels {
		c := Channel{Template: tmpl, Schemas: map[string]ParamSchema{}}
		var pat strings.Builder
		pat.WriteString("^")
		last := 0
		for _, m := range paramRe.FindAllStringSubmatchIndex(tmpl, -1) {
			pat.WriteString(regexp.QuoteMeta(tmpl[last:m[0]]))
			pat.WriteString("([^/+#]+)")
			p := tmpl[m[2]:m[3]]
			c.Params = append(c.Params, p)
			ps, ok := ch.Parameters[p]
			if !ok {
				return nil, fmt.Errorf("%s: channel %q names parameter %q but does not declare it", name, tmpl, p)
			}
			c.Schemas[p] = ps.Schema
			last = m[1]
		}
		pat.WriteString(regexp.QuoteMeta(tmpl[last:]))
		pat.WriteString("$")
		c.re = regexp.MustCompile(pat.String())
		d.Channels = append(d.Channels, c)
	}
	sort.Slice(d.Channels, func(i, j int) bool { return d.Channels[i].Template < d.Channels[j].Template })
	return d, nil
}

// Load parses one embedded document by file name.
func Load(name string) (*Document, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("asyncapi: no embedded document %q", name)
	}
	return Parse(name, b)
}

// Source returns the text of an embedded document.
func Source(name string) ([]byte, error) { return files.ReadFile(name) }

// Match returns the channel of d that topic is an instance of and the
// parameter values; ok is false when no channel matches or a level breaks
// its parameter's schema (why says which).
func (d *Document) Match(topic string) (c Channel, params map[string]string, why string, ok bool) {
	for _, ch := range d.Channels {
		m := ch.re.FindStringSubmatch(topic)
		if m == nil {
			continue
		}
		params = map[string]string{}
		for i, p := range ch.Params {
			params[p] = m[i+1]
			if err := ch.Schemas[p].check(m[i+1]); err != nil {
				return ch, params, fmt.Sprintf("channel %q parameter %s: %v", ch.Template, p, err), false
			}
		}
		return ch, params, "", true
	}
	var names []string
	for _, ch := range d.Channels {
		names = append(names, ch.Template)
	}
	return Channel{}, nil, fmt.Sprintf("no channel of %s (%s) matches %q", d.Name, strings.Join(names, ", "), topic), false
}

// check tests one topic level against the parameter's schema.
func (s ParamSchema) check(v string) error {
	switch s.Type {
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		if s.Format == "int32" && (n < math.MinInt32 || n > math.MaxInt32) {
			return fmt.Errorf("%d is outside int32", n)
		}
	case "number":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
	}
	if s.MinLength != nil && len([]rune(v)) < *s.MinLength {
		return fmt.Errorf("%q is shorter than %d", v, *s.MinLength)
	}
	if s.MaxLength != nil && len([]rune(v)) > *s.MaxLength {
		return fmt.Errorf("%q is longer than %d", v, *s.MaxLength)
	}
	return nil
}

// Set is several documents judged together: a topic conforms when a
// channel of any of them matches it.
type Set []*Document

// LoadSet parses the embedded documents by name.
func LoadSet(names ...string) (Set, error) {
	var s Set
	for _, n := range names {
		d, err := Load(n)
		if err != nil {
			return nil, err
		}
		s = append(s, d)
	}
	return s, nil
}

// Match is Document.Match over the set: the first document with a channel
// for topic wins; why joins every document's reason when none does.
func (s Set) Match(topic string) (doc *Document, c Channel, params map[string]string, why string, ok bool) {
	var whys []string
	for _, d := range s {
		c, p, w, ok := d.Match(topic)
		if ok {
			return d, c, p, "", true
		}
		whys = append(whys, w)
	}
	return nil, Channel{}, nil, strings.Join(whys, "; "), false
}
