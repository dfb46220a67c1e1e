package vissspec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema validates messages of one dialect (and revision) against its JSON
// Schema. Safe for concurrent use.
type Schema struct {
	// URL is the schema's $id.
	URL string
	s   *jsonschema.Schema
}

// Validate checks one message as it came off the wire; the error says
// where the message breaks the schema.
func (s *Schema) Validate(raw []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	if err := s.s.Validate(v); err != nil {
		return fmt.Errorf("%s", strings.TrimSpace(err.Error()))
	}
	return nil
}

// SchemaFile returns the embedded schema file of a dialect:
// schema/v3.0.schema.json (the companion repaired, I-284) or
// schema/gen2.schema.json (transcribed, I-285).
func SchemaFile(n DialectName) ([]byte, error) {
	switch n {
	case V3:
		return files.ReadFile("schema/v3.0.schema.json")
	case Gen2:
		return files.ReadFile("schema/gen2.schema.json")
	}
	return nil, fmt.Errorf("VISS dialect %q has no schema", n)
}

var (
	schemaMu sync.Mutex
	schemas  = map[string]*Schema{}
)

// Schema returns the dialect's compiled schema: for v3 under rc0 the
// published schema with the rc0 changes of I-284 (v3rc0Schema).
func (d Dialect) Schema() (*Schema, error) {
	key := string(d.Name) + "/" + d.Revision
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemas[key]; ok {
		return s, nil
	}
	b, err := SchemaFile(d.Name)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s schema: %v", d.Name, err)
	}
	if d.Name == V3 && d.Revision == RevisionRC0 {
		if err := v3rc0Schema(doc); err != nil {
			return nil, err
		}
	}
	id, _ := doc["$id"].(string)
	c := jsonschema.NewCompiler()
	// The schema's own JSON round trip: jsonschema wants its number types.
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(mustJSON(doc)))
	if err != nil {
		return nil, err
	}
	if err := c.AddResource(id, v); err != nil {
		return nil, fmt.Errorf("%s schema: %v", d.Name, err)
	}
	cs, err := c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("%s schema: %v", d.Name, err)
	}
	s := &Schema{URL: id, s: cs}
	schemas[key] = s
	return s, nil
}

// MustSchema is Schema that panics on an embedded schema that does not
// compile (the package tests compile every one).
func (d Dialect) MustSchema() *Schema {
	s, err := d.Schema()
	if err != nil {
		panic(err)
	}
	return s
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

const v3Defs = "https://covesa.global/vissv3.0/"

// v3rc0Schema changes the published v3.0 schema into seed 002's (rc0,
// I-284): the range parameter's operator key is boundary-op (I-266), and
// the error enums take the core's 406 and its token reasons (I-263).
func v3rc0Schema(doc map[string]any) error {
	defs, _ := doc["$defs"].(map[string]any)
	filter, _ := defs[v3Defs+"filter.schema.json"].(map[string]any)
	errSchema, _ := defs[v3Defs+"error.schema.json"].(map[string]any)
	if filter == nil || errSchema == nil {
		return fmt.Errorf("v3 schema: $defs lack the filter or error schema")
	}
	renamed := 0
	var walk func(any)
	walk = func(n any) {
		switch n := n.(type) {
		case map[string]any:
			if p, ok := n["properties"].(map[string]any); ok {
				if v, ok := p["logic-op"]; ok {
					if _, hasBoundary := p["boundary"]; hasBoundary {
						delete(p, "logic-op")
						p["boundary-op"] = v
						if req, ok := n["required"].([]any); ok {
							for i, r := range req {
								if r == "logic-op" {
									req[i] = "boundary-op"
								}
							}
						}
						renamed++
					}
				}
			}
			for _, c := range n {
				walk(c)
			}
		case []any:
			for _, c := range n {
				walk(c)
			}
		}
	}
	walk(filter)
	if renamed != 2 {
		return fmt.Errorf("v3 schema: expected the two range parameter forms with logic-op, found %d", renamed)
	}
	props, _ := errSchema["properties"].(map[string]any)
	num, _ := props["number"].(map[string]any)
	reason, _ := props["reason"].(map[string]any)
	ne, _ := num["enum"].([]any)
	re, _ := reason["enum"].([]any)
	if ne == nil || re == nil {
		return fmt.Errorf("v3 schema: the error schema has no number or reason enum")
	}
	num["enum"] = append(ne, "406")
	reason["enum"] = append(re, "missing_token", "insufficient_priviledges")
	return nil
}
