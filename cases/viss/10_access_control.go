package visscases

import (
	"fmt"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/visstoken"
	. "github.com/onsi/ginkgo/v2"
)

// 002 10.4.4 Access Control Server, 10.8 Access Control Selection;
// 001 8.4.4 Gen2 Access Control Server, 8.8.
func init() {
	v3Rule := "The VISSv3 server MUST support validation of access tokens. [...] This includes validation of at least the following: [...] Token signature. [...] Token expiry time. If a vehicle identity claim (vin) is present in the token, then it MUST be validated to match the identity of this vehicle. If any of the mentioned validations fail, the server MUST reject the access request."
	gen2Rule := "The Gen2 server MUST support validation of Access tokens. This includes validation of at least the following: [...] Token signature. [...] Token expiry time. [...] Token scope. [...] Token access mode. If any of the mentioned validations above fail, the server MUST reject the access request."
	v3Scope := "After a successful token validation, the server MUST check that the scope of the token is compatible with the request. If the scope claim of the access token contains a purpose short-name, successful validation requires that all the nodes addressed by the path in the request MUST be matched by the paths associated with the purpose in the purpose list ."
	gen2Scope := "A successful scope validation requires that all the nodes addressed by the path in the request MUST be matched by the paths associated with the Purpose in the scope claim of the Access token."
	v3Perm := "The access permission validation MUST have the outcome shown in the table below, when comparing the type of the client request with the access control mode either in the purpose list or the explicit signals that are associated to the scope claim in the access token."
	gen2Perm := "The access mode validation MUST have the outcome shown in the table below, when comparing the type of the Client request with the access control mode in the that is associated to the scope claim in the Access token."
	add(&specDef{
		topic:    "valid-token",
		v3:       &clause{"10.4.4", v3Rule},
		gen2:     &clause{"8.4.4", gen2Rule},
		text:     "a get of a read-controlled node with a valid token of a purpose that covers it returns the bus value",
		quirks:   []string{"valid-token-refused"},
		variants: []string{"core-token-errors"},
		body: func(t *T) {
			node := t.readNode()
			tok := t.tokenFor(node, false)
			c := t.dial()
			t.put(map[string]float64{node: 43.5})
			want := t.latest(node)
			t.wait(t.settle())
			m := t.get(c, t.path(node), map[string]any{"authorization": tok})
			v, _, ok := t.single(m)
			eq, why := t.equal(node, want.Value, v)
			t.check(ok && eq, "the value "+want.Value.Wire(), why+": "+string(m.Raw))
		},
	}, &specDef{
		topic:    "missing-token",
		v3:       &clause{"10.4.4", "For client requests that are not granted due to access control, the VISSv3 server MUST return one of the error codes shown in the table below. [...] 401 (Unauthorized) missing_token"},
		gen2:     &clause{"8.4.4", "For Client requests that are not granted due to access control, the Gen2 server MUST return one of the error codes shown in the table below. [...] 401 (Unauthorized) missing_token"},
		text:     "a get of a read-controlled node without a token is refused",
		quirks:   []string{"no-access-control"},
		variants: []string{"core-token-errors"},
		body: func(t *T) {
			m, what := t.provoke("token-missing")
			t.expectSituation(m, "token-missing", what)
		},
	}, &specDef{
		topic:    "expired-token",
		v3:       &clause{"10.4.4", v3Rule},
		gen2:     &clause{"8.4.4", gen2Rule},
		text:     "a token that expired an hour ago is refused",
		quirks:   []string{"ignore-exp"},
		variants: []string{"core-token-errors"},
		body: func(t *T) {
			m, what := t.provoke("token-expired")
			t.expectSituation(m, "token-expired", what)
		},
	}, &specDef{
		topic:    "signature",
		v3:       &clause{"10.4.4", v3Rule},
		gen2:     &clause{"8.4.4", gen2Rule},
		text:     "a token whose signature does not verify is refused",
		quirks:   []string{"ignore-signature"},
		variants: []string{"core-token-errors"},
		body: func(t *T) {
			m, what := t.provoke("token-invalid")
			t.expectSituation(m, "token-invalid", what)
		},
	}, &specDef{
		topic:    "wrong-vin",
		v3:       &clause{"10.4.4", v3Rule},
		text:     "a valid token whose vin claim names another vehicle is refused",
		quirks:   []string{"ignore-vin-claim"},
		variants: []string{"core-token-errors"},
		body: func(t *T) {
			node := t.readNode()
			p := t.purposeFor(node)
			c := t.dial()
			tok := t.mint(visstoken.Claims{Scope: p.Short, CLX: p.Context, VIN: "JT1OTHERV00000009", Expires: time.Now().Add(time.Hour)}, t.run().VISS.Secret)
			m := t.get(c, node, map[string]any{"authorization": tok})
			t.expectSituation(m, "token-invalid", "a get of "+node+" with a token for vehicle JT1OTHERV00000009")
		},
	}, &specDef{
		topic:    "scope",
		v3:       &clause{"10.4.4", v3Scope},
		gen2:     &clause{"8.4.4", gen2Scope},
		text:     "a valid token whose purpose does not cover the node is refused",
		quirks:   []string{"ignore-scope"},
		variants: []string{"core-token-errors"},
		body: func(t *T) {
			m, what := t.provoke("token-insufficient")
			t.expectSituation(m, "token-insufficient", what)
		},
	}, &specDef{
		topic:    "read-only",
		v3:       &clause{"10.4.4", v3Perm},
		gen2:     &clause{"8.4.4", gen2Perm},
		text:     "a set with a valid token whose purpose grants the node read-only is refused",
		quirks:   []string{"ignore-access-mode"},
		variants: []string{"core-token-errors"},
		body: func(t *T) {
			node, p := t.readOnlyGrant()
			c := t.dial()
			m := t.request(c, map[string]any{"action": "set", "path": t.path(node), "value": "0", "authorization": t.token(p.Short)})
			t.expectSituation(m, "token-insufficient", "a set of "+node+" with a token of purpose "+p.Short+" (read-only)")
		},
	}, &specDef{
		topic: "selection",
		// "An inheritance rule leads to that any nodes below a tagged node are assigned the same access control, if they are untagged." / "If the VSS tree used by a VISSv3 server contains access control selection tags, then the server MUST support their usage as described in this chapter."
		v3:       &clause{"10.8", "If the VSS tree used by a VISSv3 server contains access control selection tags, then the server MUST support their usage as described in this chapter."},
		gen2:     &clause{"8.8", "If the VSS tree used by a Gen2 server contains access control selection tags, then the server MUST support their usage as described in this chapter."},
		text:     "a write-only node is read without a token but not set without one, and a read-write branch protects its leaves",
		quirks:   []string{"write-only-as-read-write", "no-access-control"},
		variants: []string{"core-token-errors"},
		body: func(t *T) {
			wo := t.writeOnlyNode()
			c := t.dial()
			t.put(map[string]float64{wo: 55})
			t.wait(t.settle())
			m := t.get(c, t.path(wo), nil)
			t.expectOK(m, "a get of the write-only "+wo+" without a token")
			m = t.request(c, map[string]any{"action": "set", "path": t.path(wo), "value": "1"})
			t.expectSituation(m, "token-missing", "a set of the write-only "+wo+" without a token")
			if branch, leaf := t.readBranchLeaf(); leaf != "" {
				t.put(map[string]float64{leaf: 30})
				t.wait(t.settle())
				m = t.get(c, t.path(leaf), nil)
				t.expectSituation(m, "token-missing", fmt.Sprintf("a get of %s, below the read-write branch %s, without a token", leaf, branch))
			}
		},
	})
}

// purposeFor returns a purpose that grants path; not applicable without.
func (t *T) purposeFor(path string) harness.VISSPurpose {
	GinkgoHelper()
	p, ok := t.run().VISS.Purpose(path, false)
	if !ok {
		t.skip("the DUT's purpose list (viss.access.purposes) has no purpose that grants " + path)
	}
	return p
}

// readOnlyGrant returns a node of viss.access.write (then of
// viss.access.read) and a purpose that grants it read-only; not
// applicable without.
func (t *T) readOnlyGrant() (string, harness.VISSPurpose) {
	GinkgoHelper()
	v := &t.run().VISS
	for _, n := range append(append([]string(nil), v.Write...), v.Read...) {
		if p, ok := v.PurposeReadOnly(n); ok {
			return n, p
		}
	}
	t.skip("the DUT's purpose list (viss.access.purposes) grants no access-controlled node (viss.access.read, write) read-only")
	return "", harness.VISSPurpose{}
}
