package viss

import (
	"encoding/json"
	"slices"

	"github.com/icoc-dev/icoc/simulator/viss/vss"
)

// metadata returns the metadata of base's subtree (002 7.7, 001 7.1.1):
// {"Name": {keys..., "children": {...}}}, limited to sel's keys (v3 rc0)
// or to sel.depth generations (0: all; register I-298).
func (srv *Server) metadata(base *vss.Node, sel *metaSel) map[string]any {
	if srv.svc.quirks.Has("metadata-ignores-selection") {
		sel = &metaSel{}
	}
	var node func(n *vss.Node, gen int) map[string]any
	node = func(n *vss.Node, gen int) map[string]any {
		m := map[string]any{}
		for k, v := range n.Meta {
			if len(sel.keys) == 0 || slices.Contains(sel.keys, k) {
				m[k] = v
			}
		}
		if len(n.Children) > 0 && (sel.depth == 0 || gen < sel.depth) {
			kids := map[string]any{}
			for _, c := range n.Children {
				kids[c.Name] = node(c, gen+1)
			}
			m["children"] = kids
		}
		return m
	}
	return map[string]any{base.Name: node(base, 1)}
}

// serverTree builds the v3 Server tree (002 B, register I-281). Features
// the server lacks (data compression, file transfer) have no node: an
// empty string array cannot be written (the schema's arrays hold at least
// one value).
func (srv *Server) serverTree() (*vss.Tree, error) {
	attr := func(desc string, v any) map[string]any {
		return map[string]any{"type": "attribute", "datatype": "string[]", "description": desc, "default": v}
	}
	protocols := []string{"http", "ws"}
	if srv.cfg.MQTT {
		protocols = append(protocols, "mqtt")
	}
	tree := map[string]any{"Server": map[string]any{
		"type": "branch", "description": "Root for the server capabilities.",
		"children": map[string]any{
			"Support": map[string]any{
				"type": "branch", "description": "Top branch declaring the server supported features.",
				"children": map[string]any{
					"Protocol":        attr("List of supported transport protocols.", protocols),
					"Filter":          attr("List of supported filter features.", []string{"timebased", "change", "paths", "range", "curvelog", "history", "metadata"}),
					"Security":        attr("List of supported security related features.", []string{"accesscontrol"}),
					"DataCompression": attr("List of supported data compression schemes (register I-330).", dcSupported),
					"AccessControl":   attr("List of supported access control flows.", []string{"short_term", "signalset_claim"}),
				},
			},
			"Config": map[string]any{
				"type": "branch", "description": "Top branch declaring the configuration of server supported features.",
				"children": map[string]any{
					"VSSVersion": map[string]any{"type": "attribute", "datatype": "string", "description": "VSS release of the served tree.", "default": "4.0"},
				},
			},
		},
	}}
	b, err := json.Marshal(tree)
	if err != nil {
		return nil, err
	}
	t := vss.New()
	return t, t.Add(b)
}
