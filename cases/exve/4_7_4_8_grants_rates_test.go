package exve_test

// 4.7 grants and web services, 4.8 rate limits.

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	exveop "github.com/icoc-dev/icoc/simulator/exve"
	"github.com/icoc-dev/icoc/simulator/exveap"
	. "github.com/onsi/ginkgo/v2"
)

// limitedGrants splits the per-vehicle data resources into those the
// limited client's scopes grant and the rest.
func limitedGrants() (granted, denied []exveop.Resource) {
	scopes := ex.Cfg.Clients.Limited.Scopes
	if len(scopes) == 0 {
		scopes = []string{"exve:vehicles", "exve:odometers", "exve:subscriptions"}
	}
	for _, r := range ex.Catalogue.OfKind(exveop.KindData) {
		if slices.Contains(scopes, r.Scope) {
			granted = append(granted, r)
		} else {
			denied = append(denied, r)
		}
	}
	return granted, denied
}

// REQ_04_07_03: "Granting access to a resource, either directly or through
// a container, shall give access to that resource only in the web services
// exposing it."
var _ = op("REQ_04_07_03", "a token granting one resource reads it, and gets 403 for a resource it does not grant", qs("scope-ignored"),
	func(ctx SpecContext, q harness.Requirement) {
		granted, denied := limitedGrants()
		if len(granted) == 0 || len(denied) == 0 {
			Skip("not applicable: the limited client's scopes do not split the data resources")
		}
		vid := vehicleID(ctx, q)
		lim := ex.Client("limited")
		status(q, lim.Do(ctx, "GET", "/vehicles/"+vid+"/"+granted[0].Name), 200)
		r := lim.Do(ctx, "GET", "/vehicles/"+vid+"/"+denied[0].Name)
		status(q, r, 403)
	})

// REQ_04_07_04: "The web service specification shall not be changed in any
// way, due to granting, denying, ignoring, or revoking access of included
// resources." (I-216)
var _ = op("REQ_04_07_04", "a partly granted web service keeps every key of its full answer (the withheld one null), or refuses with 403", qs("partial-drops-key"),
	func(ctx SpecContext, q harness.Requirement) {
		ws := ex.Catalogue.OfKind(exveop.KindWebService)
		if len(ws) == 0 {
			Skip("not applicable: the catalogue declares no web service of several resources")
		}
		res := ws[0]
		vid := vehicleID(ctx, q)
		full := get(ctx, "/vehicles/"+vid+"/"+res.Name)
		status(q, full, 200)
		part := ex.Client("limited").Do(ctx, "GET", "/vehicles/"+vid+"/"+res.Name)
		answered(q, part)
		if part.Status == 403 {
			check(part.Object()["exveErrorId"] != nil || part.Object()["exveErrors"] != nil, q, "an error body with the 403", "%s", part.Describe())
			return
		}
		status(q, part, 200)
		fk, pk := keySet(obj(full.Object()[res.Items])), keySet(obj(part.Object()[res.Items]))
		check(fk != "" && fk == pk, q, "the same keys as the full answer ("+fk+")", "%s: %s", pk, part.Describe())
	})

var _ = withVariants("REQ_04_07_04", "", harness.ExVeOPQuirkPrefix+"partial-grant-403")

func keySet(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

// burst reads the rate-limited resource with the short-lived client until
// a request is refused or n were made; it returns every answer.
func burst(ctx context.Context, q harness.Requirement, n int) []*respT {
	GinkgoHelper()
	vid := vehicleID(ctx, q)
	path := "/vehicles/" + vid + "/" + ex.Cfg.RateLimitedResource
	// A client of its own: limits count per accessing party (I-223), so
	// the other specs' requests do not spend this one's window, nor this
	// burst theirs.
	c := ex.Client("short")
	var out []*respT
	for i := 0; i < n; i++ {
		r := c.Do(ctx, "GET", path)
		answered(q, r)
		out = append(out, r)
		if r.Status >= 400 {
			break
		}
	}
	return out
}

// limitOf reads X-Rate-Limit-Limit.
func limitOf(r *respT) int {
	n, _ := strconv.Atoi(r.Header.Get("X-Rate-Limit-Limit"))
	return n
}

func burstSummary(rs []*respT) string {
	var b strings.Builder
	for i, r := range rs {
		fmt.Fprintf(&b, "\n  #%d %d Limit %q Remaining %q Reset %q", i+1, r.Status, r.Header.Get("X-Rate-Limit-Limit"),
			r.Header.Get("X-Rate-Limit-Remaining"), r.Header.Get("X-Rate-Limit-Reset"))
	}
	return b.String()
}

// maxBurst bounds the requests of a rate-limit spec.
const maxBurst = 400

// REQ_04_08_02: "If rate limits are applied, then the HTTP header
// 'X-Rate-Limit-Limit' should be used to indicate the request limit within
// a given time frame."
var _ = op("REQ_04_08_02", "every answer of a rate-limited resource carries the same positive X-Rate-Limit-Limit", qs("no-limit-header"),
	func(ctx SpecContext, q harness.Requirement) {
		rs := burst(ctx, q, 3)
		for _, r := range rs {
			check(limitOf(r) > 0 && r.Header.Get("X-Rate-Limit-Limit") == rs[0].Header.Get("X-Rate-Limit-Limit"), q,
				"the same positive X-Rate-Limit-Limit on every answer", "%s", burstSummary(rs))
		}
	})

// REQ_04_08_03: "... 'X-Rate-Limit-Remaining' should be used to indicate
// remaining available number of requests within the given time frame."
var _ = op("REQ_04_08_03", "X-Rate-Limit-Remaining falls by one with each request of a window", qs("remaining-constant"),
	func(ctx SpecContext, q harness.Requirement) {
		rs := burst(ctx, q, 3)
		for i := 1; i < len(rs); i++ {
			a, _ := strconv.Atoi(rs[i-1].Header.Get("X-Rate-Limit-Remaining"))
			b, err := strconv.Atoi(rs[i].Header.Get("X-Rate-Limit-Remaining"))
			sameWindow := rs[i-1].Header.Get("X-Rate-Limit-Reset") == rs[i].Header.Get("X-Rate-Limit-Reset")
			check(err == nil && (!sameWindow || b == a-1), q, "Remaining one less on each answer of the same window", "%s", burstSummary(rs))
		}
	})

// REQ_04_08_04: "... 'X-Rate-Limit-Reset' should indicate the time in UTC,
// expressed as seconds since 01.01.1970 (unix timestamp, epoch [8]), when
// the 'X-Rate-Limit-Remaining' is reset to 'X-Rate-Limit-Limit'." (I-223)
var _ = op("REQ_04_08_04", "X-Rate-Limit-Reset is a Unix time not before the answer", qs("reset-relative"),
	func(ctx SpecContext, q harness.Requirement) {
		rs := burst(ctx, q, 2)
		for _, r := range rs {
			n, err := strconv.ParseInt(r.Header.Get("X-Rate-Limit-Reset"), 10, 64)
			check(err == nil && n >= r.At.Unix(), q, "a Unix time (seconds, UTC) at or after the answer ("+strconv.FormatInt(r.At.Unix(), 10)+")", "%s", burstSummary(rs))
		}
	})

// REQ_04_08_06: "When the rate limit is exceeded, HTTP 429 shall be returned
// "Too Many Requests"."
var _ = op("REQ_04_08_06", "the request over X-Rate-Limit-Limit gets 429, and after X-Rate-Limit-Reset requests pass again", qs("rate-limit-403"),
	func(ctx SpecContext, q harness.Requirement) {
		first := burst(ctx, q, 1)
		limit := limitOf(first[0])
		if limit <= 0 || limit > maxBurst {
			Skip(fmt.Sprintf("not applicable: X-Rate-Limit-Limit %q is none the suite can exceed within its budget", first[0].Header.Get("X-Rate-Limit-Limit")))
		}
		rs := append(first, burst(ctx, q, limit+1)...)
		last := rs[len(rs)-1]
		check(last.Status == 429, q, fmt.Sprintf("429 once the %d requests of the window are spent", limit), "%s", burstSummary(rs))
		reset, _ := strconv.ParseInt(last.Header.Get("X-Rate-Limit-Reset"), 10, 64)
		wait := time.Until(time.Unix(reset, 0)) + 50*time.Millisecond
		if wait > time.Minute && run.Profile.Clock.Mode == "scaled" {
			fail(q, "a reset within a wall minute on the scaled clock", "Reset %d", reset)
		}
		time.Sleep(max(wait, 0))
		again := burst(ctx, q, 1)
		check(again[0].Status == 200, q, "a request after X-Rate-Limit-Reset passes", "%s", burstSummary(again))
	})

// REQ_04_08_06, accessing party: after a 429 it waits for the reset.
var _ = ap("REQ_04_08_06", "after a 429 it sends no request to the resource before X-Rate-Limit-Reset", aqs("ignore-429"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		path := ex.Base.Path + "/vehicles/" + vid + "/odometers"
		window := run.Clock.Wall(20 * time.Second)
		run.Faults.Set(center.Fault{Service: exveop.ServiceName, PathPrefix: path, RateLimit: &center.RateWindow{Limit: 2, Window: window}})
		t0 := time.Now()
		_ = ex.DUTAP.Do(ctx, exveap.ActionBurst, map[string]string{"path": "/vehicles/" + vid + "/odometers", "useCase": "odometer", "count": "4"})
		at := exveAttempts(t0, func(a harness.Attempt) bool { return a.Path == path })
		check(len(at) >= 3, q, "at least three reads (the third over the limit of 2)", "%s", timelineOf(at))
		end := at[0].ReceivedAt.Add(window)
		reset := time.Unix(end.Unix(), 0)
		if end.After(reset) {
			reset = reset.Add(time.Second)
		}
		for i, a := range at {
			if a.Status != 429 || i+1 >= len(at) {
				continue
			}
			next := at[i+1]
			check(!next.ReceivedAt.Before(reset.Add(-run.Profile.Tolerance.WallJitter)), q,
				"the next read at or after X-Rate-Limit-Reset "+reset.UTC().Format(time.RFC3339), "it came %v before:\n%s", reset.Sub(next.ReceivedAt).Round(time.Millisecond), timelineOf(at))
		}
	})
