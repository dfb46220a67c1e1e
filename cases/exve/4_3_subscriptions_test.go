package exve_test

// 4.3: subscription profiles, subscriptions and pushes, deactivation
// (Table 27).

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	exveop "github.com/icoc-dev/icoc/simulator/exve"
	"github.com/icoc-dev/icoc/simulator/exveap"
	exvespec "github.com/icoc-dev/icoc/spec/exve"
	. "github.com/onsi/ginkgo/v2"
)

// callback is a callbackBaseURI of the harness's accessing party with a
// path element of its own, so that each subscription's pushes can be told
// apart by path.
func callback(tag string) string {
	return ex.AP.CallbackBaseURI() + "/" + tag
}

func callbackPath(tag string) string {
	u, _ := url.Parse(callback(tag))
	return u.Path
}

// newTag is a fresh callback path element.
func newTag() string { return fmt.Sprintf("s%06d", rand.IntN(1000000)) }

// refreshProfile is a subscription profile with a refresh token of the
// harness's token endpoint (Table 15).
func refreshProfile(tag string, expiresIn int) map[string]any {
	return map[string]any{"token_type": "refresh_token", "token": ex.AP.NewRefreshToken(time.Duration(expiresIn) * time.Second),
		"expires_in": expiresIn, "tokenEndpoint": ex.AP.TokenEndpoint(), "callbackBaseURI": callback(tag)}
}

// bearerProfile is a subscription profile with a bearer token (Table 16).
func bearerProfile(tag string, expiresIn int) map[string]any {
	return map[string]any{"token_type": "bearer_token", "token": ex.AP.NewBearerToken(time.Duration(expiresIn) * time.Second),
		"expires_in": expiresIn, "callbackBaseURI": callback(tag)}
}

// subscription is one subscription the spec made.
type subscription struct {
	tag, loc, id, profileID string
	resp                    *respT
}

// subscribe creates an odometer subscription for the profile's vehicle
// with body, expecting 201 and a Location; DELETE after the spec.
func subscribe(ctx context.Context, q harness.Requirement, vid, tag string, body map[string]any) subscription {
	GinkgoHelper()
	path := "/odometerSubscriptions"
	if vid != "" {
		path += "?vehicleId=" + url.QueryEscape(vid)
	}
	r := opc().Do(ctx, "POST", path, jsonBody(body))
	status(q, r, 201)
	loc := r.Header.Get("Location")
	check(loc != "", q, "a Location for the created subscription", "%s", r.Describe())
	loc = resolve(r.URL, loc)
	cleanup(loc)
	s := subscription{tag: tag, loc: loc, resp: r}
	s.id = loc[strings.LastIndex(loc, "/")+1:]
	if v, ok := r.Object()["profileId"]; ok {
		s.profileID = fmt.Sprint(v)
	}
	return s
}

// pushesTo returns the pushes the harness's callback took under a tag
// since t.
func pushesTo(tag string, since time.Time) []exveap.Push {
	var out []exveap.Push
	prefix := callbackPath(tag) + "/"
	for _, p := range ex.AP.Pushes() {
		if !p.At.Before(since) && strings.HasPrefix(p.Path, prefix) {
			out = append(out, p)
		}
	}
	return out
}

// waitPush waits (a minute of spec time: the upload period) for a push
// under tag since t.
func waitPush(ctx context.Context, q harness.Requirement, tag string, since time.Time, what string) exveap.Push {
	GinkgoHelper()
	var got []exveap.Push
	if !eventually(ctx, time.Minute, func() bool { got = pushesTo(tag, since); return len(got) > 0 }) {
		fail(q, what, "no push to %s within a minute (spec) of the upload; every push the callback took: %s", callback(tag), pushSummary(ex.AP.Pushes()))
	}
	return got[0]
}

func pushSummary(ps []exveap.Push) string {
	if len(ps) == 0 {
		return "none"
	}
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "\n  %s %s %s -> %d", p.At.Format("15:04:05.000"), p.Method, p.Path, p.Status)
	}
	return b.String()
}

// subState reads a subscription (GET on its Location).
func subState(ctx context.Context, q harness.Requirement, s subscription) map[string]any {
	GinkgoHelper()
	r := get(ctx, s.loc)
	status(q, r, 200)
	m := r.Object()
	if inner, ok := m["subscription"].(map[string]any); ok {
		return inner
	}
	return m
}

// REQ_04_03_01: "A subscription profile shall contain: profileId (assigned
// at creation), callback baseURI, token information".
var _ = op("REQ_04_03_01", "a profile created with a subscription has a profileId, and lists its callbackBaseURI and token type", qs("profile-no-callback"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": refreshProfile(tag, 3600)})
		check(s.profileID != "", q, "the profileId assigned at creation in the answer", "%s", s.resp.Describe())
		if !run.Profile.Has("exve-subscription-profiles") {
			return
		}
		r := get(ctx, "/subscriptionProfiles")
		status(q, r, 200)
		for _, p := range items(r, "profiles") {
			if fmt.Sprint(obj(p)["profileId"]) != s.profileID {
				continue
			}
			check(obj(p)["callbackBaseURI"] == callback(tag), q, "callbackBaseURI "+callback(tag)+" in the profile", "%s", jsonString(p))
			check(obj(p)["token_type"] == "refresh_token" || obj(p)["token-type"] == "refresh_token", q, "token_type refresh_token in the profile", "%s", jsonString(p))
			return
		}
		fail(q, "profile "+s.profileID+" in {b}/subscriptionProfiles", "%s", r.Describe())
	})

// REQ_04_03_02: "A subscription profile for refresh token shall contain:
// an OAuth2 refresh token, the OAuth2 refresh token lifetime, the OAuth2
// endpoint for renewing access tokens." (I-228)
var _ = op("REQ_04_03_02", "with a refresh-token profile it renews an access token at the tokenEndpoint and pushes with it", qs("push-with-refresh-token"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		prof := refreshProfile(tag, 3600)
		subscribe(ctx, q, vid, tag, map[string]any{"profile": prof})
		t0 := time.Now()
		pushData(ctx)
		p := waitPush(ctx, q, tag, t0, "a push")
		var renewed bool
		for _, tr := range ex.AP.TokenRequests() {
			renewed = renewed || tr.GrantType == "refresh_token" && tr.RefreshToken == prof["token"] && tr.Status == 200
		}
		check(renewed, q, "a refresh-token grant with the profile's refresh token at "+ex.AP.TokenEndpoint(), "token requests: %+v", ex.AP.TokenRequests())
		auth := p.Header.Get("Authorization")
		check(strings.HasPrefix(auth, "Bearer ") && auth != "Bearer "+fmt.Sprint(prof["token"]) && p.Status/100 == 2, q,
			"the push carries the renewed access token (not the refresh token) and the callback takes it", "Authorization %q, callback answered %d", auth, p.Status)
	})

// REQ_04_03_03: "A subscription profile for bearer token shall contain: a
// bearer token, the bearer token lifetime."
var _ = op("REQ_04_03_03", "with a bearer-token profile it pushes with that bearer token", qs("push-without-bearer"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		prof := bearerProfile(tag, 3600)
		subscribe(ctx, q, vid, tag, map[string]any{"profile": prof})
		t0 := time.Now()
		pushData(ctx)
		p := waitPush(ctx, q, tag, t0, "a push")
		check(p.Header.Get("Authorization") == "Bearer "+fmt.Sprint(prof["token"]), q, "Authorization: Bearer <the profile's token>", "%q", p.Header.Get("Authorization"))
	})

// subscriptionIDs lists the subscriptionIds of {b}/subscriptions.
func subscriptionIDs(ctx context.Context, q harness.Requirement) []string {
	r := get(ctx, "/subscriptions")
	status(q, r, 200)
	var out []string
	for _, s := range items(r, "subscriptions") {
		out = append(out, fmt.Sprint(obj(s)["subscriptionId"]))
	}
	return out
}

// REQ_04_03_04: "A subscription shall contain a subscription profile."
var _ = op("REQ_04_03_04", "a subscription request with neither profile nor profileId is refused and creates nothing", qs("subscription-without-profile"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		before := subscriptionIDs(ctx, q)
		r := opc().Do(ctx, "POST", "/odometerSubscriptions?vehicleId="+url.QueryEscape(vid), jsonBody(map[string]any{}))
		if r.Status == 201 {
			cleanup(resolve(r.URL, r.Header.Get("Location")))
		}
		answered(q, r)
		check(r.Status >= 400 && r.Status < 500, q, "a 4xx", "%s", r.Describe())
		after := subscriptionIDs(ctx, q)
		check(len(after) == len(before), q, "no new subscription", "before %v, after %v", before, after)
	})

// REQ_04_03_05: "The full subscription profile information can be provided
// when the subscription is created." Table 15: 201, Location, profileId.
var _ = op("REQ_04_03_05", "a subscription with a full profile is answered 201 with a Location that reads it and the profileId", qs("no-profile-id"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		check(underBase(s.loc), q, "a Location under the base URI", "%s", s.loc)
		check(s.profileID != "", q, `the body {"profileId": ...} (Table 15)`, "%s", s.resp.Describe())
		st := subState(ctx, q, s)
		check(fmt.Sprint(st["subscriptionId"]) == s.id || strings.Contains(jsonString(st), s.id), q, "the subscription at its Location", "%s", jsonString(st))
	})

// createProfile is POST {b}/subscriptionProfiles with a profile.
func createProfile(ctx context.Context, q harness.Requirement, prof map[string]any) (string, *respT) {
	GinkgoHelper()
	r := opc().Do(ctx, "POST", "/subscriptionProfiles", jsonBody(prof))
	answered(q, r)
	id := fmt.Sprint(r.Object()["profileId"])
	if loc := r.Header.Get("Location"); loc != "" {
		cleanupLast(resolve(r.URL, loc))
		if id == "<nil>" {
			id = loc[strings.LastIndex(loc, "/")+1:]
		}
	}
	return id, r
}

// cleanupLast deletes after the spec, after the cleanups registered
// before it (Ginkgo runs cleanups last registered first).
func cleanupLast(path string) { cleanup(path) }

// REQ_04_03_06: "A subscription profile id (profileId) can be provided when
// the subscription is created." Table 17.
var _ = op("REQ_04_03_06", "a subscription naming an existing profileId is created; one naming an unknown profileId is refused", qs("unknown-profile-accepted"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		pid, r := createProfile(ctx, q, bearerProfile(tag, 3600))
		status(q, r, 201)
		s := subscribe(ctx, q, vid, tag, map[string]any{"profileId": pid})
		_ = s
		bad := opc().Do(ctx, "POST", "/odometerSubscriptions?vehicleId="+url.QueryEscape(vid), jsonBody(map[string]any{"profileId": "icoc-no-such-profile-" + newTag()}))
		if bad.Status == 201 {
			cleanup(resolve(bad.URL, bad.Header.Get("Location")))
		}
		answered(q, bad)
		check(bad.Status >= 400 && bad.Status < 500, q, "a 4xx for an unknown profileId", "%s", bad.Describe())
	})

// REQ_04_03_07: "HTTP POST can be used by accessing party to create
// subscription profile for subscriptions." Tables 18, 19: 201, Location.
var _ = op("REQ_04_03_07", "POST {b}/subscriptionProfiles creates a profile: 201 and a Location that reads it", qs("profile-create-200"),
	func(ctx SpecContext, q harness.Requirement) {
		_, r := createProfile(ctx, q, refreshProfile(newTag(), 3600))
		status(q, r, 201)
		loc := r.Header.Get("Location")
		check(loc != "", q, "a Location", "%s", r.Describe())
		status(q, get(ctx, resolve(r.URL, loc)), 200)
	})

// REQ_04_03_08: "HTTP GET can be used by accessing party to request a list
// of subscription profiles." Table 20: tokenExpTime = subscription time +
// expires_in, a Unix time (I-204).
var _ = op("REQ_04_03_08", "GET {b}/subscriptionProfiles lists the profile with tokenExpTime = creation + expires_in (Unix seconds)", qs("token-exp-ms"),
	func(ctx SpecContext, q harness.Requirement) {
		const expiresIn = 3600
		t0 := time.Now()
		pid, r := createProfile(ctx, q, refreshProfile(newTag(), expiresIn))
		status(q, r, 201)
		l := get(ctx, "/subscriptionProfiles")
		status(q, l, 200)
		want := t0.Add(run.Clock.Wall(expiresIn * time.Second))
		for _, p := range items(l, "profiles") {
			if fmt.Sprint(obj(p)["profileId"]) != pid {
				continue
			}
			exp, ok := obj(p)["tokenExpTime"].(float64)
			tol := run.Profile.Tolerance.Allowed(expiresIn*time.Second) + time.Second
			d := time.Unix(int64(exp), 0).Sub(want)
			check(ok && d.Abs() <= run.Clock.Wall(tol)+time.Second, q,
				fmt.Sprintf("tokenExpTime %d (the creation, %s, plus expires_in %d s of the device's clock)", want.Unix(), t0.UTC().Format(time.RFC3339), expiresIn),
				"%s", jsonString(p))
			return
		}
		fail(q, "profile "+pid+" listed", "%s", l.Describe())
	})

// REQ_04_03_09: "HTTP DELETE can be used by accessing party to delete a
// subscription profile." Table 21.
var _ = op("REQ_04_03_09", "DELETE {b}/subscriptionProfiles/{profileId} deletes the profile", qs("profile-delete-noop"),
	func(ctx SpecContext, q harness.Requirement) {
		pid, r := createProfile(ctx, q, bearerProfile(newTag(), 3600))
		status(q, r, 201)
		d := opc().Do(ctx, "DELETE", "/subscriptionProfiles/"+url.PathEscape(pid))
		status(q, d, 200, 204)
		l := get(ctx, "/subscriptionProfiles")
		status(q, l, 200)
		for _, p := range items(l, "profiles") {
			check(fmt.Sprint(obj(p)["profileId"]) != pid, q, "profile "+pid+" gone", "%s", l.Describe())
		}
	})

// REQ_04_03_10: "The offering party shall inactivate the subscription when
// the provided authorization has expired."
var _ = op("REQ_04_03_10", "a subscription whose bearer token has expired turns INACTIVE (TOKEN_EXPIRED) and pushes nothing", qs("stays-active-after-token-expiry"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3)})
		var st map[string]any
		eventually(ctx, 10*time.Second, func() bool { st = subState(ctx, q, s); return st["status"] == "INACTIVE" })
		check(st["status"] == "INACTIVE" && st["reason"] == "TOKEN_EXPIRED", q, "status INACTIVE, reason TOKEN_EXPIRED within 3 s (spec) of expires_in", "%s", jsonString(st))
		t0 := time.Now()
		pushData(ctx)
		time.Sleep(run.Clock.Wall(5 * time.Second))
		ps := pushesTo(tag, t0)
		check(len(ps) == 0, q, "no push after the expiry", "%s", pushSummary(ps))
	})

// REQ_04_03_11: "The subscription shall be assigned a unique identifier
// called subscriptionID."
var _ = op("REQ_04_03_11", "three subscriptions get three different subscription IDs", qs("reused-subscription-id"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		seen := map[string]bool{}
		for i := 0; i < 3; i++ {
			tag := newTag()
			s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
			check(!seen[s.id], q, "a new subscriptionID each time", "%s again (Location %s)", s.id, s.loc)
			seen[s.id] = true
		}
		ids := subscriptionIDs(ctx, q)
		dup := map[string]int{}
		for _, id := range ids {
			dup[id]++
			check(dup[id] == 1, q, "each subscriptionId once in {b}/subscriptions", "%s twice in %v", id, ids)
		}
	})

// REQ_04_03_12: "If subscriptions are initiated explicitly, HTTP POST
// shall be used." Table 23.
var _ = op("REQ_04_03_12", "POST {b}/odometerSubscriptions creates a subscription (201)", qs("subscribe-by-put"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
	})

// REQ_04_03_13: "If subscriptions are initiated explicitly, updating a
// subscription shall be done using HTTP PUT." Table 24: ?addVehicleId=.
var _ = op("REQ_04_03_13", "PUT ?addVehicleId= adds a vehicle: its new data is pushed", qs("put-ignored"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		other := ""
		for _, id := range vehicleIDs(ctx, q, 5) {
			if id != vid {
				other = id
				break
			}
		}
		tag := newTag()
		s := subscribe(ctx, q, other, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		r := opc().Do(ctx, "PUT", s.loc+"?addVehicleId="+url.QueryEscape(vid))
		status(q, r, 200, 204)
		t0 := time.Now()
		pushData(ctx)
		waitPush(ctx, q, tag, t0, "a push of the added vehicle "+vid)
	})

// REQ_04_03_14: "If subscriptions are initiated explicitly, deleting a
// subscription shall be done using HTTP DELETE."
var _ = op("REQ_04_03_14", "after DELETE the subscription is gone (404) and pushes nothing", qs("pushes-after-delete"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag, ctl := newTag(), newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		subscribe(ctx, q, vid, ctl, map[string]any{"profile": bearerProfile(ctl, 3600)})
		status(q, opc().Do(ctx, "DELETE", s.loc), 200, 204)
		status(q, get(ctx, s.loc), 404)
		t0 := time.Now()
		pushData(ctx)
		waitPush(ctx, q, ctl, t0, "a push to the subscription kept (the control)")
		time.Sleep(run.Clock.Wall(3 * time.Second))
		ps := pushesTo(tag, t0)
		check(len(ps) == 0, q, "no push for the deleted subscription", "%s", pushSummary(ps))
	})

// REQ_04_03_15: "The resource shall be pushed using HTTP POST to the
// baseURI decided by the accessing party." Table 26 (I-231).
var _ = op("REQ_04_03_15", "a push is POST {callbackBaseURI}/{resource} with a Content-Type and a JSON body", qs("push-put", "callback-root"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		t0 := time.Now()
		pushData(ctx)
		var p exveap.Push
		if !eventually(ctx, time.Minute, func() bool {
			for _, x := range ex.AP.Pushes() {
				if !x.At.Before(t0) {
					p = x
					return true
				}
			}
			return false
		}) {
			fail(q, "a push to "+callback(tag), "no push at all within a minute (spec)")
		}
		res, _ := ex.Catalogue.ByName("odometers")
		ok := p.Path == callbackPath(tag)+"/"+res.UseCase || p.Path == callbackPath(tag)+"/"+res.Name
		check(p.Method == "POST" && ok, q, fmt.Sprintf("POST %s/%s (or /%s)", callbackPath(tag), res.UseCase, res.Name), "%s %s", p.Method, p.Path)
		check(p.Header.Get("Content-Type") != "" && jsonValid(p.Body), q, "a Content-Type and a JSON body", "%q %s", p.Header.Get("Content-Type"), p.Body)
	})

var _ = withVariants("REQ_04_03_15", "", harness.ExVeOPQuirkPrefix+"push-plural-path")

// REQ_04_03_16: "A subscription shall have a status. The status can be:
// ACTIVE (default), INACTIVE".
var _ = op("REQ_04_03_16", "a new subscription shows status ACTIVE", qs("no-subscription-status"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		st := subState(ctx, q, s)
		check(st["status"] == "ACTIVE", q, "status ACTIVE", "%s", jsonString(st))
	})

// setStatus pauses or resumes a subscription (I-202).
func setStatus(ctx context.Context, q harness.Requirement, s subscription, st string) {
	GinkgoHelper()
	r := opc().Do(ctx, "PUT", s.loc, jsonBody(map[string]any{"status": st}))
	status(q, r, 200, 204)
}

// REQ_04_03_17: "The accessing party should be able to deactivate an
// existing subscription in order to pause the push of related resources."
var _ = op("REQ_04_03_17", `PUT {"status":"INACTIVE"} pauses a subscription: nothing is pushed`, qs("pause-ignored"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag, ctl := newTag(), newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		subscribe(ctx, q, vid, ctl, map[string]any{"profile": bearerProfile(ctl, 3600)})
		setStatus(ctx, q, s, "INACTIVE")
		t0 := time.Now()
		pushData(ctx)
		waitPush(ctx, q, ctl, t0, "a push to the active subscription (the control)")
		time.Sleep(run.Clock.Wall(3 * time.Second))
		ps := pushesTo(tag, t0)
		check(len(ps) == 0, q, "no push while paused", "%s", pushSummary(ps))
	})

// REQ_04_03_18: "The accessing party shall be able to reactivate an
// existing subscription in order to resume the push of related resources."
var _ = op("REQ_04_03_18", `PUT {"status":"ACTIVE"} resumes a paused subscription: pushes come again`, qs("resume-ignored"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		setStatus(ctx, q, s, "INACTIVE")
		setStatus(ctx, q, s, "ACTIVE")
		st := subState(ctx, q, s)
		check(st["status"] == "ACTIVE", q, "status ACTIVE after resuming", "%s", jsonString(st))
		t0 := time.Now()
		pushData(ctx)
		waitPush(ctx, q, tag, t0, "a push after resuming")
	})

// faultFor is the fault of the harness's accessing party that Table 27's
// reason stands for (I-230), and the status code the subscription must
// then state (0: none).
func faultFor(reason, tag string) (*center.Fault, int) {
	cb := callbackPath(tag)
	switch reason {
	case "AUTH_ERROR":
		return &center.Fault{Service: exveap.ServiceName, PathPrefix: cb, Status: 401, Times: -1}, 401
	case "AP_SERVICE_NOT_AVAILABLE":
		return &center.Fault{Service: exveap.ServiceName, PathPrefix: cb, Drop: true, Times: -1}, 0
	case "PUSH_HTTP_STATUS_CODE":
		return &center.Fault{Service: exveap.ServiceName, PathPrefix: cb, Status: 500, Times: -1}, 500
	case "RENEW_TOKEN_ERROR":
		u, _ := url.Parse(ex.AP.TokenEndpoint())
		return &center.Fault{Service: exveap.ServiceName, PathPrefix: u.Path, Status: 400, Times: -1}, 400
	case "TIMEOUT":
		return &center.Fault{Service: exveap.ServiceName, PathPrefix: cb, Status: 200, Stall: run.Clock.Wall(2 * ex.Cfg.DeactivationWait), Times: -1}, 0
	}
	return nil, 0
}

var faultText = map[string]string{
	"TOKEN_EXPIRED":            "the bearer token expires",
	"AUTH_ERROR":               "the callback answers 401",
	"AP_SERVICE_NOT_AVAILABLE": "the callback closes every connection",
	"PUSH_HTTP_STATUS_CODE":    "the callback answers 500",
	"RENEW_TOKEN_ERROR":        "the token endpoint answers 400",
	"TIMEOUT":                  "the callback never answers",
}

// REQ_04_03_20: "If the offering party has set a subscription to INACTIVE,
// reason, HTTP status code, and timestamp in the ISO 8601 series of last
// push attempt shall be provided." One row per reason of Table 27.
var _ = def(&spec{id: "REQ_04_03_20", role: opRole, text: "deactivation reasons of Table 27", entries: deactivationEntries()})

func deactivationEntries() []entry {
	var out []entry
	for _, d := range exvespec.DeactivationReasons() {
		quirks := qs("deactivation-no-timestamp")
		if d.Reason != "PUSH_HTTP_STATUS_CODE" {
			quirks = append(quirks, qs("reason-generic")...)
		}
		if d.HTTPStatus {
			quirks = append(quirks, qs("deactivation-no-status-code")...)
		}
		out = append(out, entry{
			text:   fmt.Sprintf("T27 %s: when %s, an INACTIVE subscription states %s, the status code and the time", d.Reason, faultText[d.Reason], d.Reason),
			quirks: quirks, args: []any{d}, body: deactivationRow,
		})
	}
	return out
}

func deactivationRow(ctx SpecContext, q harness.Requirement, args ...any) {
	d := args[0].(exvespec.DeactivationReason)
	vid := vehicleID(ctx, q)
	tag := newTag()
	var s subscription
	want := 0
	if d.Reason == "TOKEN_EXPIRED" {
		s = subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3)})
	} else {
		f, code := faultFor(d.Reason, tag)
		want = code
		s = subscribe(ctx, q, vid, tag, map[string]any{"profile": refreshProfile(tag, 3600)})
		run.Faults.Set(*f)
		pushData(ctx)
	}
	t0 := time.Now()
	var st map[string]any
	wait := ex.Cfg.DeactivationWait
	eventually(ctx, wait, func() bool { st = subState(ctx, q, s); return st["status"] == "INACTIVE" })
	if st["status"] != "INACTIVE" {
		check(d.Reason != "TOKEN_EXPIRED", q, "status INACTIVE once the token has expired (REQ_04_03_10)", "%s", jsonString(st))
		report("kept ACTIVE", fmt.Sprintf("the subscription stayed ACTIVE %v (spec) after the fault; REQ_04_03_19 allows that", spent(t0).Round(time.Second)))
		return
	}
	check(st["reason"] == d.Reason, q, "reason "+d.Reason+" (Table 27) for a subscription deactivated when "+faultText[d.Reason], "%s", jsonString(st))
	if d.HTTPStatus {
		code := fmt.Sprint(st["httpStatusCode"])
		check(code == strconv.Itoa(want), q, fmt.Sprintf("httpStatusCode %d (what the accessing party answered; I-217)", want), "%s", jsonString(st))
	}
	check(isDateTime(st["timestamp"]), q, "an ISO 8601 timestamp of the last push attempt", "%s", jsonString(st))
}

var _ = withVariants("REQ_04_03_20", "", harness.ExVeOPQuirkPrefix+"keep-active-on-push-errors")

// REQ_04_03_21: "HTTP GET can be used by accessing party to request a list
// of subscriptions." Table 28.
var _ = op("REQ_04_03_21", "GET {b}/subscriptions lists each subscription with subscriptionId, resource, profileId and status", qs("subscriptions-list-no-profile"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		s := subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		r := get(ctx, "/subscriptions")
		status(q, r, 200)
		for _, e := range items(r, "subscriptions") {
			m := obj(e)
			if fmt.Sprint(m["subscriptionId"]) != s.id {
				continue
			}
			for _, k := range []string{"resource", "profileId", "status"} {
				_, ok := m[k]
				check(ok, q, "subscriptionId, resource, profileId and status", "%s lacks %s", jsonString(m), k)
			}
			return
		}
		fail(q, "subscription "+s.id+" listed", "%s", r.Describe())
	})

// REQ_04_03_01, accessing party: its subscription profile has everything
// the offering party needs to push (Table 15).
var _ = ap("REQ_04_03_01", "its subscription profile has callbackBaseURI, token_type, token, expires_in and, for a refresh token, tokenEndpoint", aqs("profile-no-expires"),
	func(ctx SpecContext, q harness.Requirement) {
		t := tap(exveop.ServiceName, "Subscriptions")
		vid := vehicleID(ctx, q)
		DeferCleanup(func() { unsubscribeAll(ctx) })
		err := ex.DUTAP.Do(ctx, exveap.ActionSubscribe, map[string]string{"resource": "odometerSubscriptions", "vehicleId": vid})
		bodies := t.all()
		check(len(bodies) > 0, q, "a subscription request of the accessing party", "none (action: %v)", err)
		var m struct {
			Profile map[string]any `json:"profile"`
		}
		_ = json.Unmarshal(bodies[len(bodies)-1], &m)
		p := m.Profile
		keys := []string{"callbackBaseURI", "token_type", "token", "expires_in"}
		if p["token_type"] == "refresh_token" {
			keys = append(keys, "tokenEndpoint")
		}
		for _, k := range keys {
			_, ok := p[k]
			check(ok, q, "the profile keys "+strings.Join(keys, ", "), "%s lacks %s", bodies[len(bodies)-1], k)
		}
	})

// REQ_04_03_02, accessing party: the refresh token and endpoint it gives
// yield an access token its callback takes.
var _ = ap("REQ_04_03_02", "the refresh token and tokenEndpoint of its profile give an access token its callback takes", aqs("token-endpoint-broken", "callback-rejects-refreshed"),
	func(ctx SpecContext, q harness.Requirement) {
		recs := apPushes(ctx, q)
		for _, r := range recs {
			check(r.Status >= 200 && r.Status < 300 && !strings.HasSuffix(r.URL, "/oauth2/token"), q,
				"a renewed access token and pushes the callback takes (2xx)", "%s %s -> %d %s", r.Method, r.URL, r.Status, r.Err)
		}
	})

// REQ_04_03_15, accessing party: its callback takes the pushes (REQ_04_01_07:
// it is the server of the push).
var _ = ap("REQ_04_03_15", "its callback answers the pushes of its subscription with 2xx", aqs("push-500"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, r := range apPushes(ctx, q) {
			check(r.Status >= 200 && r.Status < 300, q, "2xx to every push", "%s %s -> %d %s", r.Method, r.URL, r.Status, r.Err)
		}
	})
