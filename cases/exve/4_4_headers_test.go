package exve_test

// 4.4: Host, Authorization (Bearer), Accept, Content-Type; for the
// offering party as server and as the client of its pushes, and for the
// accessing party as client.

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	exveop "github.com/icoc-dev/icoc/simulator/exve"
	"github.com/icoc-dev/icoc/simulator/exveap"
	. "github.com/onsi/ginkgo/v2"
)

// apSession makes the accessing party DUT read a resource and poll a
// readout of a vehicle that never answers, and returns what the harness's
// offering party recorded of it.
func apSession(ctx context.Context, q harness.Requirement) []harness.Attempt {
	GinkgoHelper()
	vid := vehicleID(ctx, q)
	t0 := time.Now()
	if err := ex.DUTAP.Do(ctx, exveap.ActionRead, map[string]string{"path": "/vehicles/" + vid + "/odometers", "useCase": "odometer"}); err != nil {
		fail(q, "the accessing party reads a resource", "%v", err)
	}
	_ = ex.DUTAP.Do(ctx, exveap.ActionReadout, map[string]string{"vehicleId": ex.Cfg.UnconsentedVehicle, "timeout": "4"})
	at := exveAttempts(t0, resourceRequest)
	check(len(at) >= 3, q, "the accessing party's requests (a read, a readout and its polls)", "%d recorded:\n%s", len(at), harness.Timeline(at, run.Clock))
	return at
}

// resourceRequest keeps the requests to ExVe resources: not the token
// endpoint's, which carry client credentials instead of a bearer token
// (I-224).
func resourceRequest(a harness.Attempt) bool { return !strings.HasSuffix(a.Path, exveop.TokenPath) }

func describe(a harness.Attempt) string {
	return fmt.Sprintf("%s %s (Host %q, Authorization %q, Accept %q) -> %d", a.Method, a.Path, a.Header.Get("Host"),
		short(a.Header.Get("Authorization")), a.Header.Get("Accept"), a.Status)
}

func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}

// REQ_04_04_01: "A client shall send a host header field in all HTTP/1.1
// request messages, see RFC 7230[6]." (I-233)
var _ = op("REQ_04_04_01", "every push it sends carries Host naming the callback's host and port", qs("push-wrong-host"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		t0 := time.Now()
		pushData(ctx)
		p := waitPush(ctx, q, tag, t0, "a push")
		u, _ := url.Parse(callback(tag))
		check(p.Host == u.Host || p.Host == u.Hostname() && u.Port() == "443", q, "Host "+u.Host, "%q", p.Host)
	})

var _ = ap("REQ_04_04_01", "every request carries Host naming the offering party's host and port", aqs("wrong-host"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, a := range apSession(ctx, q) {
			check(a.Header.Get("Host") == ex.Base.Host, q, "Host "+ex.Base.Host+" on every request", "%s", describe(a))
		}
	})

// REQ_04_04_02: "The HTTP request header fields "Authorization" shall be
// present in every client HTTP request." (I-224)
var _ = op("REQ_04_04_02", "a request without Authorization is refused with 401 and an error body", qs("no-auth-check"),
	func(ctx SpecContext, q harness.Requirement) {
		r := get(ctx, "/vehicles", hxNoAuth())
		status(q, r, 401)
		check(r.Object()["exveErrorId"] != nil || r.Object()["exveErrors"] != nil, q, "an error body (4.11)", "%s", r.Describe())
	})

var _ = op("REQ_04_04_02", "every push it sends carries Authorization", qs("push-without-bearer"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		subscribe(ctx, q, vid, tag, map[string]any{"profile": refreshProfile(tag, 3600)})
		t0 := time.Now()
		pushData(ctx)
		p := waitPush(ctx, q, tag, t0, "a push")
		check(p.Header.Get("Authorization") != "", q, "an Authorization header on the push", "none: %s %s", p.Method, p.Path)
	})

var _ = ap("REQ_04_04_02", "every request carries Authorization", aqs("no-auth-on-poll"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, a := range apSession(ctx, q) {
			check(a.Header.Get("Authorization") != "", q, "Authorization on every request", "%s", describe(a))
		}
	})

// REQ_04_04_03: "The HTTP request header field "Accept" shall identify the
// media type the client accepts in the response from the server."
var _ = op("REQ_04_04_03", "every push it sends carries Accept", qs("push-no-accept"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		tag := newTag()
		subscribe(ctx, q, vid, tag, map[string]any{"profile": bearerProfile(tag, 3600)})
		t0 := time.Now()
		pushData(ctx)
		p := waitPush(ctx, q, tag, t0, "a push")
		check(p.Header.Get("Accept") != "", q, "an Accept header on the push", "none: %s %s", p.Method, p.Path)
	})

var _ = ap("REQ_04_04_03", "every request carries Accept", aqs("no-accept-on-post"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, a := range apSession(ctx, q) {
			check(a.Header.Get("Accept") != "", q, "Accept on every request", "%s", describe(a))
		}
	})

// REQ_04_04_04: "The HTTP response header field "Content-Type" shall be
// present in every server HTTP response with content."
var _ = op("REQ_04_04_04", "every answer with content, error answers included, has a Content-Type", qs("error-no-content-type"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		for _, r := range []*respT{
			get(ctx, "/vehicles?limit=2"),
			get(ctx, "/vehicles/"+vid+"/odometers"),
			get(ctx, "/vehicles", hxNoAuth()),
			get(ctx, "/vehicles/ICOC-NO-SUCH-VEHICLE"),
			get(ctx, "/vehicles", hxAccept("image/png")),
			opc().Do(ctx, "POST", "/subscriptionProfiles", jsonBody(`{"token_type":`)),
		} {
			answered(q, r)
			if len(r.Body) > 0 {
				check(r.Header.Get("Content-Type") != "", q, "a Content-Type on an answer with content", "%s", r.Describe())
			}
		}
	})

var _ = ap("REQ_04_04_04", "its callback's answers to pushes have a Content-Type when they have content", aqs("callback-body-no-ct"),
	func(ctx SpecContext, q harness.Requirement) {
		recs := apPushes(ctx, q)
		for _, p := range recs {
			if p.BodyLen > 0 && !strings.HasSuffix(p.URL, exveop.TokenPath) {
				check(p.ContentType != "", q, "a Content-Type on the callback's answer with content", "%d with %d bytes, no Content-Type (%s)", p.Status, p.BodyLen, p.URL)
			}
		}
	})

var _ = withVariants("REQ_04_04_04", "its callback", harness.ExVeAPQuirkPrefix+"callback-204")

// apPushes has the accessing party DUT subscribe to the profile vehicle's
// odometers, puts data on the bus, and returns the pushes the harness's
// offering party made to it.
// The token endpoint's failures are among the records (URL .../oauth2/token).
func apPushes(ctx context.Context, q harness.Requirement) []pushRecord {
	GinkgoHelper()
	if ex.OP == nil {
		Skip("not applicable: the harness plays no offering party")
	}
	vid := vehicleID(ctx, q)
	DeferCleanup(func() { ex.OP.DropSubscriptions() })
	if err := ex.DUTAP.Do(ctx, exveap.ActionSubscribe, map[string]string{"resource": "odometerSubscriptions", "vehicleId": vid}); err != nil {
		fail(q, "the accessing party subscribes", "%v", err)
	}
	t0 := time.Now()
	pushData(ctx)
	var out []pushRecord
	eventually(ctx, time.Minute, func() bool {
		out = nil
		for _, p := range ex.OP.Pushes() {
			// Not the pushes to the harness's own callback (left by the
			// offering-party specs of the run).
			if !p.At.Before(t0) && (ex.AP == nil || !strings.HasPrefix(p.URL, ex.AP.CallbackBaseURI())) {
				out = append(out, p)
			}
		}
		return len(out) > 0
	})
	check(len(out) > 0, q, "a push to the accessing party", "none within a minute (spec)")
	return out
}

// REQ_04_04_05: "The HTTP request header field "Authorization" shall use the
// "Bearer" authentication scheme to transmit a token." (I-224)
var _ = op("REQ_04_04_05", "a request with another scheme (Basic) or an expired bearer token is refused with 401", qs("accept-basic", "accept-expired-token"),
	func(ctx SpecContext, q harness.Requirement) {
		id := ex.Cfg.Clients.Main
		basic := get(ctx, "/vehicles", hxHeader("Authorization", "Basic "+basicAuth(id.ID, id.Secret)))
		status(q, basic, 401)
		short := ex.NewClient("short")
		tok, life, err := short.FreshToken(ctx)
		check(err == nil, q, "a token of the short-lived client", "%v", err)
		if life > 10*time.Minute {
			Skip(fmt.Sprintf("not applicable: the short-lived client's tokens live %v; too long for this spec", life))
		}
		time.Sleep(run.Clock.Wall(life + run.Profile.Tolerance.Allowed(life)))
		r := get(ctx, "/vehicles", hxHeader("Authorization", "Bearer "+tok))
		status(q, r, 401)
	})

var _ = ap("REQ_04_04_05", "every request sends its token with the scheme Bearer", aqs("token-scheme"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, a := range apSession(ctx, q) {
			check(strings.HasPrefix(a.Header.Get("Authorization"), "Bearer ") || a.Header.Get("Authorization") == "", q,
				"Authorization: Bearer <token>", "%s", describe(a))
		}
	})

var _ = ap("REQ_04_04_05", "once its access token has expired it gets a new one instead of repeating the expired one", aqs("no-token-refresh"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		read := map[string]string{"path": "/vehicles/" + vid + "/odometers", "useCase": "odometer"}
		t0 := time.Now()
		_ = ex.DUTAP.Do(ctx, exveap.ActionRead, read)
		time.Sleep(run.Clock.Wall(10 * time.Second))
		_ = ex.DUTAP.Do(ctx, exveap.ActionRead, read)
		at := exveAttempts(t0, resourceRequest)
		refused := map[string]bool{}
		for _, a := range at {
			tok := a.Header.Get("Authorization")
			check(!refused[tok], q, "no token used again after the offering party refused it with 401", "repeated:\n%s", timelineOf(at))
			if a.Status == 401 {
				refused[tok] = true
			}
		}
		check(len(at) > 0 && at[len(at)-1].Status == 200, q, "the last read answered 200", "%s", timelineOf(at))
	})

func timelineOf(at []harness.Attempt) string {
	var b strings.Builder
	for _, a := range at {
		b.WriteString("  " + describe(a) + "\n")
	}
	return b.String()
}
