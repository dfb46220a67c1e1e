package visscases

import (
	"fmt"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness/vissclient"
	"github.com/icoc-dev/icoc/harness/visstoken"
	"github.com/icoc-dev/icoc/spec/viss"
	. "github.com/onsi/ginkgo/v2"
)

// situationQuirks names the quirk that makes the reference server answer a
// situation wrongly (besides foreign-error-vocabulary, which changes every
// reason).
var situationQuirks = map[string]string{
	"malformed": "", "set-on-sensor": "set-on-sensor-ok", "token-expired": "ignore-exp", "token-invalid": "ignore-signature",
	"token-missing": "no-access-control", "token-insufficient": "ignore-scope", "multi-invalid-node": "multi-invalid-partial",
	"unknown-path": "unknown-path-empty", "filter-on-branch": "filter-lenient", "unknown-subscription": "unsubscribe-unknown-ok",
	"wrong-datatype": "set-no-type-check", "unavailable": "unavailable-as-zero", "bad-filter": "filter-lenient",
	"filter-not-for-method": "filter-lenient", "unsupported-dc": "dc-ignored",
}

// provoke sends the request that a conformant server answers with the
// situation's error, and returns the answer.
func (t *T) provoke(situation string) (*vissclient.Message, string) {
	c := t.dial()
	v3 := t.d.Name == vissspec.V3
	filter := func(v3f, g2 any) any {
		if v3 {
			return v3f
		}
		return g2
	}
	secret := t.run().VISS.Secret
	// The sensor has a value, so that a server that does not refuse
	// answers with data rather than with 404.
	t.put(map[string]float64{pathSpeed: 15, pathWheelL: 15, pathWheelR: 15})
	t.wait(t.settle())
	switch situation {
	case "malformed":
		return t.request(c, map[string]any{"action": "get"}), "a get without a path"
	case "set-on-sensor":
		return t.request(c, map[string]any{"action": "set", "path": t.path(pathSpeed), "value": "10"}), "a set on the sensor " + pathSpeed
	case "token-missing":
		node := t.readNode()
		return t.get(c, t.path(node), nil), "a get of the access-controlled " + node + " without a token"
	case "token-expired":
		node := t.readNode()
		p := t.purposeFor(node)
		tok := t.mint(visstoken.Claims{Scope: p.Short, CLX: p.Context, VIN: t.vinClaim(), IssuedAt: t.nowMinus(2), Expires: t.nowMinus(1)}, secret)
		return t.get(c, t.path(node), map[string]any{"authorization": tok}), "a get of " + node + " with a token that expired an hour ago"
	case "token-invalid":
		node := t.readNode()
		p := t.purposeFor(node)
		tok := t.mint(visstoken.Claims{Scope: p.Short, CLX: p.Context, VIN: t.vinClaim(), Expires: t.nowPlus(1)}, []byte("not the DUT's secret"))
		return t.get(c, t.path(node), map[string]any{"authorization": tok}), "a get of " + node + " with a token whose signature does not verify"
	case "token-insufficient":
		node := t.readNode()
		p, ok := t.run().VISS.PurposeNotCovering(node)
		if !ok {
			t.skip("every purpose of the DUT's purpose list (viss.access.purposes) grants " + node)
		}
		return t.get(c, t.path(node), map[string]any{"authorization": t.token(p.Short)}), "a get of " + node + " with a token of purpose " + p.Short + ", which does not cover it"
	case "multi-invalid-node":
		return t.get(c, "Vehicle", map[string]any{"filter": map[string]any{"variant": "paths", "parameter": []string{"Speed", "NoSuchNode"}}}), "a get of Vehicle with the paths Speed and NoSuchNode"
	case "unknown-path":
		return t.get(c, t.path("Vehicle.NoSuchNode"), nil), "a get of Vehicle.NoSuchNode, which is not in the tree"
	case "filter-on-branch":
		return t.request(c, map[string]any{"action": "subscribe", "path": "Vehicle/Chassis", "filter": "$changeGT1"}), "a change subscription on the branch Vehicle/Chassis"
	case "unknown-subscription":
		return t.request(c, map[string]any{"action": "unsubscribe", "subscriptionId": "no-such-subscription-1"}), "an unsubscribe of a subscriptionId never given out"
	case "wrong-datatype":
		return t.request(c, auth(map[string]any{"action": "set", "path": t.path(pathTrip), "value": "far"}, t.tokenFor(pathTrip, true))), "a set of the float actuator " + pathTrip + " to \"far\""
	case "unavailable":
		return t.get(c, t.path(pathAbsent), nil), "a get of " + pathAbsent + ", which the vehicle has no value for"
	case "bad-filter":
		return t.request(c, map[string]any{"action": "subscribe", "path": t.path(pathSpeed),
			"filter": filter(map[string]any{"variant": "timebased", "parameter": map[string]any{"period": "soon"}}, "$intervalEQsoon")}), "a timebased subscription whose period is not a number"
	case "filter-not-for-method":
		return t.get(c, pathSpeed, map[string]any{"filter": map[string]any{"variant": "timebased", "parameter": map[string]any{"period": "1000"}}}), "a get with a timebased filter"
	case "unsupported-dc":
		dc, why := t.declaredDC(c).unsupported()
		return t.get(c, pathSpeed, map[string]any{"dc": dc}), "a get asking for data compression " + dc + " (" + why + ")"
	case "missing-filter":
		return t.request(c, map[string]any{"action": "subscribe", "path": pathSpeed}), "a subscription without a filter"
	}
	Fail("harness: no stimulus for situation " + situation)
	return nil, ""
}

// vinClaim is the vin claim of a v3 token ("" for Gen2).
func (t *T) vinClaim() string {
	if t.d.AccessControl.VINClaim {
		return t.run().Profile.DUT.VIN
	}
	return ""
}

// 002/Gen2 transport status codes: every row of the table is a spec; rows
// no stimulus can provoke report not applicable.
func init() {
	for _, n := range vissspec.Dialects() {
		d := vissspec.MustLoad(n, vissspec.DefaultOptions())
		id := "T3.1"
		rule := "A server implementing this specification SHALL support the error codes, reasons, and descriptions listed in the table below, across all supported transport protocols."
		if n == vissspec.Gen2 {
			id = "T4.1"
			rule = "The server implementation SHALL support the error numbers listed in the table below, with the associated reason and message fields, for all supported transport protocols."
		}
		for i, row := range d.Errors {
			sd := &specDef{
				topic: fmt.Sprintf("%d %s", row.Number, row.Reason),
				text:  fmt.Sprintf("%s is answered with %d %s (%s)", provokeText(row), row.Number, row.Reason, row.Message),
			}
			c := &clause{id, rule}
			if n == vissspec.V3 {
				sd.v3 = c
			} else {
				sd.gen2 = c
			}
			if row.Provoke == "" {
				sd.notApplicable = row.NotProvoked
				sd.text = fmt.Sprintf("%d %s (%s) cannot be provoked", row.Number, row.Reason, row.Message)
			} else {
				sd.quirks = []string{"foreign-error-vocabulary"}
				if q := situationQuirks[row.Provoke]; q != "" {
					sd.quirks = append(sd.quirks, q)
				}
				if strings.HasPrefix(row.Provoke, "token-") {
					sd.variants = []string{"core-token-errors"}
				}
				idx := i
				sd.body = func(t *T) {
					row := t.d.Errors[idx]
					m, what := t.provoke(row.Provoke)
					t.expectSituation(m, row.Provoke, what)
				}
			}
			add(sd)
		}
		// v3.0 TRANSPORT 3.1.2 Common Error Scenarios.
		for i, sc := range d.Scenarios {
			idx := i
			sd := &specDef{
				topic: strings.ToLower(strings.ReplaceAll(sc.Scenario, " ", "-")),
				// "The following table outlines common error scenarios that clients may encounter, along with the corresponding error messages that the server is expected to return."
				v3:     &clause{"T3.1.2", "The following table outlines common error scenarios that clients may encounter, along with the corresponding error messages that the server is expected to return."},
				text:   fmt.Sprintf("%s: %s is answered with %d %s", sc.Scenario, scenarioText(sc.Situation), sc.Number, sc.Reason),
				quirks: []string{"foreign-error-vocabulary"},
				body: func(t *T) {
					sc := t.d.Scenarios[idx]
					m, what := t.provoke(sc.Situation)
					t.expectSituation(m, sc.Situation, what)
				},
			}
			if q := situationQuirks[sc.Situation]; q != "" {
				sd.quirks = append(sd.quirks, q)
			}
			if strings.HasPrefix(sc.Situation, "token-") {
				sd.variants = []string{"core-token-errors"}
			}
			add(sd)
		}
	}
	add(&specDef{
		topic: "error-object",
		// "Error number string Yes; reason string Yes; description string Yes"
		v3: &clause{"T5.3", "Error number string Yes reason string Yes description string Yes"},
		// "Error number integer Yes; reason string Yes; message string Yes"
		gen2:     &clause{"T6.4", "Error number integer Yes reason string Yes message string Yes"},
		text:     "an error carries the number as a string, the reason and the description",
		gen2Text: "an error carries the number as an integer, the reason and the message",
		quirks:   []string{"error-number-wrong-type"},
		body: func(t *T) {
			c := t.dial()
			m := t.get(c, t.path("Vehicle.NoSuchNode"), nil)
			e, ok := m.Error()
			t.check(ok, "an error", string(m.Raw))
			want := "string"
			if t.d.ErrorObject.NumberType == "integer" {
				want = "integer"
			}
			var got string
			switch e["number"].(type) {
			case string:
				got = "string"
			case float64:
				got = "integer"
			}
			t.check(got == want, "number as a JSON "+want+" (register I-262)", fmt.Sprintf("number %v (%T)", e["number"], e["number"]))
			for _, k := range t.d.ErrorObject.Required {
				_, has := e[k]
				t.check(has, "the error fields "+strings.Join(t.d.ErrorObject.Required, ", "), string(m.Raw))
			}
		},
	})
}

func provokeText(row vissspec.ErrorRow) string {
	if row.Provoke == "" {
		return ""
	}
	return scenarioText(row.Provoke)
}

// scenarioText says in words what a situation's stimulus is.
func scenarioText(s string) string {
	return map[string]string{
		"malformed": "a get without a path", "set-on-sensor": "a set on a sensor", "token-missing": "a read of an access-controlled node without a token",
		"token-expired": "an expired access token", "token-invalid": "an access token with a bad signature", "token-insufficient": "an access token whose purpose does not cover the node",
		"multi-invalid-node": "a multi-node get naming a node that does not exist", "unknown-path": "a get of a path not in the tree",
		"filter-on-branch": "a change filter on a branch", "unknown-subscription": "an unsubscribe of an unknown subscriptionId",
		"wrong-datatype": "a set with a value of the wrong datatype", "unavailable": "a get of a sensor the vehicle has no value for",
		"bad-filter": "a subscription with an invalid filter", "filter-not-for-method": "a get with a subscription filter",
		"unsupported-dc": "a request for data compression the server does not support",
	}[s]
}

func (t *T) nowMinus(h int) time.Time { return time.Now().Add(-time.Duration(h) * time.Hour) }
func (t *T) nowPlus(h int) time.Time  { return time.Now().Add(time.Duration(h) * time.Hour) }
