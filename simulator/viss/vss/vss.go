// Package vss is the VSS signal tree a VISS server serves: the COVESA VSS
// 4.0 release (vss_4.0.json, MPL-2.0, see README.md) and any further trees
// (the VISS v3 Server tree) with the same JSON shape. Paths use the dot as
// delimiter; Normalize turns a slash path into one.
package vss

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// VSS40 is the VSS 4.0 JSON export.
//
//go:embed vss_4.0.json
var VSS40 []byte

// Node types.
const (
	Branch    = "branch"
	Sensor    = "sensor"
	Actuator  = "actuator"
	Attribute = "attribute"
)

// Node is one node of the tree. Invariant: Path is the dotted path from
// the root; Children are sorted by name; Meta holds every key of the
// node's JSON object except children.
type Node struct {
	Name        string
	Path        string
	Type        string
	Datatype    string
	Unit        string
	Description string
	Default     any
	Allowed     []any
	Min, Max    *float64
	Meta        map[string]any
	Children    []*Node
	Parent      *Node
}

// IsLeaf reports whether the node is not a branch.
func (n *Node) IsLeaf() bool { return n.Type != Branch }

// Depth is the number of segments of the path.
func (n *Node) Depth() int { return strings.Count(n.Path, ".") + 1 }

// Tree is a forest of VSS trees by root name. It is immutable once built
// and safe for concurrent reads.
type Tree struct {
	roots  []*Node
	byPath map[string]*Node
}

// New returns an empty tree.
func New() *Tree { return &Tree{byPath: map[string]*Node{}} }

// Add parses a VSS JSON export ({"Root": {"type": "branch", "children":
// {...}}}) into the tree; a root already present is an error.
func (t *Tree) Add(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("VSS JSON: %w", err)
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, dup := t.byPath[name]; dup {
			return fmt.Errorf("VSS JSON: root %s defined twice", name)
		}
		n, err := t.parse(name, name, nil, raw[name])
		if err != nil {
			return err
		}
		t.roots = append(t.roots, n)
	}
	return nil
}

func (t *Tree) parse(name, path string, parent *Node, data json.RawMessage) (*Node, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("VSS JSON %s: %w", path, err)
	}
	n := &Node{Name: name, Path: path, Parent: parent, Meta: map[string]any{}}
	for k, v := range obj {
		if k == "children" {
			continue
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return nil, fmt.Errorf("VSS JSON %s.%s: %w", path, k, err)
		}
		n.Meta[k] = x
	}
	n.Type, _ = n.Meta["type"].(string)
	n.Datatype, _ = n.Meta["datatype"].(string)
	n.Unit, _ = n.Meta["unit"].(string)
	n.Description, _ = n.Meta["description"].(string)
	n.Default = n.Meta["default"]
	n.Allowed, _ = n.Meta["allowed"].([]any)
	if f, ok := n.Meta["min"].(float64); ok {
		n.Min = &f
	}
	if f, ok := n.Meta["max"].(float64); ok {
		n.Max = &f
	}
	switch n.Type {
	case Branch, Sensor, Actuator, Attribute:
	default:
		return nil, fmt.Errorf("VSS JSON %s: type %q", path, n.Type)
	}
	t.byPath[path] = n
	if c, ok := obj["children"]; ok {
		var kids map[string]json.RawMessage
		if err := json.Unmarshal(c, &kids); err != nil {
			return nil, fmt.Errorf("VSS JSON %s children: %w", path, err)
		}
		names := make([]string, 0, len(kids))
		for k := range kids {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			kid, err := t.parse(k, path+"."+k, n, kids[k])
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, kid)
		}
	}
	return n, nil
}

// Default returns the VSS 4.0 tree.
func Default() (*Tree, error) {
	t := New()
	return t, t.Add(VSS40)
}

// Normalize turns a path written with slashes (HTTP URLs, Gen2) into the
// dotted form and drops leading and trailing delimiters.
func Normalize(p string) string {
	p = strings.ReplaceAll(p, "/", ".")
	return strings.Trim(p, ".")
}

// Node returns the node at a dotted path.
func (t *Tree) Node(path string) (*Node, bool) {
	n, ok := t.byPath[path]
	return n, ok
}

// Leaves returns the leaves of n's subtree (n itself for a leaf), in path
// order.
func Leaves(n *Node) []*Node {
	if n.IsLeaf() {
		return []*Node{n}
	}
	var out []*Node
	for _, c := range n.Children {
		out = append(out, Leaves(c)...)
	}
	return out
}

// Match returns the nodes that the relative path rel (dot or slash
// delimited; "*" stands for exactly one segment) addresses below base.
func (t *Tree) Match(base *Node, rel string) []*Node {
	segs := strings.Split(Normalize(rel), ".")
	cur := []*Node{base}
	for _, s := range segs {
		var next []*Node
		for _, n := range cur {
			for _, c := range n.Children {
				if s == "*" || c.Name == s {
					next = append(next, c)
				}
			}
		}
		cur = next
	}
	return cur
}

// Walk calls f for n and every node below it, depth first in path order,
// with the depth below n (0 for n).
func Walk(n *Node, f func(n *Node, depth int)) {
	var walk func(*Node, int)
	walk = func(m *Node, d int) {
		f(m, d)
		for _, c := range m.Children {
			walk(c, d+1)
		}
	}
	walk(n, 0)
}
