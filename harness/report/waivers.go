package report

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Waivers maps a spec's bracket ID (see ParseID) to the reason the failure
// of that spec is accepted for one DUT. Keys are normalized (NormalizeID)
// and reasons are non-empty when the map comes from LoadWaivers; Build
// normalizes keys itself and ignores entries whose reason is blank, so a
// hand-built map works too. A nil Waivers waives nothing.
type Waivers map[string]string

// LoadWaivers reads a waiver file: one YAML mapping from bracket ID to
// reason, for example
//
//	"7.2.3 T7-4 B": "firmware 2.1 does not fetch OCSP; fix due in 2.2 (JIRA DCM-123)"
//
// An empty file yields an empty, non-nil Waivers. It fails, naming the file,
// if the file cannot be read, is not such a mapping, has an empty ID or
// reason, or names the same ID twice (also after NormalizeID).
func LoadWaivers(path string) (Waivers, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("waivers: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("waivers: %s: %w", path, err)
	}
	w := Waivers{}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return w, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return w, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("waivers: %s:%d: want a mapping from spec ID to reason", path, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("waivers: %s:%d: want `\"<spec ID>\": <reason>`", path, k.Line)
		}
		id := NormalizeID(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(k.Value), "["), "]"))
		reason := strings.TrimSpace(v.Value)
		if id == "" {
			return nil, fmt.Errorf("waivers: %s:%d: empty spec ID", path, k.Line)
		}
		if reason == "" || v.Tag == "!!null" {
			return nil, fmt.Errorf("waivers: %s:%d: waiver for %q has no reason", path, k.Line, id)
		}
		if _, dup := w[id]; dup {
			return nil, fmt.Errorf("waivers: %s:%d: spec ID %q waived twice", path, k.Line, id)
		}
		w[id] = reason
	}
	return w, nil
}

// normalized returns w with NormalizeID applied to every key and blank
// reasons dropped; of keys that
// collide, the reason of the smallest original key wins so the result does
// not depend on map order.
func (w Waivers) normalized() map[string]string {
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(w))
	for _, k := range keys {
		id := NormalizeID(k)
		if _, seen := out[id]; !seen && id != "" && strings.TrimSpace(w[k]) != "" {
			out[id] = w[k]
		}
	}
	return out
}
