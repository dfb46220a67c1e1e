package exve_test

// 4.2: resources, URIs, filtering, sorting, subsets, IDs, paging,
// wildcards, anonymized access, push resources, the accessing party's base
// URI.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	hx "github.com/icoc-dev/icoc/harness/exve"
	exveop "github.com/icoc-dev/icoc/simulator/exve"
	"github.com/icoc-dev/icoc/simulator/exveap"
	. "github.com/onsi/ginkgo/v2"
)

// discovered returns the entries of resource discovery for the profile's
// vehicle, or, without discovery, the catalogue's per-vehicle resources
// as entries; and the vehicle ID.
func discovered(ctx context.Context, q harness.Requirement) ([]map[string]any, string) {
	GinkgoHelper()
	vid := vehicleID(ctx, q)
	var out []map[string]any
	if run.Profile.Has("exve-discovery") {
		r := get(ctx, "/vehicles/"+vid+"/resources/")
		status(q, r, 200)
		for _, e := range items(r, "resources") {
			out = append(out, obj(e))
		}
		return out, vid
	}
	for _, res := range ex.Catalogue.Resources {
		if res.PerVehicle() {
			out = append(out, map[string]any{"name": res.Name, "href": ex.URL(strings.ReplaceAll(res.Path, "{vehicleId}", vid))})
		}
	}
	return out, vid
}

var camelRe = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// REQ_04_02_01: "Information on the server shall be exposed as resources
// expressed as plural nouns." (I-200)
var _ = op("REQ_04_02_01", "every resource it exposes is named by a plural noun", qs("singular-resource"),
	func(ctx SpecContext, q harness.Requirement) {
		entries, _ := discovered(ctx, q)
		names := []string{"vehicles"}
		for _, e := range entries {
			n, _ := e["name"].(string)
			names = append(names, n)
		}
		for _, n := range names {
			check(strings.HasSuffix(n, "s") || slices.Contains(ex.Catalogue.PluralExceptions, n), q,
				"plural resource names (ending in s, or declared plural_exceptions)", "resource %q in %s", n, jsonString(entries))
		}
	})

// REQ_04_02_10: "All URI elements shall be written in lower camel case
// notation." (I-200)
var _ = op("REQ_04_02_10", "every element of its resource URIs but the IDs is lower camel case", qs("uri-not-camel"),
	func(ctx SpecContext, q harness.Requirement) {
		entries, vid := discovered(ctx, q)
		for _, e := range entries {
			h, _ := e["href"].(string)
			u, err := url.Parse(h)
			check(err == nil, q, "an href that is a URI", "%q", h)
			for _, el := range strings.Split(strings.Trim(u.Path, "/"), "/") {
				if el == vid || el == url.PathEscape(vid) {
					continue
				}
				check(camelRe.MatchString(el), q, "URI elements in lower camel case (^[a-z][a-zA-Z0-9]*$)", "element %q of %s", el, h)
			}
		}
	})

// REQ_04_02_02: "The exposed resources shall be uniquely identified in the
// form of Uniform Resource Identifiers (URIs)."
var _ = op("REQ_04_02_02", "each resource it lists has a URI of its own that serves that resource", qs("duplicate-href"),
	func(ctx SpecContext, q harness.Requirement) {
		entries, _ := discovered(ctx, q)
		seen := map[string]string{}
		for _, e := range entries {
			h, _ := e["href"].(string)
			n, _ := e["name"].(string)
			check(h != "", q, "a URI for every resource", "entry %s", jsonString(e))
			check(seen[h] == "", q, "one URI per resource", "%s and %s both at %s", seen[h], n, h)
			seen[h] = n
			res, ok := ex.Catalogue.ByName(n)
			if !ok || !res.Supports("GET") {
				continue
			}
			r := get(ctx, h)
			status(q, r, 200)
			check(strings.Contains(r.Header.Get("Content-Type"), res.UseCase+".v") || r.Object()[res.Items] != nil, q,
				"the URI of "+n+" serves "+n, "%s", r.Describe())
		}
	})

// itemsOf reads the items of a data resource in version v ("" latest).
func itemsOf(ctx context.Context, q harness.Requirement, vid string, res exveop.Resource, v string) []map[string]any {
	GinkgoHelper()
	accept := "application/json"
	if v != "" {
		accept += "; exve-resourceversion=" + res.VersionValue(v)
	}
	r := get(ctx, "/vehicles/"+vid+"/"+res.Name, hx.Accept(accept))
	status(q, r, 200)
	var out []map[string]any
	for _, it := range items(r, res.Items) {
		out = append(out, obj(it))
	}
	return out
}

// REQ_04_02_06: "The offering party should have the possibility to extend
// resources, but shall not be able to reduce resources."
var _ = op("REQ_04_02_06", "a newer minor version of a resource keeps every data item of the older one", qs("minor-drops-field"),
	func(ctx SpecContext, q harness.Requirement) {
		judged := 0
		for _, res := range ex.Catalogue.OfKind(exveop.KindData) {
			if len(res.Versions) < 2 {
				continue
			}
			vid := sampleVehicle(ctx, q, res.Name)
			for i := 1; i < len(res.Versions); i++ {
				older, newer := res.Versions[i-1].Version, res.Versions[i].Version
				if strings.Split(older, ".")[0] != strings.Split(newer, ".")[0] {
					continue // a new major may change the representation (NOTE 1)
				}
				o, n := itemsOf(ctx, q, vid, res, older), itemsOf(ctx, q, vid, res, newer)
				check(len(o) > 0 && len(n) > 0, q, "items of "+res.Name+" in "+older+" and "+newer, "%d and %d", len(o), len(n))
				for k := range o[0] {
					_, ok := n[0][k]
					check(ok, q, fmt.Sprintf("%s %s keeps every data item of %s", res.Name, newer, older),
						"%s lacks %q: %s has %s, %s has %s", newer, k, older, jsonString(o[0]), newer, jsonString(n[0]))
				}
				judged++
			}
		}
		if judged == 0 {
			Skip("not applicable: the catalogue declares no resource with two minor versions of one major")
		}
	})

// REQ_04_02_07: "Aggregated resources shall only include or cross-reference
// necessary data items for the complete and correct operation of the
// related use case." (I-200: judged against the declared catalogue)
var _ = op("REQ_04_02_07", "an item carries only the data items its use case declares", qs("extra-field"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, res := range ex.Catalogue.OfKind(exveop.KindData) {
			vid := sampleVehicle(ctx, q, res.Name)
			for _, v := range res.Versions {
				for _, it := range itemsOf(ctx, q, vid, res, v.Version) {
					for k := range it {
						check(slices.Contains(v.Fields, k) || strings.HasPrefix(k, "exve"), q,
							fmt.Sprintf("only the data items %v of %s", v.Fields, res.VersionValue(v.Version)), "item %s has %q", jsonString(it), k)
					}
				}
			}
		}
	})

// REQ_04_02_09: "Each use case shall define how the HTTP operations GET,
// POST, PUT, PATCH, and DELETE are supported for each defined resource and
// what the response for each operation is." (I-201)
var _ = op("REQ_04_02_09", "a method a resource does not declare (DELETE on a read-only resource) is refused with 405 or 501 and changes nothing", qs("delete-anything"),
	func(ctx SpecContext, q harness.Requirement) {
		var res exveop.Resource
		for _, r := range ex.Catalogue.OfKind(exveop.KindData) {
			if !r.Supports("DELETE") {
				res = r
				break
			}
		}
		if res.Name == "" {
			Skip("not applicable: every data resource declares DELETE")
		}
		vid := sampleVehicle(ctx, q, res.Name)
		before := itemsOf(ctx, q, vid, res, "")
		r := opc().Do(ctx, "DELETE", "/vehicles/"+vid+"/"+res.Name)
		status(q, r, 405, 501)
		after := itemsOf(ctx, q, vid, res, "")
		check(len(after) >= len(before), q, "the resource unchanged", "%d items before, %d after", len(before), len(after))
	})

// REQ_04_02_11: "Relations of entities shall be expressed using
// subresources." Table 4: {baseURI}/{entities}/{ID}/{entities2}/{ID2}.
var _ = op("REQ_04_02_11", "an entity of an entity is served at {b}/vehicles/{id}/{entities2}/{id2}", qs("flat-ecu-uri"),
	func(ctx SpecContext, q harness.Requirement) {
		subs := ex.Catalogue.OfKind(exveop.KindSubEntity)
		if len(subs) == 0 {
			Skip("not applicable: the catalogue declares no entity of a vehicle")
		}
		res := subs[0]
		vid := sampleVehicle(ctx, q, res.Name)
		list := get(ctx, "/vehicles/"+vid+"/"+res.Name)
		status(q, list, 200)
		for _, it := range items(list, res.Items) {
			id := fmt.Sprint(obj(it)["id"])
			r := get(ctx, "/vehicles/"+vid+"/"+res.Name+"/"+url.PathEscape(id))
			status(q, r, 200)
			got, _ := findKey(r.JSON(), "id")
			check(fmt.Sprint(got) == id, q, "the "+res.UseCase+" "+id+" of vehicle "+vid, "%s", r.Describe())
		}
	})

// REQ_04_02_12: "A resource shall be placed after the entity to which it
// belongs in the URI." Table 5: {baseURI}/{entities}/{ID}/{resource}.
var _ = op("REQ_04_02_12", "every per-vehicle resource is served at {b}/vehicles/{id}/{resource}", qs("resource-before-entity"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		for _, res := range ex.Catalogue.Resources {
			if !res.PerVehicle() || !res.Supports("GET") {
				continue
			}
			r := get(ctx, "/vehicles/"+vid+"/"+res.Name)
			status(q, r, 200)
		}
	})

// timestamps returns the items' timestamps in order.
func timestamps(its []map[string]any) []time.Time {
	var out []time.Time
	for _, it := range its {
		if t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(it["timestamp"])); err == nil {
			out = append(out, t)
		}
	}
	return out
}

// REQ_04_02_13: "If filtering of the response is needed, query parameters
// shall be used." Table 6: ?startDate=...&endDate=... (ISO 8601).
var _ = op("REQ_04_02_13", "startDate and endDate select exactly the items of the date range", qs("ignore-date-filter"),
	func(ctx SpecContext, q harness.Requirement) {
		res := firstData()
		vid := sampleVehicle(ctx, q, res.Name)
		all := timestamps(itemsOf(ctx, q, vid, res, ""))
		if len(all) < 3 {
			for i := 0; i < 3; i++ {
				pushData(ctx)
				time.Sleep(run.Clock.Wall(2 * time.Second))
			}
			vid = vehicleID(ctx, q)
			eventually(ctx, time.Minute, func() bool { all = timestamps(itemsOf(ctx, q, vid, res, "")); return len(all) >= 3 })
		}
		sort.Slice(all, func(i, j int) bool { return all[i].Before(all[j]) })
		check(len(all) >= 3, q, "three items to filter", "%d", len(all))
		from, to := all[1], all[len(all)-2]
		want := 0
		for _, t := range all {
			if !t.Before(from) && !t.After(to) {
				want++
			}
		}
		path := fmt.Sprintf("/vehicles/%s/%s?startDate=%s&endDate=%s", vid, res.Name, url.QueryEscape(from.Format(time.RFC3339Nano)), url.QueryEscape(to.Format(time.RFC3339Nano)))
		r := get(ctx, path)
		status(q, r, 200)
		var got []map[string]any
		for _, it := range items(r, res.Items) {
			got = append(got, obj(it))
		}
		ts := timestamps(got)
		for _, t := range ts {
			check(!t.Before(from) && !t.After(to), q, "only items from "+from.Format(time.RFC3339Nano)+" to "+to.Format(time.RFC3339Nano), "an item at %s", t.Format(time.RFC3339Nano))
		}
		check(len(ts) == want, q, fmt.Sprintf("the %d items of the range", want), "%d: %s", len(ts), r.Describe())
	})

// firstData is the catalogue's first data resource.
func firstData() exveop.Resource {
	d := ex.Catalogue.OfKind(exveop.KindData)
	if len(d) == 0 {
		Skip("not applicable: the catalogue declares no data resource")
	}
	return d[0]
}

// REQ_04_02_14: "If sorting is needed, query parameters shall be used."
// Table 7: ?sortField=id&sortOrder=asc.
var _ = op("REQ_04_02_14", "sortField=id&sortOrder=asc and =desc list the vehicles in opposite orders", qs("sort-ignored"),
	func(ctx SpecContext, q harness.Requirement) {
		asc := get(ctx, "/vehicles?sortField=id&sortOrder=asc&limit=100000")
		desc := get(ctx, "/vehicles?sortField=id&sortOrder=desc&limit=100000")
		status(q, asc, 200)
		status(q, desc, 200)
		a, d := strings.Split(idsOf(asc), ","), strings.Split(idsOf(desc), ",")
		check(sort.StringsAreSorted(a), q, "ascending IDs for sortOrder=asc", "%v", a)
		rev := slices.Clone(d)
		slices.Reverse(rev)
		check(len(a) > 1 && slices.Equal(a, rev), q, "sortOrder=desc the reverse of asc", "asc %v\ndesc %v", a, d)
	})

// REQ_04_02_15: "If selection of subsets of resources is needed, query
// parameters shall be used." Table 8: ?id=123&id=124.
var _ = op("REQ_04_02_15", "?id=a&id=b lists exactly vehicles a and b", qs("id-filter-first-only"),
	func(ctx SpecContext, q harness.Requirement) {
		ids := vehicleIDs(ctx, q, 5)
		if len(ids) < 3 {
			Skip("not applicable: fewer than three vehicles to choose from")
		}
		want := []string{ids[0], ids[2]}
		r := get(ctx, "/vehicles?id="+url.QueryEscape(want[0])+"&id="+url.QueryEscape(want[1]))
		status(q, r, 200)
		got := strings.Split(idsOf(r), ",")
		sort.Strings(got)
		sort.Strings(want)
		check(slices.Equal(got, want), q, fmt.Sprintf("exactly %v", want), "%v", got)
	})

var idSchemeRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// REQ_04_02_16: "Pseudonymized IDs may be simple numerical IDs, UUIDs or
// any other alphanumeric scheme."
var _ = op("REQ_04_02_16", "every vehicle ID it lists is alphanumeric and addresses that vehicle", qs("pseudonym-not-addressable"),
	func(ctx SpecContext, q harness.Requirement) {
		ids := vehicleIDs(ctx, q, 5)
		check(len(ids) > 0, q, "vehicles", "none")
		for _, id := range ids {
			check(idSchemeRe.MatchString(id), q, "an alphanumeric ID (numerical, UUID or other)", "%q", id)
			r := get(ctx, "/vehicles/"+url.PathEscape(id))
			status(q, r, 200)
			got, _ := findKey(r.JSON(), "id")
			check(fmt.Sprint(got) == id, q, "GET {b}/vehicles/"+id+" answers vehicle "+id, "%s", r.Describe())
		}
	})

// pagedIDs pages through /vehicles k at a time from the profile's first
// index (I-227).
func pagedIDs(ctx context.Context, q harness.Requirement, k int) []string {
	var out []string
	for start := ex.Cfg.PagingStart; ; start += k {
		r := get(ctx, fmt.Sprintf("/vehicles?sortField=id&start=%d&limit=%d", start, k))
		status(q, r, 200)
		page := idsOf(r)
		if page == "" {
			return out
		}
		out = append(out, strings.Split(page, ",")...)
		if len(out) > 100000 {
			return out
		}
	}
}

// REQ_04_02_17: "For large resource responses pagination may be used."
// Table 10: ?start={value}&limit={count} (I-227).
var _ = op("REQ_04_02_17", "consecutive pages of start and limit cover the whole list once, in order", qs("paging-off-by-one"),
	func(ctx SpecContext, q harness.Requirement) {
		full := get(ctx, "/vehicles?sortField=id&limit=100000")
		status(q, full, 200)
		all := strings.Split(idsOf(full), ",")
		pages := pagedIDs(ctx, q, 7)
		check(slices.Equal(all, pages), q, fmt.Sprintf("pages of 7 from start=%d giving the %d vehicles once, in order", ex.Cfg.PagingStart, len(all)),
			"%d IDs: %v\nthe whole list: %v", len(pages), pages, all)
	})

// REQ_04_02_18: "... may return the total amount of results. If used, it
// shall be part of the message body using the keyword “exveTotal”." (I-210)
var _ = op("REQ_04_02_18", "exveTotal on a page is the count of all results, as a number or a string of digits", qs("total-page-count"),
	func(ctx SpecContext, q harness.Requirement) {
		full := get(ctx, "/vehicles?limit=100000")
		status(q, full, 200)
		n := len(items(full, "vehicles"))
		r := get(ctx, "/vehicles?limit=5")
		status(q, r, 200)
		v, ok := findKey(r.JSON(), "exveTotal")
		if !ok {
			Skip("not applicable: the offering party gives no exveTotal")
		}
		var total int
		switch t := v.(type) {
		case string:
			var err error
			total, err = strconv.Atoi(t)
			check(err == nil, q, "exveTotal a number or a string of digits", "%q", t)
		case float64:
			total = int(t)
			check(float64(total) == t, q, "exveTotal a whole number", "%v", t)
		default:
			fail(q, "exveTotal a number or a string of digits", "%s", jsonString(v))
		}
		check(total == n, q, fmt.Sprintf("exveTotal %d (all results, not the page's 5)", n), "%d in %s", total, r.Describe())
	})

var _ = withVariants("REQ_04_02_18", "", harness.ExVeOPQuirkPrefix+"exve-total-number")

// wildcardRes is the catalogue's first resource with wildcard access.
func wildcardRes() exveop.Resource {
	for _, r := range ex.Catalogue.Resources {
		if r.Wildcard && r.PerVehicle() {
			return r
		}
	}
	Skip("not applicable: the catalogue declares no wildcard access")
	return exveop.Resource{}
}

func wildcardVehicles(r *respT, res exveop.Resource) map[string]bool {
	got := map[string]bool{}
	for _, it := range items(r, res.Items) {
		got[fmt.Sprint(obj(it)["vehicleId"])] = true
	}
	return got
}

// REQ_04_02_19: "If wildcards are used, a wildcard (*) shall access all
// subentities or resources of all parent entities." (I-221)
var _ = op("REQ_04_02_19", "{b}/vehicles/*/{resource} gives the resource of every vehicle that has it", qs("wildcard-first-only"),
	func(ctx SpecContext, q harness.Requirement) {
		res := wildcardRes()
		r := get(ctx, "/vehicles/*/"+res.Name+"?limit=1000000")
		status(q, r, 200)
		got := wildcardVehicles(r, res)
		n := 0
		for _, id := range vehicleIDs(ctx, q, 8) {
			one := get(ctx, "/vehicles/"+url.PathEscape(id)+"/"+res.Name)
			if one.Status != 200 || len(items(one, res.Items)) == 0 {
				continue
			}
			n++
			check(got[id], q, "vehicle "+id+"'s "+res.Name+" in the wildcard answer", "vehicles in it: %v", keys(got))
		}
		check(n > 0, q, "vehicles with "+res.Name, "none among the first 8")
	})

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// REQ_04_02_20: "If wildcards are used, a wildcard (*) may be combined
// with other filtering, including IDs, to access a smaller number of
// entities." Table 12: {b}/vehicles/*/odometers?id=456&id=789.
var _ = op("REQ_04_02_20", "{b}/vehicles/*/{resource}?id=a&id=b gives the resource of vehicles a and b only", qs("wildcard-ignores-id"),
	func(ctx SpecContext, q harness.Requirement) {
		res := wildcardRes()
		var with []string
		for _, id := range vehicleIDs(ctx, q, 10) {
			if one := get(ctx, "/vehicles/"+url.PathEscape(id)+"/"+res.Name); one.Status == 200 && len(items(one, res.Items)) > 0 {
				with = append(with, id)
			}
		}
		if len(with) < 3 {
			Skip("not applicable: fewer than three vehicles with " + res.Name)
		}
		r := get(ctx, "/vehicles/*/"+res.Name+"?id="+url.QueryEscape(with[0])+"&id="+url.QueryEscape(with[2])+"&limit=1000000")
		status(q, r, 200)
		got := wildcardVehicles(r, res)
		check(len(got) == 2 && got[with[0]] && got[with[2]], q, fmt.Sprintf("the %s of %s and %s only", res.Name, with[0], with[2]), "vehicles %v", keys(got))
	})

// REQ_04_02_21: "For fully anonymized access, no entity IDs shall be used
// in the URIs." (I-236: nor in the body.)
var _ = op("REQ_04_02_21", "an anonymized resource takes no entity ID and names none of the vehicles", qs("anonymized-leaks-id"),
	func(ctx SpecContext, q harness.Requirement) {
		anon := ex.Catalogue.OfKind(exveop.KindAnonymized)
		if len(anon) == 0 {
			Skip("not applicable: the catalogue declares no anonymized resource")
		}
		ids := vehicleIDs(ctx, q, 1000)
		vins := map[string]bool{}
		for _, v := range items(get(ctx, "/vehicles?limit=1000"), "vehicles") {
			vins[fmt.Sprint(obj(v)["vin"])] = true
		}
		for _, res := range anon {
			check(!strings.Contains(res.Path, "{"), q, "a URI without entity IDs", "%s", res.Path)
			r := get(ctx, res.Path+"?limit=100000")
			status(q, r, 200)
			body := string(r.Body)
			check(len(items(r, res.Items)) > 0, q, "anonymized items", "%s", r.Describe())
			for _, id := range append(ids, keys(vins)...) {
				check(!strings.Contains(body, `"`+id+`"`), q, "no vehicle ID or VIN in the anonymized answer", "%q appears in %s", id, r.Describe())
			}
		}
	})

// REQ_04_02_22: "A push resource shall be suffixed with subscriptions."
// Table 14: {baseURI}/{resource}Subscriptions.
var _ = op("REQ_04_02_22", "every push resource is {resource}Subscriptions and is served there", qs("subscription-suffix"),
	func(ctx SpecContext, q harness.Requirement) {
		n := 0
		for _, res := range ex.Catalogue.Resources {
			if res.Subscription == "" {
				continue
			}
			n++
			check(strings.HasSuffix(res.Subscription, "Subscriptions"), q, "a push resource named {resource}Subscriptions", "%q", res.Subscription)
			r := get(ctx, "/"+res.Subscription)
			status(q, r, 200)
		}
		if n == 0 {
			Skip("not applicable: the catalogue declares no push resource")
		}
	})

// REQ_04_02_23: "The accessing party shall define the base URIs of the web
// services offered by the accessing party."
var _ = ap("REQ_04_02_23", "its subscription profile names an absolute https callbackBaseURI at which its callback answers", aqs("http-callback"),
	func(ctx SpecContext, q harness.Requirement) {
		t := tap(exveop.ServiceName, "Subscriptions")
		vid := vehicleID(ctx, q)
		err := ex.DUTAP.Do(ctx, exveap.ActionSubscribe, map[string]string{"resource": "odometerSubscriptions", "vehicleId": vid})
		bodies := t.all()
		check(len(bodies) > 0, q, "a subscription request of the accessing party", "none (action: %v)", err)
		var m struct {
			Profile map[string]any `json:"profile"`
		}
		_ = json.Unmarshal(bodies[len(bodies)-1], &m)
		cb, _ := m.Profile["callbackBaseURI"].(string)
		u, perr := url.Parse(cb)
		check(perr == nil && u.Scheme == "https" && u.Host != "", q, "an absolute https callbackBaseURI", "%q in %s", cb, bodies[len(bodies)-1])
		_, derr := ex.DialTLS(ctx, hostPort(u), 0x0303, 0x0304)
		check(derr == nil, q, "a TLS callback at "+cb, "%v", derr)
		unsubscribeAll(ctx)
	})

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return u.Hostname() + ":443"
}

// unsubscribeAll deletes the subscriptions the harness's offering party
// holds for the accessing party DUT (its own state: set-up, not judging).
func unsubscribeAll(ctx context.Context) {
	if ex.OP == nil {
		return
	}
	ex.OP.DropSubscriptions()
}

// The specs that address vehicles by the IDs the offering party lists must
// pass whether those are VINs or pseudonyms (REQ_04_02_16).
var _ = withVariants("REQ_04_02_15", "", harness.ExVeOPQuirkPrefix+"pseudonymized-ids")
var _ = withVariants("REQ_04_02_16", "", harness.ExVeOPQuirkPrefix+"pseudonymized-ids")
var _ = withVariants("REQ_04_02_19", "", harness.ExVeOPQuirkPrefix+"pseudonymized-ids")
var _ = withVariants("REQ_04_02_20", "", harness.ExVeOPQuirkPrefix+"pseudonymized-ids")
var _ = withVariants("REQ_04_03_13", "", harness.ExVeOPQuirkPrefix+"pseudonymized-ids")
var _ = withVariants("REQ_04_12_11", "", harness.ExVeOPQuirkPrefix+"pseudonymized-ids")
var _ = withVariants("REQ_04_13_01", "", harness.ExVeOPQuirkPrefix+"pseudonymized-ids")
var _ = withVariants("REQ_05_02_10", "", harness.ExVeOPQuirkPrefix+"pseudonymized-ids")
var _ = withVariants("4.1.2", "", harness.ExVeOPQuirkPrefix+"pseudonymized-ids")
