package exve_test

// 4.9 HTTP methods and 4.10 status codes (Tables 31 to 33).

import (
	"fmt"
	"net/url"

	"github.com/icoc-dev/icoc/harness"
	exvespec "github.com/icoc-dev/icoc/spec/exve"
	. "github.com/onsi/ginkgo/v2"
)

// REQ_04_09_01: "The basic HTTP methods POST, GET, PUT and DELETE shall be
// supported to create, read, update, and delete the resources where
// applicable."
var _ = op("REQ_04_09_01", "a subscription is created by POST, read by GET, updated by PUT and deleted by DELETE", qs("no-put"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		status(q, get(ctx, s.loc), 200)
		status(q, opc().Do(ctx, "PUT", s.loc, jsonBody(map[string]any{"status": "ACTIVE"})), 200, 204)
		status(q, opc().Do(ctx, "DELETE", s.loc), 200, 204)
	})

// REQ_04_09_02: "The HTTP GET method shall be used to read information from
// an addressed resource on the server."
var _ = op("REQ_04_09_02", "a GET changes nothing: a finished readout read twice is the same", qs("get-consumes-result"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		r, loc := startReadout(ctx, q, vid)
		if loc == "" {
			fail(q, "a Location for the readout", "%s", r.Describe())
		}
		last, _ := pollReadout(ctx, q, loc, ex.Cfg.AsyncTimeout)
		st := fmt.Sprint(last["asyncStatus"])
		for i := 0; i < 2; i++ {
			again := get(ctx, loc)
			status(q, again, 200)
			got := readoutObj(again)
			check(fmt.Sprint(got["asyncStatus"]) == st, q, "the same readout ("+st+") on every GET", "read %d: %s", i+2, again.Describe())
		}
	})

// REQ_04_09_03: "The HTTP POST method shall be used to create a new
// resource on the server."
var _ = op("REQ_04_09_03", "a POST creates a resource that GET then reads at its Location", qs("location-not-gettable"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		status(q, get(ctx, s.loc), 200)
	})

// REQ_04_09_04: "The HTTP PUT method shall be used to change the
// information for an existing resource on the server."
var _ = op("REQ_04_09_04", "a PUT changes the resource: the status put is the status read", qs("pause-ignored"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		setStatus(ctx, q, s, "INACTIVE")
		st := subState(ctx, q, s)
		check(st["status"] == "INACTIVE", q, "status INACTIVE after PUT", "%s", jsonString(st))
	})

// REQ_04_09_05: "The HTTP DELETE method shall be used to delete a resource
// on the server."
var _ = op("REQ_04_09_05", "a DELETE deletes: the subscription is then neither readable nor listed", qs("delete-noop"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		status(q, opc().Do(ctx, "DELETE", s.loc), 200, 204)
		status(q, get(ctx, s.loc), 404)
		for _, id := range subscriptionIDs(ctx, q) {
			check(id != s.id, q, "subscription "+s.id+" no longer listed", "listed: %v", subscriptionIDs(ctx, q))
		}
	})

// statusRow provokes one code of the minimum set (I-237).
type statusRow struct {
	quirks      []string
	notTestable string
	provoke     func(ctx SpecContext, q harness.Requirement) *respT
	text        string
}

var statusRows = map[int]statusRow{
	200: {text: "a read of the vehicle list", quirks: qs("list-206"), provoke: func(ctx SpecContext, q harness.Requirement) *respT {
		return get(ctx, "/vehicles?limit=1")
	}},
	201: {text: "the creation of a subscription profile", quirks: qs("profile-create-200"), provoke: func(ctx SpecContext, q harness.Requirement) *respT {
		_, r := createProfile(ctx, q, bearerProfile(newTag(), 3600))
		return r
	}},
	202: {text: "a readout of a vehicle without power", quirks: qs("readout-offline-500"), provoke: func(ctx SpecContext, q harness.Requirement) *respT {
		vid := vehicleID(ctx, q)
		offline(ctx)
		r, _ := startReadout(ctx, q, vid)
		return r
	}},
	204: {text: "the deletion of a subscription", quirks: qs("subscription-delete-200"), provoke: func(ctx SpecContext, q harness.Requirement) *respT {
		vid := vehicleID(ctx, q)
		tag := newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		return opc().Do(ctx, "DELETE", s.loc)
	}},
	400: {text: "a malformed JSON body", quirks: qs("bad-json-500"), provoke: func(ctx SpecContext, q harness.Requirement) *respT {
		return opc().Do(ctx, "POST", "/subscriptionProfiles", jsonBody(`{"token_type": "bearer_token", "token":`))
	}},
	401: {text: "a request without a token", quirks: qs("no-auth-check"), provoke: func(ctx SpecContext, q harness.Requirement) *respT {
		return get(ctx, "/vehicles", hxNoAuth())
	}},
	403: {text: "a token without the resource's scope", quirks: qs("scope-ignored"), provoke: func(ctx SpecContext, q harness.Requirement) *respT {
		_, denied := limitedGrants()
		if len(denied) == 0 {
			Skip("not applicable: the limited client is granted every data resource")
		}
		return ex.Client("limited").Do(ctx, "GET", "/vehicles/"+url.PathEscape(vehicleID(ctx, q))+"/"+denied[0].Name)
	}},
	404: {text: "an unknown vehicle", quirks: qs("unknown-vehicle-200"), provoke: func(ctx SpecContext, q harness.Requirement) *respT {
		return get(ctx, "/vehicles/ICOC-NO-SUCH-VEHICLE/"+firstData().Name)
	}},
	406: {text: "Accept: image/png", quirks: qs("unacceptable-as-json"), provoke: func(ctx SpecContext, q harness.Requirement) *respT {
		return get(ctx, "/vehicles", hxAccept("image/png"))
	}},
	429: {text: "a request over the rate limit", quirks: qs("rate-limit-403"), provoke: func(ctx SpecContext, q harness.Requirement) *respT {
		run.Requires("exve-rate-limits")
		first := burst(ctx, q, 1)
		limit := limitOf(first[0])
		if limit <= 0 || limit > maxBurst {
			Skip("not applicable: no rate limit the suite can exceed within its budget")
		}
		rs := burst(ctx, q, limit+1)
		return rs[len(rs)-1]
	}},
	500: {text: "an internal error", notTestable: "a healthy device cannot be made to fail internally from the outside (I-237)"},
	501: {text: "a method no resource recognises (PURGE)", quirks: qs("unknown-method-400"), provoke: func(ctx SpecContext, q harness.Requirement) *respT {
		return opc().Do(ctx, "PURGE", "/vehicles")
	}},
	503: {text: "a temporary unavailability", notTestable: "a device cannot be made unavailable from the outside on demand (I-237)"},
	505: {text: "a request line of HTTP/3.0", quirks: qs("http-version-ignored"), provoke: func(ctx SpecContext, q harness.Requirement) *respT {
		head, err := ex.RawExchange(ctx, ex.Host(), true, rawRequest(ctx, "GET", "/vehicles", "HTTP/3.0"))
		return &respT{Method: "GET", URL: ex.URL("/vehicles") + " (HTTP/3.0)", Status: statusOf(firstLine(head)), Body: []byte(head), Err: err}
	}},
}

// REQ_04_10_02: "The status codes outlined in Tables 22, 23, 24 and 18
// shall be supported as a minimum set by the web service." (I-206: Tables
// 31 to 33.) One row per code of the tables.
var _ = def(&spec{id: "REQ_04_10_02", role: opRole, text: "minimum set of status codes", entries: statusEntries()})

func statusEntries() []entry {
	var out []entry
	for _, c := range exvespec.StatusCodes() {
		row, ok := statusRows[c.Code]
		if !ok {
			panic(fmt.Sprintf("no stimulus for status %d of Table %s", c.Code, c.Table))
		}
		out = append(out, entry{
			text:        fmt.Sprintf("T%s %d: %s is answered %d %s", c.Table, c.Code, row.text, c.Code, c.Reason),
			quirks:      row.quirks,
			notTestable: row.notTestable,
			args:        []any{c.Code},
			body: func(ctx SpecContext, q harness.Requirement, args ...any) {
				code := args[0].(int)
				r := statusRows[code].provoke(ctx, q)
				status(q, r, code)
			},
		})
	}
	return out
}

// REQ_04_10_03: "Returning a 4xx or 5xx status code on a request shall
// imply that no further processing of the request will be done at the web
// service."
var _ = op("REQ_04_10_03", "a subscription profile refused with 4xx is not created", qs("create-on-error"),
	func(ctx SpecContext, q harness.Requirement) {
		run.Requires("exve-subscription-profiles") // where a refused creation is observable
		before := profileIDs(ctx, q)
		r := opc().Do(ctx, "POST", "/subscriptionProfiles", jsonBody(map[string]any{"token_type": "no_such_token_type", "token": "x", "expires_in": 60, "callbackBaseURI": callback(newTag())}))
		answered(q, r)
		check(r.Status >= 400 && r.Status < 600, q, "a 4xx for an invalid token_type", "%s", r.Describe())
		after := profileIDs(ctx, q)
		check(len(after) == len(before), q, "no profile created by the refused request", "before %v\nafter %v", before, after)
	})

func profileIDs(ctx SpecContext, q harness.Requirement) []string {
	GinkgoHelper()
	r := get(ctx, "/subscriptionProfiles")
	status(q, r, 200)
	var out []string
	for _, p := range items(r, "profiles") {
		out = append(out, fmt.Sprint(obj(p)["profileId"]))
	}
	return out
}
