package exve

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/simulator/center"
)

func init() {
	q("singular-resource", "REQ_04_02_01", "exposes odometers as odometer (a singular noun)")
	q("uri-not-camel", "REQ_04_02_10", "exposes vehicleSpeeds as vehicle_speeds")
	q("duplicate-href", "REQ_04_02_02", "lists two resources of resource discovery with the same href")
	q("minor-drops-field", "REQ_04_02_06", "drops the data item unit from odometer v1.1, which v1.0 has")
	q("extra-field", "REQ_04_02_07", "adds a data item gpsPosition the odometer use case does not declare")
	q("delete-anything", "REQ_04_02_09", "answers DELETE on a read-only resource 204 instead of refusing it")
	q("flat-ecu-uri", "REQ_04_02_11", "serves an ECU as {b}/ecus/{ecuId}?vehicleId= instead of {b}/vehicles/{id}/ecus/{ecuId}")
	q("resource-before-entity", "REQ_04_02_12", "serves {b}/odometers/vehicles/{id} instead of {b}/vehicles/{id}/odometers")
	q("ignore-date-filter", "REQ_04_02_13", "ignores startDate and endDate")
	q("sort-ignored", "REQ_04_02_14", "ignores sortOrder=desc")
	q("id-filter-first-only", "REQ_04_02_15", "honours only the first of several id parameters")
	variant("pseudonymized-ids", "REQ_04_02_16", "identifies vehicles by pseudonymized IDs (UUIDs) instead of VINs")
	q("pseudonym-not-addressable", "REQ_04_02_16", "lists pseudonymized IDs but addresses vehicles by VIN only")
	q("paging-off-by-one", "REQ_04_02_17", "counts start from 1 (start=k returns the k-th result first)")
	q("total-page-count", "REQ_04_02_18", "writes exveTotal as the number of results on the page")
	variant("exve-total-number", "REQ_04_02_18", "writes exveTotal as a JSON integer instead of a string")
	q("wildcard-first-only", "REQ_04_02_19", "answers a wildcard with the first vehicle's resources only")
	q("wildcard-ignores-id", "REQ_04_02_20", "ignores id parameters on a wildcard")
	q("anonymized-leaks-id", "REQ_04_02_21", "puts each vehicle's ID into the anonymized resource")
	q("scope-ignored", "REQ_04_07_03", "serves a resource to a token without the resource's scope")
	q("partial-drops-key", "REQ_04_07_04", "drops the ungranted resource's key from a partly granted web service")
	variant("partial-grant-403", "REQ_04_07_04", "refuses a partly granted web service with 403")
	q("discovery-lists-all", "REQ_04_13_01", "lists every resource in resource discovery, granted or not")
	q("discovery-no-href", "REQ_04_13_02", "lists resources without href")
	variant("discovery-extra-keys", "REQ_04_13_03, REQ_04_14_04", "adds its own keys (description, methods) to discovery entries")
	q("capabilities-empty", "REQ_04_14_01", "lists no capabilities")
	q("capabilities-no-version", "REQ_04_14_02", "lists capabilities without version")
	q("capabilities-without-consent", "REQ_04_14_03", "serves capability discovery without the resource owner's consent")
	q("signal-raw", "4.1.2", "serves raw CAN values without the DBC's factor and offset")
	q("stale-upload", "4.1.2", "serves the data of every upload but the latest")
	q("list-206", "REQ_04_10_02", "answers a successful read 206 instead of 200")
	q("unknown-vehicle-200", "REQ_04_10_02", "answers a request for an unknown vehicle 200 with an empty list instead of 404")
	q("unacceptable-as-json", "REQ_04_10_02", "answers an Accept it cannot produce with JSON instead of 406")
}

// applyCatalogueQuirks renames resources for the naming quirks.
func (op *OfferingParty) applyCatalogueQuirks() {
	for i := range op.cat.Resources {
		r := &op.cat.Resources[i]
		rename := func(from, to string) {
			if r.Name == from && r.PerVehicle() {
				r.Name, r.Path = to, strings.TrimSuffix(r.Path, from)+to
			}
		}
		if op.q.Has("singular-resource") {
			rename("odometers", "odometer")
		}
		if op.q.Has("uri-not-camel") {
			rename("vehicleSpeeds", "vehicle_speeds")
		}
	}
}

func jsonUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func timeString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// vehicleID is how the offering party names a vehicle in URIs and bodies:
// its VIN, or its pseudonym (variant pseudonymized-ids).
func (op *OfferingParty) vehicleID(vin string) string {
	if op.q.Has("pseudonymized-ids") || op.q.Has("pseudonym-not-addressable") {
		return Pseudonym(vin)
	}
	return vin
}

// resolve finds the vehicle a URI names.
func (op *OfferingParty) resolve(id string) (string, bool) {
	if op.q.Has("pseudonym-not-addressable") {
		if _, ok := op.fleet.byPseudoLocked(id); ok {
			return "", false
		}
	}
	return op.fleet.Resolve(id)
}

func (f *Fleet) byPseudoLocked(id string) (string, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	vin, ok := f.byPseudo[id]
	return vin, ok
}

func notAllowed(op *OfferingParty, rq *req, allowed ...string) center.Answer {
	a := op.errorAnswer(rq.r, errf(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "%s is not supported on %s (it supports %s; I-201)", rq.r.Method, rq.x.Path, strings.Join(allowed, ", ")))
	a.Header.Set("Allow", strings.Join(allowed, ", "))
	return a
}

// route dispatches a request below the base URI.
func (op *OfferingParty) route(rq *req) center.Answer {
	p := rq.parts
	if len(p) == 0 {
		return op.errorAnswer(rq.r, errf(http.StatusNotFound, "NOT_FOUND", "the base URI lists nothing; see {base}/vehicles"))
	}
	switch {
	case p[0] == "vehicles":
		return op.routeVehicles(rq)
	case p[0] == "ecus" && op.q.Has("flat-ecu-uri") && len(p) == 2:
		return op.serveECU(rq, rq.query.Get("vehicleId"), p[1])
	case p[0] == "odometers" && op.q.Has("resource-before-entity") && len(p) == 3 && p[1] == "vehicles":
		res, _ := op.cat.ByName("odometers")
		return op.serveData(rq, res, p[2])
	case p[0] == "subscriptionProfiles":
		return op.serveProfiles(rq)
	case p[0] == "subscriptions" && len(p) == 1:
		return op.serveSubscriptionList(rq)
	case strings.HasSuffix(p[0], "Subscriptions") && p[0] != "containerEventSubscriptions":
		return op.serveSubscriptions(rq)
	case p[0] == "containers":
		return op.serveContainers(rq)
	case p[0] == "containerEventSubscriptions":
		return op.serveContainerSubscriptions(rq)
	}
	if op.q.Has("subscription-suffix") && strings.HasSuffix(p[0], "Pushes") {
		return op.serveSubscriptions(rq)
	}
	return op.errorAnswer(rq.r, errf(http.StatusNotFound, "NOT_FOUND", "no resource at %s", rq.x.Path))
}

func (op *OfferingParty) routeVehicles(rq *req) center.Answer {
	p := rq.parts
	switch {
	case len(p) == 1:
		if rq.r.Method != http.MethodGet {
			return notAllowed(op, rq, http.MethodGet)
		}
		return op.serveVehicleList(rq)
	case len(p) == 2 && p[1] == "vehicleSpeeds":
		if rq.r.Method != http.MethodGet {
			return notAllowed(op, rq, http.MethodGet)
		}
		res, _ := op.cat.ByPath("/vehicles/vehicleSpeeds")
		return op.serveAnonymized(rq, res)
	case len(p) == 3 && p[1] == "*":
		res, ok := op.cat.ByName(p[2])
		if !ok || !res.Wildcard || !res.PerVehicle() {
			return op.errorAnswer(rq.r, errf(http.StatusNotFound, "NOT_FOUND", "resource %s has no wildcard access", p[2]))
		}
		if rq.r.Method != http.MethodGet {
			return notAllowed(op, rq, http.MethodGet)
		}
		return op.serveWildcard(rq, res)
	case len(p) == 2:
		if rq.r.Method != http.MethodGet {
			return notAllowed(op, rq, http.MethodGet)
		}
		return op.serveVehicle(rq, p[1])
	}
	id, name := p[1], p[2]
	switch {
	case (name == "resources" || name == "capabilities") && len(p) == 3:
		if rq.r.Method != http.MethodGet {
			return notAllowed(op, rq, http.MethodGet)
		}
		if name == "resources" {
			return op.serveDiscovery(rq, id)
		}
		return op.serveCapabilities(rq, id)
	case name == "ecus" && len(p) == 4:
		if op.q.Has("flat-ecu-uri") {
			return op.errorAnswer(rq.r, errf(http.StatusNotFound, "NOT_FOUND", "no resource at %s", rq.x.Path))
		}
		if rq.r.Method != http.MethodGet {
			return notAllowed(op, rq, http.MethodGet)
		}
		return op.serveECU(rq, id, p[3])
	}
	res, ok := op.cat.ByName(name)
	if !ok || !res.PerVehicle() {
		return op.errorAnswer(rq.r, errf(http.StatusNotFound, "NOT_FOUND", "no resource %s", name))
	}
	if res.Kind == KindAsync {
		return op.serveAsync(rq, res, id)
	}
	if len(p) != 3 {
		return op.errorAnswer(rq.r, errf(http.StatusNotFound, "NOT_FOUND", "no resource at %s", rq.x.Path))
	}
	if rq.r.Method == http.MethodDelete && op.q.Has("delete-anything") {
		return center.Answer{Status: http.StatusNoContent, By: serviceName}
	}
	if !res.Supports(rq.r.Method) {
		return notAllowed(op, rq, res.Methods...)
	}
	switch res.Kind {
	case KindData:
		if op.q.Has("resource-before-entity") && res.Name == "odometers" {
			return op.errorAnswer(rq.r, errf(http.StatusNotFound, "NOT_FOUND", "no resource at %s", rq.x.Path))
		}
		return op.serveData(rq, res, id)
	case KindSubEntity:
		return op.serveECUs(rq, res, id)
	case KindWebService:
		return op.serveWebService(rq, res, id)
	}
	return op.errorAnswer(rq.r, errf(http.StatusNotFound, "NOT_FOUND", "no resource at %s", rq.x.Path))
}

// admit checks a read of res as every resource read is checked, in this
// order: the token's scope, then the media type and version the request
// accepts; it returns the negotiated media type and version, or the first
// error.
func (op *OfferingParty) admit(rq *req, res Resource) (string, Version, *apiError) {
	if e := op.scopeCheck(rq, res.Scope); e != nil {
		return "", Version{}, e
	}
	return op.negotiate(rq.r, res)
}

// scopeCheck refuses a token without the resource's scope (REQ_04_07_03).
func (op *OfferingParty) scopeCheck(rq *req, scope string) *apiError {
	if rq.g.has(scope) || op.q.Has("scope-ignored") {
		return nil
	}
	return errf(http.StatusForbidden, "FORBIDDEN", "the token does not grant %s (it grants %s)", scope, strings.Join(rq.g.scopes, " "))
}

// listQuery is the query parameters of a list (4.2): id filters, a date
// range, sorting and paging.
type listQuery struct {
	ids        []string
	start, end time.Time
	sortField  string
	desc       bool
	offset     int
	limit      int
	paged      bool
}

func (op *OfferingParty) parseList(rq *req, sortFields ...string) (listQuery, *apiError) {
	q := rq.query
	lq := listQuery{limit: -1}
	lq.ids = q["id"]
	if op.q.Has("id-filter-first-only") && len(lq.ids) > 1 {
		lq.ids = lq.ids[:1]
	}
	var errs []*apiError
	for _, k := range []string{"startDate", "endDate"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			errs = append(errs, errf(http.StatusBadRequest, "BAD_DATE", "%s=%q is not an ISO 8601 date-time (e.g. 2026-06-01T12:00:00Z)", k, v))
			continue
		}
		if op.q.Has("ignore-date-filter") {
			continue
		}
		if k == "startDate" {
			lq.start = t
		} else {
			lq.end = t
		}
	}
	lq.sortField = q.Get("sortField")
	if lq.sortField != "" && !containsString(sortFields, lq.sortField) {
		errs = append(errs, errf(http.StatusBadRequest, "BAD_SORT_FIELD", "sortField=%q: this resource sorts by %s", lq.sortField, strings.Join(sortFields, ", ")))
	}
	switch so := q.Get("sortOrder"); so {
	case "", "asc":
	case "desc":
		lq.desc = !op.q.Has("sort-ignored")
	default:
		errs = append(errs, errf(http.StatusBadRequest, "BAD_SORT_ORDER", "sortOrder=%q: asc or desc", so))
	}
	for _, k := range []string{"start", "limit"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, errf(http.StatusBadRequest, "BAD_PAGING", "%s=%q is not a non-negative integer", k, v))
			continue
		}
		lq.paged = true
		if k == "start" {
			lq.offset = n
			if op.q.Has("paging-off-by-one") && n > 0 {
				lq.offset = n - 1
			}
		} else {
			lq.limit = n
		}
	}
	if len(errs) > 0 {
		e := errs[0]
		e.more = errs[1:]
		return lq, e
	}
	return lq, nil
}

// page applies offset and limit; it returns the page and the total.
func page[T any](items []T, lq listQuery) ([]T, int) {
	total := len(items)
	if lq.offset >= len(items) {
		return []T{}, total
	}
	items = items[lq.offset:]
	if lq.limit >= 0 && lq.limit < len(items) {
		items = items[:lq.limit]
	}
	return items, total
}

func (op *OfferingParty) total(n, onPage int) any {
	if op.q.Has("total-page-count") {
		n = onPage
	}
	if op.q.Has("exve-total-number") {
		return n
	}
	return strconv.Itoa(n)
}

func (lq listQuery) inRange(t time.Time) bool {
	return (lq.start.IsZero() || !t.Before(lq.start)) && (lq.end.IsZero() || !t.After(lq.end))
}

// serveVehicleList is GET {b}/vehicles: every vehicle, filtered by id,
// sorted, paged.
func (op *OfferingParty) serveVehicleList(rq *req) center.Answer {
	res, _ := op.cat.ByPath("/vehicles")
	mt, ver, e := op.admit(rq, res)
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	lq, e := op.parseList(rq, "id", "vin", "firstSeen", "lastSeen")
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	want := map[string]bool{}
	for _, id := range lq.ids {
		if vin, ok := op.resolve(id); ok {
			want[vin] = true
		} else {
			want["\x00"+id] = true // an unknown ID matches nothing
		}
	}
	// Sort and page light references; render only the page.
	type vref struct {
		vin, id     string
		first, last time.Time
	}
	var refs []vref
	op.fleet.Each(func(v *Vehicle) {
		if len(want) > 0 && !want[v.VIN] {
			return
		}
		refs = append(refs, vref{vin: v.VIN, id: op.vehicleID(v.VIN), first: v.FirstSeen, last: v.LastSeen})
	})
	less := func(a, b vref) bool {
		switch lq.sortField {
		case "vin":
			return a.vin < b.vin
		case "firstSeen":
			return a.first.Before(b.first)
		case "lastSeen":
			return a.last.Before(b.last)
		}
		return a.id < b.id
	}
	sort.SliceStable(refs, func(i, j int) bool {
		if lq.desc {
			return less(refs[j], refs[i])
		}
		return less(refs[i], refs[j])
	})
	pg, total := page(refs, lq)
	items := make([]any, 0, len(pg))
	for _, r := range pg {
		op.fleet.View(r.vin, func(v *Vehicle) { items = append(items, op.vehicleItem(v, ver)) })
	}
	return op.reply(op.okStatus(), mt, &res, ver, obj{res.Items: items, "exveTotal": op.total(total, len(pg))})
}

func (op *OfferingParty) okStatus() int {
	if op.q.Has("list-206") {
		return http.StatusPartialContent
	}
	return http.StatusOK
}

func anyList(items []obj) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}

func (op *OfferingParty) vehicleItem(v *Vehicle, ver Version) obj {
	full := obj{"id": op.vehicleID(v.VIN), "vin": v.VIN, "firstSeen": timeString(v.FirstSeen), "lastSeen": timeString(v.LastSeen)}
	out := obj{}
	for _, f := range ver.Fields {
		if val, ok := full[f]; ok {
			out[f] = val
		}
	}
	return out
}

// sortItems sorts by sortField (def when none), descending on request.
func sortItems(items []obj, lq listQuery, def string) {
	field := lq.sortField
	if field == "" {
		field = def
	}
	less := func(a, b any) bool {
		switch x := a.(type) {
		case string:
			y, _ := b.(string)
			return x < y
		case float64:
			y, _ := b.(float64)
			return x < y
		case int64:
			y, _ := b.(int64)
			return x < y
		}
		return false
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i][field], items[j][field]
		if lq.desc {
			return less(b, a)
		}
		return less(a, b)
	})
}

// serveVehicle is GET {b}/vehicles/{id}.
func (op *OfferingParty) serveVehicle(rq *req, id string) center.Answer {
	res, _ := op.cat.ByPath("/vehicles")
	mt, ver, e := op.admit(rq, res)
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	vin, ok := op.resolve(id)
	if !ok {
		return op.unknownVehicle(rq, id)
	}
	var item obj
	op.fleet.View(vin, func(v *Vehicle) { item = op.vehicleItem(v, ver) })
	return op.reply(op.okStatus(), mt, &res, ver, obj{res.UseCase: item})
}

func (op *OfferingParty) unknownVehicle(rq *req, id string) center.Answer {
	if op.q.Has("unknown-vehicle-200") {
		return op.reply(http.StatusOK, mtJSON, nil, Version{}, obj{"vehicles": []any{}})
	}
	return op.errorAnswer(rq.r, errf(http.StatusNotFound, "UNKNOWN_VEHICLE", "no vehicle %s", id))
}

// dataItem renders one sample of a data resource in version ver.
func (op *OfferingParty) dataItem(res Resource, ver Version, s Sample) obj {
	o := obj{}
	unitRef := ""
	for _, f := range ver.Fields {
		if ref, ok := res.Signals[f]; ok && unitRef == "" {
			unitRef = ref
		}
	}
	for _, f := range ver.Fields {
		switch f {
		case "timestamp":
			o[f] = timeString(s.At)
		case "unit":
			if op.q.Has("minor-drops-field") && res.UseCase == "odometer" && ver.Version != res.Versions[0].Version {
				continue
			}
			o[f] = unitOf(unitRef)
		default:
			ref, ok := res.Signals[f]
			if !ok {
				continue
			}
			_, sig := signalRef(ref)
			o[f] = physical(ref, s.Values[sig], op.q.Has("signal-raw"))
		}
	}
	if op.q.Has("extra-field") && res.UseCase == "odometer" {
		o["gpsPosition"] = obj{"latitude": 35.08, "longitude": 137.15}
	}
	return o
}

// seriesOf is the bench-DBC message a data resource's signals come from.
func seriesOf(res Resource) string {
	for _, ref := range res.Signals {
		m, _ := signalRef(ref)
		return m
	}
	return ""
}

// samples returns vehicle vin's samples of res within lq's date range, in
// time order.
func (op *OfferingParty) samples(vin string, res Resource, lq listQuery) []Sample {
	var out []Sample
	op.fleet.View(vin, func(v *Vehicle) {
		for _, s := range v.Series[seriesOf(res)] {
			if lq.inRange(s.At) {
				out = append(out, s)
			}
		}
	})
	return out
}

// serveData is GET {b}/vehicles/{id}/{resource}: a vehicle's samples,
// filtered by date, sorted, paged.
func (op *OfferingParty) serveData(rq *req, res Resource, id string) center.Answer {
	mt, ver, e := op.admit(rq, res)
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	vin, ok := op.resolve(id)
	if !ok {
		return op.unknownVehicle(rq, id)
	}
	lq, e := op.parseList(rq, "timestamp")
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	var items []obj
	for _, s := range op.samples(vin, res, lq) {
		items = append(items, op.dataItem(res, ver, s))
	}
	sortItems(items, lq, "timestamp")
	pg, total := page(items, lq)
	return op.reply(op.okStatus(), mt, &res, ver, obj{"vehicleId": op.vehicleID(vin), res.Items: anyList(pg), "exveTotal": op.total(total, len(pg))})
}

// serveWildcard is GET {b}/vehicles/*/{resource} (REQ_04_02_19/20): the
// resource of every vehicle, or of those the id parameters name.
func (op *OfferingParty) serveWildcard(rq *req, res Resource) center.Answer {
	mt, ver, e := op.admit(rq, res)
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	lq, e := op.parseList(rq, "timestamp", "vehicleId")
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	want := map[string]bool{}
	if !op.q.Has("wildcard-ignores-id") {
		for _, id := range lq.ids {
			if vin, ok := op.resolve(id); ok {
				want[vin] = true
			} else {
				want["\x00"+id] = true
			}
		}
	}
	// Sort and page light references; render only the page.
	type sref struct {
		id string
		s  Sample
	}
	var refs []sref
	for i, vin := range op.fleet.VINs() {
		if len(want) > 0 && !want[vin] || op.q.Has("wildcard-first-only") && i > 0 {
			continue
		}
		id := op.vehicleID(vin)
		for _, s := range op.samples(vin, res, lq) {
			refs = append(refs, sref{id: id, s: s})
		}
	}
	byTime := lq.sortField == "timestamp"
	sort.SliceStable(refs, func(i, j int) bool {
		a, b := refs[i], refs[j]
		if lq.desc {
			a, b = b, a
		}
		if byTime {
			return a.s.At.Before(b.s.At)
		}
		return a.id < b.id || a.id == b.id && a.s.At.Before(b.s.At)
	})
	pg, total := page(refs, lq)
	items := make([]any, 0, len(pg))
	for _, r := range pg {
		it := op.dataItem(res, ver, r.s)
		it["vehicleId"] = r.id
		items = append(items, it)
	}
	return op.reply(op.okStatus(), mt, &res, ver, obj{res.Items: items, "exveTotal": op.total(total, len(pg))})
}

// serveAnonymized is the anonymized resource (REQ_04_02_21, I-236): the
// samples of every vehicle, without any entity ID.
func (op *OfferingParty) serveAnonymized(rq *req, res Resource) center.Answer {
	mt, ver, e := op.admit(rq, res)
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	lq, e := op.parseList(rq, "timestamp")
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	src, _ := op.cat.ByName("vehicleSpeeds")
	var items []obj
	for _, vin := range op.fleet.VINs() {
		for _, s := range op.samples(vin, src, lq) {
			it := op.dataItem(src, ver, s)
			if op.q.Has("anonymized-leaks-id") {
				it["vehicleId"] = op.vehicleID(vin)
			}
			items = append(items, it)
		}
	}
	sortItems(items, lq, "timestamp")
	pg, total := page(items, lq)
	return op.reply(op.okStatus(), mt, &res, ver, obj{res.Items: anyList(pg), "exveTotal": op.total(total, len(pg))})
}

func (op *OfferingParty) ecuItem(e *ECU, vin string) obj {
	return obj{"id": strings.ToLower(e.Name), "name": e.Name, "messages": append([]string(nil), e.Messages...), "lastSeen": timeString(e.LastSeen)}
}

// serveECUs is GET {b}/vehicles/{id}/ecus: the ECUs whose frames the
// vehicle uploaded.
func (op *OfferingParty) serveECUs(rq *req, res Resource, id string) center.Answer {
	mt, ver, e := op.admit(rq, res)
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	vin, ok := op.resolve(id)
	if !ok {
		return op.unknownVehicle(rq, id)
	}
	var items []obj
	op.fleet.View(vin, func(v *Vehicle) {
		for _, e := range v.ECUs {
			items = append(items, op.ecuItem(e, vin))
		}
	})
	sortItems(items, listQuery{}, "id")
	return op.reply(op.okStatus(), mt, &res, ver, obj{"vehicleId": op.vehicleID(vin), res.Items: anyList(items)})
}

// serveECU is GET {b}/vehicles/{id}/ecus/{ecuId} (REQ_04_02_11).
func (op *OfferingParty) serveECU(rq *req, id, ecuID string) center.Answer {
	res, _ := op.cat.ByName("ecus")
	mt, ver, e := op.admit(rq, res)
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	vin, ok := op.resolve(id)
	if !ok {
		return op.unknownVehicle(rq, id)
	}
	var item obj
	op.fleet.View(vin, func(v *Vehicle) {
		if e := v.ECUs[strings.ToLower(ecuID)]; e != nil {
			item = op.ecuItem(e, vin)
			item["vehicleId"] = op.vehicleID(vin)
		}
	})
	if item == nil {
		return op.errorAnswer(rq.r, errf(http.StatusNotFound, "UNKNOWN_ECU", "vehicle %s has no ECU %s", id, ecuID))
	}
	return op.reply(op.okStatus(), mt, &res, ver, obj{res.UseCase: item})
}

// serveWebService is a web service including several resources (4.7): a
// token granting only some gets the same keys, the rest null, and errors
// naming what was withheld (I-216).
func (op *OfferingParty) serveWebService(rq *req, res Resource, id string) center.Answer {
	var granted, withheld []Resource
	for _, n := range res.Includes {
		inc, _ := op.cat.ByName(n)
		if rq.g.has(inc.Scope) || op.q.Has("scope-ignored") {
			granted = append(granted, inc)
		} else {
			withheld = append(withheld, inc)
		}
	}
	if len(granted) == 0 {
		return op.errorAnswer(rq.r, errf(http.StatusForbidden, "FORBIDDEN", "the token grants none of the resources of %s (%s)", res.Name, strings.Join(res.Includes, ", ")))
	}
	if len(withheld) > 0 && op.q.Has("partial-grant-403") {
		return op.errorAnswer(rq.r, errf(http.StatusForbidden, "PARTIAL_GRANT", "%s needs every included resource granted; %s is not", res.Name, withheld[0].Name))
	}
	mt, ver, e := op.negotiate(rq.r, res)
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	vin, ok := op.resolve(id)
	if !ok {
		return op.unknownVehicle(rq, id)
	}
	body := obj{"vehicleId": op.vehicleID(vin)}
	for _, inc := range append(append([]Resource(nil), granted...), withheld...) {
		key := inc.UseCase
		isGranted := false
		for _, g := range granted {
			isGranted = isGranted || g.Name == inc.Name
		}
		if !isGranted {
			if !op.q.Has("partial-drops-key") {
				body[key] = nil
			}
			continue
		}
		ss := op.samples(vin, inc, listQuery{})
		if len(ss) == 0 {
			body[key] = nil
			continue
		}
		body[key] = op.dataItem(inc, inc.Latest(), ss[len(ss)-1])
	}
	out := obj{res.Items: body}
	if len(withheld) > 0 {
		var errs []any
		for _, w := range withheld {
			errs = append(errs, obj{"exveErrorId": "NOT_GRANTED", "exveErrorMsg": "resource " + w.Name + " is not granted to this token; its data item is null"})
		}
		out["exveErrors"] = errs
	}
	return op.reply(op.okStatus(), mt, &res, ver, out)
}

// href is the absolute URI of a per-vehicle resource.
func (op *OfferingParty) href(res Resource, vehicleID string) string {
	return op.base.String() + strings.ReplaceAll(res.Path, "{vehicleId}", vehicleID)
}

// perVehicle are the resources of resource and capability discovery.
func (op *OfferingParty) perVehicle() []Resource {
	var out []Resource
	for _, r := range op.cat.Resources {
		if r.PerVehicle() {
			out = append(out, r)
		}
	}
	return out
}

func (op *OfferingParty) discoveryEntry(res Resource, vehicleID string) obj {
	e := obj{"name": res.Name, "version": res.Latest().Version, "href": op.href(res, vehicleID)}
	if op.q.Has("discovery-extra-keys") {
		e["description"] = "use case " + res.UseCase
		e["methods"] = append([]string(nil), res.Methods...)
	}
	return e
}

// granted reports whether the token grants res (a web service: any of its
// resources).
func (op *OfferingParty) granted(g grant, res Resource) bool {
	if res.Kind != KindWebService {
		return g.has(res.Scope)
	}
	for _, n := range res.Includes {
		if inc, ok := op.cat.ByName(n); ok && g.has(inc.Scope) {
			return true
		}
	}
	return false
}

// serveDiscovery is GET {b}/vehicles/{id}/resources/ (4.13): the resources
// the token grants for the vehicle.
func (op *OfferingParty) serveDiscovery(rq *req, id string) center.Answer {
	vin, ok := op.resolve(id)
	if !ok {
		return op.unknownVehicle(rq, id)
	}
	vid := op.vehicleID(vin)
	var list []any
	for _, res := range op.perVehicle() {
		if !op.granted(rq.g, res) && !op.q.Has("discovery-lists-all") {
			continue
		}
		e := op.discoveryEntry(res, vid)
		if op.q.Has("discovery-no-href") {
			delete(e, "href")
		}
		list = append(list, e)
	}
	if op.q.Has("duplicate-href") && len(list) > 1 {
		list[1].(obj)["href"] = list[0].(obj)["href"]
	}
	return op.reply(op.okStatus(), mtJSON, nil, Version{}, obj{"resources": list})
}

// serveCapabilities is GET {b}/vehicles/{id}/capabilities/ (4.14): what
// the vehicle can provide, for vehicles whose resource owner consented.
func (op *OfferingParty) serveCapabilities(rq *req, id string) center.Answer {
	vin, ok := op.resolve(id)
	if !ok {
		return op.unknownVehicle(rq, id)
	}
	if op.consent(vin) != "GRANTED" && !op.q.Has("capabilities-without-consent") {
		return op.errorAnswer(rq.r, errf(http.StatusForbidden, "NO_CONSENT", "the resource owner of vehicle %s has not authorized capability discovery (REQ_04_14_03)", id))
	}
	vid := op.vehicleID(vin)
	has := map[string]bool{}
	op.fleet.View(vin, func(v *Vehicle) {
		for m := range v.Series {
			has[m] = true
		}
		has["ecus"] = len(v.ECUs) > 0
	})
	list := []any{}
	for _, res := range op.perVehicle() {
		switch res.Kind {
		case KindData:
			if !has[seriesOf(res)] {
				continue
			}
		case KindSubEntity:
			if !has["ecus"] {
				continue
			}
		}
		e := op.discoveryEntry(res, vid)
		if op.q.Has("capabilities-no-version") {
			delete(e, "version")
		}
		list = append(list, e)
	}
	if op.q.Has("capabilities-empty") {
		list = []any{}
	}
	return op.reply(op.okStatus(), mtJSON, nil, Version{}, obj{"capabilities": list})
}
