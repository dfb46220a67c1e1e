package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/icoc-dev/icoc/simulator/viss"
	"github.com/icoc-dev/icoc/simulator/viss/vss"
)

// The DUT's access control as the access-control specs use it (register
// I-289): viss.access.read names the nodes tagged read-write (get,
// subscribe and set need a token, for the node and every node below it),
// viss.access.write those tagged write-only (only set needs one); the
// purpose list (viss.access.purposes) says which purpose grants which
// node, and with which client context the token servers issue it.

// VISSPurpose is one purpose of the DUT's purpose list.
type VISSPurpose struct {
	Short string
	// Context is the purpose's first client context as a role triplet
	// (user+app+device, the first of any list), what the harness's AGTS
	// asks a grant for.
	Context string
	Grants  []viss.Grant
}

// grants reports whether the purpose grants path (the grant's node or one
// below it; for a branch, a node below it), read-write when write.
func (p VISSPurpose) grants(path string, write bool) (granted, readWrite bool) {
	for _, g := range p.Grants {
		if under(path, g.Path) || under(g.Path, path) {
			rw := g.Permission == "read-write"
			if !write || rw {
				return true, rw
			}
		}
	}
	return false, false
}

// under reports whether path is node or lies below it.
func under(path, node string) bool {
	return path == node || strings.HasPrefix(path, node+".")
}

// parsePurposes reads a purpose list for the specs.
func parsePurposes(b []byte) ([]VISSPurpose, error) {
	gs, err := viss.ParsePurposes(b)
	if err != nil {
		return nil, err
	}
	var pl struct {
		Purposes []struct {
			Short    string           `json:"short"`
			Contexts []map[string]any `json:"contexts"`
		} `json:"purposes"`
	}
	if err := json.Unmarshal(b, &pl); err != nil {
		return nil, fmt.Errorf("purpose list: %w", err)
	}
	var out []VISSPurpose
	for i, p := range pl.Purposes {
		if p.Short == "" {
			continue
		}
		if len(p.Contexts) == 0 {
			return nil, fmt.Errorf("purpose list: purposes[%d] %q has no contexts (002 10.7.1)", i, p.Short)
		}
		first := func(k string) string {
			switch v := p.Contexts[0][k].(type) {
			case string:
				return v
			case []any:
				if len(v) > 0 {
					s, _ := v[0].(string)
					return s
				}
			}
			return ""
		}
		ctx := first("user") + "+" + first("app") + "+" + first("device")
		if strings.Contains("+"+ctx+"+", "++") {
			return nil, fmt.Errorf("purpose list: purposes[%d] %q: its first context lacks a user, app or device role", i, p.Short)
		}
		out = append(out, VISSPurpose{Short: p.Short, Context: ctx, Grants: gs[p.Short]})
	}
	return out, nil
}

// ReadControlled reports whether a get of path needs a token: path is, or
// lies below, a node of viss.access.read.
func (v *VISSRun) ReadControlled(path string) bool {
	return slices.ContainsFunc(v.Read, func(n string) bool { return under(path, n) })
}

// WriteControlled reports whether a set of path needs a token: path is, or
// lies below, a node of viss.access.read or viss.access.write.
func (v *VISSRun) WriteControlled(path string) bool {
	return v.ReadControlled(path) || slices.ContainsFunc(v.Write, func(n string) bool { return under(path, n) })
}

// Purpose returns the first purpose of the list that grants path (read-
// write when write).
func (v *VISSRun) Purpose(path string, write bool) (VISSPurpose, bool) {
	for _, p := range v.PurposeList {
		if ok, _ := p.grants(path, write); ok {
			return p, true
		}
	}
	return VISSPurpose{}, false
}

// PurposeReadOnly returns the first purpose that grants path read-only.
func (v *VISSRun) PurposeReadOnly(path string) (VISSPurpose, bool) {
	for _, p := range v.PurposeList {
		if ok, rw := p.grants(path, false); ok && !rw {
			return p, true
		}
	}
	return VISSPurpose{}, false
}

// PurposeNotCovering returns the first purpose that grants nothing of path.
func (v *VISSRun) PurposeNotCovering(path string) (VISSPurpose, bool) {
	for _, p := range v.PurposeList {
		if ok, _ := p.grants(path, false); !ok {
			return p, true
		}
	}
	return VISSPurpose{}, false
}

// PurposeNamed returns the purpose short.
func (v *VISSRun) PurposeNamed(short string) (VISSPurpose, bool) {
	for _, p := range v.PurposeList {
		if p.Short == short {
			return p, true
		}
	}
	return VISSPurpose{}, false
}

// validateVISSAccess checks viss.access: every node of read and write is
// a node of VSS 4.0 and in one list only, the purpose list parses, and a
// simulated DUT's lists (its access control is the reference vehicle's,
// simulator/viss/data) are the reference's.
func (p *Profile) validateVISSAccess(bad func(field, format string, args ...any) error) error {
	a := p.VISS.Access
	if len(a.Read) == 0 && len(a.Write) == 0 && a.Purposes == "" {
		return nil
	}
	tree, err := vss.Default()
	if err != nil {
		return err
	}
	seen := map[string]string{}
	for _, l := range []struct {
		field string
		nodes []string
	}{{"viss.access.read", a.Read}, {"viss.access.write", a.Write}} {
		for i, n := range l.nodes {
			f := fmt.Sprintf("%s[%d]", l.field, i)
			if _, ok := tree.Node(n); !ok {
				return bad(f, "%q is not a node of the VSS 4.0 tree", n)
			}
			if other, dup := seen[n]; dup {
				return bad(f, "%s is also in %s: a node is tagged read-write (read) or write-only (write), not both", n, other)
			}
			seen[n] = f
		}
	}
	if a.Purposes != "" {
		b, err := os.ReadFile(a.Purposes)
		if err != nil {
			return bad("viss.access.purposes", "%s", unwrapPathError(err))
		}
		if _, err := parsePurposes(b); err != nil {
			return bad("viss.access.purposes", "%v", err)
		}
	}
	if !p.DUT.Simulated {
		return nil
	}
	rw, wo, err := viss.AccessTags()
	if err != nil {
		return err
	}
	same := func(a, b []string) bool {
		a, b = slices.Clone(a), slices.Clone(b)
		slices.Sort(a)
		slices.Sort(b)
		return slices.Equal(a, b)
	}
	if (len(a.Read) > 0 || len(a.Write) > 0) && (!same(a.Read, rw) || !same(a.Write, wo)) {
		return bad("viss.access", "a simulated DUT's access control is the reference vehicle's (simulator/viss/data/access.yaml: read %v, write %v); leave read and write empty or give exactly those", rw, wo)
	}
	if a.Purposes != "" {
		return bad("viss.access.purposes", "a simulated DUT's purpose list is the reference vehicle's (simulator/viss/data/purposes.json); leave it empty")
	}
	return nil
}
