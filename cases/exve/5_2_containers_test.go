package exve_test

// Clause 5 and Annex A: the container management API (register I-218: the
// seed stops inside Table A.7; Tables 35 to 49 stand in for the rest).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	hx "github.com/icoc-dev/icoc/harness/exve"
	exvespec "github.com/icoc-dev/icoc/spec/exve"
	. "github.com/onsi/ginkgo/v2"
)

// containerHeaders are Annex A's Accept and Content-Type.
func containerHeaders() []hx.Opt {
	mt := exvespec.AllTables().ContainerMediaType
	return []hx.Opt{hxAccept(mt), hxHeader("Content-Type", mt)}
}

// container is a container the spec created.
type containerT struct {
	id, loc string
	resp    *respT
}

// containerResource is a resourceId of the catalogue for a container.
func containerResource() string {
	for _, r := range ex.Catalogue.Resources {
		if r.ResourceID != "" {
			return r.ResourceID
		}
	}
	Skip("not applicable: the catalogue declares no resource_id for containers")
	return ""
}

// newContainer creates a container (Table A.5) and deletes it after the spec.
func newContainer(ctx context.Context, q harness.Requirement) containerT {
	GinkgoHelper()
	body := map[string]any{"name": "icoc " + newTag(), "purpose": "icoc conformance test", "resources": []any{map[string]any{"resourceId": containerResource()}}}
	r := opc().Do(ctx, "POST", "/containers", append(containerHeaders(), jsonBody(body))...)
	status(q, r, 201)
	c := containerT{resp: r, loc: r.Header.Get("Location")}
	c.id = fmt.Sprint(r.Object()["containerId"])
	if c.loc != "" {
		cleanup(resolve(r.URL, c.loc))
	} else {
		cleanup("/containers/" + url.PathEscape(c.id))
	}
	return c
}

func containerGet(ctx context.Context, path string) *respT {
	return opc().Do(ctx, "GET", path, containerHeaders()...)
}

// REQ_05_02_03: "The offering party should expose an API for container
// creation." Table A.5: 201, Location "Absolute URI of the created
// resource", the container.
var _ = op("REQ_05_02_03", "POST {b}/containers answers 201, an absolute Location and the container", qs("container-relative-location"),
	func(ctx SpecContext, q harness.Requirement) {
		c := newContainer(ctx, q)
		u, err := url.Parse(c.loc)
		check(err == nil && u.IsAbs() && underBase(c.loc), q, "an absolute Location under the base URI (Table A.5)", "%s", c.resp.Describe())
		m := c.resp.Object()
		for _, k := range []string{"containerId", "name", "purpose", "status", "created", "resources"} {
			_, ok := m[k]
			check(ok, q, "the required attributes of Table A.5", "%s lacks %s", c.resp.Describe(), k)
		}
		check(isDateTime(m["created"]), q, "created an ISO 8601 date-time", "%s", jsonString(m["created"]))
	})

// REQ_05_02_01: "... an API to list containers available for an accessing
// party." Table A.2.
var _ = op("REQ_05_02_01", "GET {b}/containers lists the container with every attribute Table A.2 requires", qs("container-list-no-updated"),
	func(ctx SpecContext, q harness.Requirement) {
		c := newContainer(ctx, q)
		r := containerGet(ctx, "/containers")
		status(q, r, 200)
		for _, e := range items(r, "containers") {
			m := obj(e)
			if fmt.Sprint(m["containerId"]) != c.id {
				continue
			}
			for _, k := range []string{"containerId", "name", "purpose", "status", "created", "updated"} {
				_, ok := m[k]
				check(ok, q, "containerId, name, purpose, status, created and updated (Table A.2)", "%s lacks %s", jsonString(m), k)
			}
			check(slices.Contains(exvespec.AllTables().ContainerStatuses, fmt.Sprint(m["status"])) && isDateTime(m["created"]) && isDateTime(m["updated"]), q,
				"status ACTIVE or INACTIVE, created and updated ISO 8601", "%s", jsonString(m))
			return
		}
		fail(q, "container "+c.id+" listed", "%s", r.Describe())
	})

// REQ_05_02_02: "... an API to return container details." Table A.3.
var _ = op("REQ_05_02_02", "GET {b}/containers/{id} gives the container with its resources (resourceId, resourceName)", qs("container-no-resources"),
	func(ctx SpecContext, q harness.Requirement) {
		c := newContainer(ctx, q)
		r := containerGet(ctx, "/containers/"+url.PathEscape(c.id))
		status(q, r, 200)
		rs := list(r.Object()["resources"])
		check(len(rs) > 0, q, "resources in the details", "%s", r.Describe())
		for _, e := range rs {
			check(obj(e)["resourceId"] != nil && obj(e)["resourceName"] != nil, q, "resourceId and resourceName for each resource (Table A.3)", "%s", r.Describe())
		}
	})

// REQ_05_02_04: "... an API to inactivate and activate containers." Table
// 38: 200 with the container, 204 when already in the state asked for.
var _ = op("REQ_05_02_04", "PATCH of the status answers 200 with the container, and 204 when the status is already so", qs("patch-same-status-200"),
	func(ctx SpecContext, q harness.Requirement) {
		c := newContainer(ctx, q)
		p := "/containers/" + url.PathEscape(c.id)
		r := opc().Do(ctx, "PATCH", p, append(containerHeaders(), jsonBody(map[string]any{"status": "INACTIVE"}))...)
		status(q, r, 200)
		check(r.Object()["status"] == "INACTIVE", q, "the container INACTIVE in the answer", "%s", r.Describe())
		again := opc().Do(ctx, "PATCH", p, append(containerHeaders(), jsonBody(map[string]any{"status": "INACTIVE"}))...)
		status(q, again, 204)
		check(len(again.Body) == 0, q, "no payload with the 204", "%s", again.Describe())
	})

// REQ_05_02_05: "... an API for deletion of containers." Table 39: 204.
var _ = op("REQ_05_02_05", "DELETE {b}/containers/{id} answers 204 and the container is gone", qs("container-delete-noop"),
	func(ctx SpecContext, q harness.Requirement) {
		c := newContainer(ctx, q)
		p := "/containers/" + url.PathEscape(c.id)
		status(q, opc().Do(ctx, "DELETE", p), 204)
		status(q, containerGet(ctx, p), 404)
	})

// containerVehicles lists the vehicle IDs of a container and their
// consent.
func containerVehicles(ctx context.Context, q harness.Requirement, id string) map[string]string {
	GinkgoHelper()
	r := containerGet(ctx, "/containers/"+url.PathEscape(id)+"/vehicles")
	status(q, r, 200)
	out := map[string]string{}
	for _, v := range items(r, "vehicles") {
		out[fmt.Sprint(obj(v)["vehicleId"])] = fmt.Sprint(obj(v)["consentStatus"])
	}
	return out
}

// associate adds vehicles to a container (Table 40).
func associate(ctx context.Context, q harness.Requirement, id string, vids ...string) {
	GinkgoHelper()
	var vs []any
	for _, v := range vids {
		vs = append(vs, map[string]any{"vehicleId": v})
	}
	r := opc().Do(ctx, "POST", "/containers/"+url.PathEscape(id)+"/vehicles", append(containerHeaders(), jsonBody(map[string]any{"vehicles": vs}))...)
	status(q, r, 200, 201, 204)
}

// twoVehicles is the profile's vehicle and another.
func twoVehicles(ctx context.Context, q harness.Requirement) (string, string) {
	GinkgoHelper()
	vid := vehicleID(ctx, q)
	for _, id := range vehicleIDs(ctx, q, 5) {
		if id != vid {
			return vid, id
		}
	}
	Skip("not applicable: one vehicle only")
	return "", ""
}

// REQ_05_02_06: "... an API for associating vehicles with a container."
var _ = op("REQ_05_02_06", "POST {b}/containers/{id}/vehicles associates the vehicles listed", qs("associate-ignored"),
	func(ctx SpecContext, q harness.Requirement) {
		a, b := twoVehicles(ctx, q)
		c := newContainer(ctx, q)
		associate(ctx, q, c.id, a, b)
		got := containerVehicles(ctx, q, c.id)
		_, hasA := got[a]
		_, hasB := got[b]
		check(hasA && hasB, q, "both vehicles in the container", "%v", got)
	})

// REQ_05_02_07: "... an API for retrieving vehicles associated with a
// container." Table A.4: consentStatus PENDING, GRANTED, REJECTED, REVOKED.
var _ = op("REQ_05_02_07", "GET {b}/containers/{id}/vehicles gives each vehicle with a consentStatus of Table A.4", qs("consent-lowercase"),
	func(ctx SpecContext, q harness.Requirement) {
		a, b := twoVehicles(ctx, q)
		c := newContainer(ctx, q)
		associate(ctx, q, c.id, a, b)
		got := containerVehicles(ctx, q, c.id)
		check(len(got) == 2, q, "the two vehicles", "%v", got)
		for v, cs := range got {
			check(slices.Contains(exvespec.AllTables().ConsentStatuses, cs), q, "PENDING, GRANTED, REJECTED or REVOKED", "vehicle %s: %q", v, cs)
		}
	})

// REQ_05_02_08: "The offering party may expose an API for removing a
// vehicle from a container." Table 42: 204.
var _ = op("REQ_05_02_08", "DELETE {b}/containers/{id}/vehicles/{vehicleId} answers 204 and removes the vehicle", qs("vehicle-remove-noop"),
	func(ctx SpecContext, q harness.Requirement) {
		a, b := twoVehicles(ctx, q)
		c := newContainer(ctx, q)
		associate(ctx, q, c.id, a, b)
		status(q, opc().Do(ctx, "DELETE", "/containers/"+url.PathEscape(c.id)+"/vehicles/"+url.PathEscape(b)), 204)
		got := containerVehicles(ctx, q, c.id)
		_, still := got[b]
		check(!still, q, "vehicle "+b+" removed", "%v", got)
	})

// REQ_05_02_09: "Offering party may expose an API for bulk removal vehicles
// from a container." Table 43.
var _ = op("REQ_05_02_09", "POST {b}/containers/{id}/vehiclesToRemove removes every vehicle listed", qs("bulk-remove-first-only"),
	func(ctx SpecContext, q harness.Requirement) {
		a, b := twoVehicles(ctx, q)
		c := newContainer(ctx, q)
		associate(ctx, q, c.id, a, b)
		r := opc().Do(ctx, "POST", "/containers/"+url.PathEscape(c.id)+"/vehiclesToRemove",
			append(containerHeaders(), jsonBody(map[string]any{"vehicles": []any{map[string]any{"vehicleId": a}, map[string]any{"vehicleId": b}}}))...)
		status(q, r, 200, 204)
		got := containerVehicles(ctx, q, c.id)
		check(len(got) == 0, q, "no vehicle left", "%v", got)
	})

// containerSubscription subscribes to a container's events.
func containerSubscription(ctx context.Context, q harness.Requirement, cid, tag string, events ...string) string {
	GinkgoHelper()
	var evs []any
	for _, e := range events {
		evs = append(evs, map[string]any{"event": e})
	}
	body := map[string]any{"profile": bearerProfile(tag, 3600), "containers": []any{map[string]any{"containerId": cid, "events": evs}}}
	r := opc().Do(ctx, "POST", "/containerEventSubscriptions", append(containerHeaders(), jsonBody(body))...)
	status(q, r, 201)
	loc := resolve(r.URL, r.Header.Get("Location"))
	cleanup(loc)
	return loc[strings.LastIndex(loc, "/")+1:]
}

// REQ_05_02_10: "The offering party may expose an API for subscriptions to
// container related notifications." Tables 45 and 47 (I-220).
var _ = op("REQ_05_02_10", "new data of a container's vehicle is pushed as RESOURCE_DATA_UPDATED to {callbackBaseURI}/containerEvents", qs("container-event-wrong-path"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		c := newContainer(ctx, q)
		associate(ctx, q, c.id, vid)
		tag := newTag()
		containerSubscription(ctx, q, c.id, tag, "RESOURCE_DATA_UPDATED")
		t0 := time.Now()
		pushData(ctx)
		var got []string
		ok := eventually(ctx, time.Minute, func() bool {
			got = nil
			for _, p := range pushesTo(tag, t0) {
				got = append(got, p.Path)
				if p.Path != callbackPath(tag)+"/containerEvents" {
					continue
				}
				var body struct {
					ContainerEvents []struct {
						ContainerID   string `json:"containerId"`
						VehicleEvents []struct {
							VehicleID string `json:"vehicleId"`
							Event     string `json:"event"`
						} `json:"vehicleEvents"`
					} `json:"containerEvents"`
				}
				if json.Unmarshal(p.Body, &body) != nil {
					continue
				}
				for _, ce := range body.ContainerEvents {
					for _, ve := range ce.VehicleEvents {
						if ce.ContainerID == c.id && ve.VehicleID == vid && ve.Event == "RESOURCE_DATA_UPDATED" {
							return true
						}
					}
				}
			}
			return false
		})
		check(ok, q, "POST "+callbackPath(tag)+"/containerEvents with RESOURCE_DATA_UPDATED for "+vid+" (Table 47)", "pushes under %s: %v", callback(tag), got)
	})

// REQ_05_02_11: "The offering party may expose an API to list container
// subscriptions." Table 48.
var _ = op("REQ_05_02_11", "GET {b}/containerEventSubscriptions?containerId= lists the subscription with its profile and events", qs("container-subs-no-events"),
	func(ctx SpecContext, q harness.Requirement) {
		c := newContainer(ctx, q)
		sid := containerSubscription(ctx, q, c.id, newTag(), "CONSENT_GRANTED", "CONSENT_REVOKED")
		r := containerGet(ctx, "/containerEventSubscriptions?containerId="+url.QueryEscape(c.id))
		status(q, r, 200)
		for _, e := range items(r, "containerEventSubscriptions") {
			for _, s := range list(obj(e)["subscriptions"]) {
				if fmt.Sprint(obj(s)["subscriptionId"]) == sid {
					check(obj(s)["profileId"] != nil && len(list(obj(s)["events"])) == 2, q, "subscriptionId, profileId and the two events", "%s", jsonString(s))
					return
				}
			}
		}
		fail(q, "subscription "+sid+" listed", "%s", r.Describe())
	})

// REQ_05_02_12: "The offering party may expose an API to delete container
// subscriptions." Table 49: 204.
var _ = op("REQ_05_02_12", "DELETE {b}/containerEventSubscriptions/{id} answers 204 and the subscription is gone", qs("container-sub-delete-noop"),
	func(ctx SpecContext, q harness.Requirement) {
		c := newContainer(ctx, q)
		sid := containerSubscription(ctx, q, c.id, newTag(), "CONSENT_GRANTED")
		status(q, opc().Do(ctx, "DELETE", "/containerEventSubscriptions/"+url.PathEscape(sid)), 204)
		r := containerGet(ctx, "/containerEventSubscriptions?containerId="+url.QueryEscape(c.id))
		status(q, r, 200)
		check(!strings.Contains(string(r.Body), `"`+sid+`"`), q, "subscription "+sid+" gone", "%s", r.Describe())
	})
