package viss

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/icoc-dev/icoc/simulator/viss/vss"
	"go.yaml.in/yaml/v3"
)

// Access-control modes of the selection tags (001 8.8, 002 10.8).
const (
	modeWriteOnly = "write-only"
	modeReadWrite = "read-write"
)

// grant is one signal a purpose or a signal-set scope gives access to.
type grant struct {
	path       string
	readWrite  bool
	permission string
}

// accessRules are the selection tags and the purpose list.
type accessRules struct {
	tags     map[string]string
	purposes map[string][]grant
}

// loadAccess parses the tags (access.yaml) and the purpose list
// (purposes.json); every tagged path must be a node of the tree.
func loadAccess(tagsYAML, purposes []byte, tree *vss.Tree) (*accessRules, error) {
	var t struct {
		Validate map[string]string `yaml:"validate"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(tagsYAML))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("viss access tags: %w", err)
	}
	a := &accessRules{tags: t.Validate, purposes: map[string][]grant{}}
	for p, m := range a.tags {
		if _, ok := tree.Node(p); !ok {
			return nil, fmt.Errorf("viss access tags: %s is not a node of the tree", p)
		}
		if m != modeWriteOnly && m != modeReadWrite {
			return nil, fmt.Errorf("viss access tags: %s: %q is neither write-only nor read-write", p, m)
		}
	}
	gs, err := ParsePurposes(purposes)
	if err != nil {
		return nil, err
	}
	for name, list := range gs {
		for _, g := range list {
			a.purposes[name] = append(a.purposes[name], grant{path: g.Path, readWrite: g.Permission == modeReadWrite, permission: g.Permission})
		}
	}
	return a, nil
}

// Grant is one entry of a purpose's signal_access.
type Grant struct {
	Path string
	// Permission is read-only or read-write.
	Permission string
}

// ParsePurposes reads a purpose list (001 8.7.1 / 002 10.7.1): purpose
// short name -> the signals it grants. "access_mode" (Gen2) and
// "access_permission" (v3) are both read.
func ParsePurposes(b []byte) (map[string][]Grant, error) {
	var pl struct {
		Purposes []struct {
			Short        string `json:"short"`
			SignalAccess []struct {
				Path             string `json:"path"`
				AccessMode       string `json:"access_mode"`
				AccessPermission string `json:"access_permission"`
			} `json:"signal_access"`
		} `json:"purposes"`
	}
	if err := json.Unmarshal(b, &pl); err != nil {
		return nil, fmt.Errorf("purpose list: %w", err)
	}
	out := map[string][]Grant{}
	for _, p := range pl.Purposes {
		if p.Short == "" {
			continue
		}
		for _, s := range p.SignalAccess {
			perm := s.AccessPermission
			if perm == "" {
				perm = s.AccessMode
			}
			if perm != "read-only" && perm != modeReadWrite {
				return nil, fmt.Errorf("purpose list: %s: %s: permission %q", p.Short, s.Path, perm)
			}
			out[p.Short] = append(out[p.Short], Grant{Path: s.Path, Permission: perm})
		}
	}
	return out, nil
}

// mode returns the access-control mode of a node: its own tag or its
// nearest tagged ancestor's; "" when none. The Server tree and the VSS
// version nodes are never controlled (002 10).
func (srv *Server) mode(n *vss.Node) string {
	if strings.HasPrefix(n.Path, "Server") && !srv.svc.quirks.Has("server-tree-protected") {
		return ""
	}
	if strings.HasPrefix(n.Path, "Server") {
		return modeReadWrite
	}
	if strings.HasPrefix(n.Path, "Vehicle.VersionVSS") {
		return ""
	}
	for m := n; m != nil; m = m.Parent {
		if t, ok := srv.svc.access.tags[m.Path]; ok {
			if t == modeWriteOnly && srv.svc.quirks.Has("write-only-as-read-write") {
				return modeReadWrite
			}
			return t
		}
	}
	return ""
}

// needsToken reports whether a request of kind (get, set, subscribe) on n
// must carry a token.
func (srv *Server) needsToken(n *vss.Node, kind string) bool {
	switch srv.mode(n) {
	case modeReadWrite:
		return true
	case modeWriteOnly:
		return kind == "set"
	}
	return false
}

// vissClaims are the access token's claims.
type vissClaims struct {
	jwt.RegisteredClaims
	Scope any    `json:"scp"`
	VIN   string `json:"vin,omitempty"`
	CLX   string `json:"clx,omitempty"`
}

// authorize checks access control for a request of kind on targets
// (001 8.4.4, 002 10.4.4); nil when the request may go ahead.
func (srv *Server) authorize(req *request, targets []*vss.Node, kind string) *verr {
	q := srv.svc.quirks
	if q.Has("no-access-control") {
		return nil
	}
	var controlled []*vss.Node
	for _, n := range targets {
		if srv.needsToken(n, kind) {
			controlled = append(controlled, n)
		}
	}
	if len(controlled) == 0 {
		return nil
	}
	if !req.hasToken || req.token == "" {
		return srv.fail("token-missing", "")
	}
	var c vissClaims
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithLeeway(30*time.Second), jwt.WithExpirationRequired())
	_, err := parser.ParseWithClaims(req.token, &c, func(*jwt.Token) (any, error) {
		if len(srv.svc.secret) == 0 {
			return nil, errors.New("no secret shared with an access token server")
		}
		return srv.svc.secret, nil
	})
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired) && !q.Has("ignore-exp"):
		return srv.fail("token-expired", "Access token has expired")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid) && q.Has("ignore-signature"):
		if _, _, perr := jwt.NewParser().ParseUnverified(req.token, &c); perr != nil {
			return srv.fail("token-invalid", "")
		}
		if c.ExpiresAt != nil && c.ExpiresAt.Before(time.Now().Add(-30*time.Second)) && !q.Has("ignore-exp") {
			return srv.fail("token-expired", "Access token has expired")
		}
	case errors.Is(err, jwt.ErrTokenExpired):
	default:
		return srv.fail("token-invalid", "")
	}
	if srv.d.AccessControl.VINClaim && c.VIN != "" && !q.Has("ignore-vin-claim") {
		if vin, ok := srv.svc.store.Current("Vehicle.VehicleIdentification.VIN"); !ok || vin.Value.Str != c.VIN {
			return srv.fail("token-invalid", "The vehicle identity claim does not match this vehicle")
		}
	}
	if q.Has("ignore-scope") {
		return nil
	}
	grants, ok := srv.scope(c.Scope)
	if !ok {
		return srv.fail("token-insufficient", "")
	}
	for _, n := range controlled {
		g, ok := match(grants, n.Path)
		if !ok {
			return srv.fail("token-insufficient", "")
		}
		if !srv.d.AccessControl.Allowed(kind, g.readWrite) && !q.Has("ignore-access-mode") {
			return srv.fail("token-insufficient", "")
		}
	}
	if q.Has("valid-token-refused") {
		return srv.fail("token-invalid", "")
	}
	return nil
}

// scope turns the scp claim into grants: a purpose short name, or (v3) a
// list of {"path", "access_permission"} objects.
func (srv *Server) scope(scp any) ([]grant, bool) {
	switch s := scp.(type) {
	case string:
		g, ok := srv.svc.access.purposes[s]
		return g, ok
	case []any:
		if srv.d.Name != "v3" {
			return nil, false
		}
		var out []grant
		for _, e := range s {
			o, _ := e.(map[string]any)
			p, _ := o["path"].(string)
			perm, _ := o["access_permission"].(string)
			if p == "" {
				return nil, false
			}
			out = append(out, grant{path: p, readWrite: perm == modeReadWrite, permission: perm})
		}
		return out, true
	}
	return nil, false
}

// match finds the grant covering path: the same path or an ancestor.
func match(gs []grant, path string) (grant, bool) {
	for _, g := range gs {
		if g.path == path || strings.HasPrefix(path, g.path+".") {
			return g, true
		}
	}
	return grant{}, false
}
