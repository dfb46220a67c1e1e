package exve

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/icoc-dev/icoc/simulator/center"
)

func init() {
	q("container-list-no-updated", "REQ_05_02_01", "lists containers without the required attribute updated")
	q("container-no-resources", "REQ_05_02_02", "returns container details without resources")
	q("container-relative-location", "REQ_05_02_03", "answers a container creation with a relative Location")
	q("patch-same-status-200", "REQ_05_02_04", "answers a PATCH to the status a container already has 200 instead of 204")
	q("container-delete-noop", "REQ_05_02_05", "answers DELETE of a container 204 but keeps it")
	q("associate-ignored", "REQ_05_02_06", "answers a vehicle association but associates nothing")
	q("consent-lowercase", "REQ_05_02_07", "writes consentStatus in lower case")
	q("vehicle-remove-noop", "REQ_05_02_08", "answers DELETE of a container's vehicle 204 but keeps it")
	q("bulk-remove-first-only", "REQ_05_02_09", "removes only the first vehicle of a bulk removal")
	q("container-event-wrong-path", "REQ_05_02_10", "pushes container events to {callbackBaseURI}/containerEvent")
	q("container-subs-no-events", "REQ_05_02_11", "lists container event subscriptions without their events")
	q("container-sub-delete-noop", "REQ_05_02_12", "answers DELETE of a container event subscription 204 but keeps it")
}

// containerEvents is one container of a container event subscription and
// the events subscribed for it.
type containerEvents struct {
	containerID string
	events      []string
}

type containerResource struct{ id, name string }

// container is one container (clause 5): resources granted together,
// vehicles associated with it.
type container struct {
	id, client, name, purpose, status string
	created, updated                  time.Time
	resources                         []containerResource
	vehicles                          []string // VINs in association order
}

type containerStore struct {
	mu    sync.Mutex
	byID  map[string]*container
	order []string
}

func (s *containerStore) init() { s.byID = map[string]*container{} }

var resourceNS = uuid.MustParse("b0b5c1e2-20f8-5e2a-9c1b-2078a0c0ffee")

// ResourceID is the resourceId of a catalogue resource (Annex A).
func ResourceID(r Resource) string { return uuid.NewSHA1(resourceNS, []byte(r.Path)).String() }

// consent is the resource owner's consent for a vehicle: GRANTED for the
// configured VINs, PENDING for the rest.
func (op *OfferingParty) consent(vin string) string {
	if containsString(op.cfg.ConsentGranted, vin) {
		return "GRANTED"
	}
	return "PENDING"
}

func (op *OfferingParty) containerJSON(c *container, details bool) obj {
	o := obj{"containerId": c.id, "name": c.name, "purpose": c.purpose, "status": c.status, "created": timeString(c.created)}
	if !op.q.Has("container-list-no-updated") || details {
		o["updated"] = timeString(c.updated)
	}
	if details && !op.q.Has("container-no-resources") {
		var rs []any
		for _, r := range c.resources {
			rs = append(rs, obj{"resourceId": r.id, "resourceName": r.name})
		}
		o["resources"] = rs
	}
	return o
}

func (op *OfferingParty) containerReply(status int, body any) center.Answer {
	res := Resource{UseCase: "container", Versions: []Version{{Version: "v1.0"}}}
	return op.reply(status, mtJSON, &res, res.Versions[0], body)
}

func (op *OfferingParty) vehiclesJSON(c *container) obj {
	vs := []any{}
	for _, vin := range c.vehicles {
		cs := op.consent(vin)
		if op.q.Has("consent-lowercase") {
			cs = strings.ToLower(cs)
		}
		vs = append(vs, obj{"vehicleId": op.vehicleID(vin), "consentStatus": cs})
	}
	return obj{"containerId": c.id, "vehicles": vs}
}

// serveContainers is the container management API (5.2, Annex A).
func (op *OfferingParty) serveContainers(rq *req) center.Answer {
	if e := op.scopeCheck(rq, "exve:containers"); e != nil {
		return op.errorAnswer(rq.r, e)
	}
	s := &op.containers
	p := rq.parts
	if len(p) == 1 {
		switch rq.r.Method {
		case http.MethodGet:
			s.mu.Lock()
			list := []any{}
			for _, id := range s.order {
				if c := s.byID[id]; c != nil && c.client == rq.g.client {
					list = append(list, op.containerJSON(c, false))
				}
			}
			s.mu.Unlock()
			return op.containerReply(http.StatusOK, obj{"containers": list})
		case http.MethodPost:
			return op.createContainer(rq)
		}
		return notAllowed(op, rq, http.MethodGet, http.MethodPost)
	}
	s.mu.Lock()
	c := s.byID[p[1]]
	s.mu.Unlock()
	if c == nil || c.client != rq.g.client {
		return op.errorAnswer(rq.r, errf(http.StatusNotFound, "UNKNOWN_CONTAINER", "no container %s", p[1]))
	}
	if len(p) == 2 {
		switch rq.r.Method {
		case http.MethodGet:
			s.mu.Lock()
			defer s.mu.Unlock()
			return op.containerReply(http.StatusOK, op.containerJSON(c, true))
		case http.MethodPatch:
			var body struct {
				Status string `json:"status"`
			}
			if e := readJSON(rq, &body, true); e != nil {
				return op.badJSON(rq, e)
			}
			if body.Status != "ACTIVE" && body.Status != "INACTIVE" {
				return op.errorAnswer(rq.r, errf(http.StatusBadRequest, "BAD_STATUS", "status %q: ACTIVE or INACTIVE", body.Status))
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if c.status == body.Status && !op.q.Has("patch-same-status-200") {
				return center.Answer{Status: http.StatusNoContent, By: serviceName}
			}
			c.status, c.updated = body.Status, time.Now()
			return op.containerReply(http.StatusOK, op.containerJSON(c, true))
		case http.MethodDelete:
			if !op.q.Has("container-delete-noop") {
				s.mu.Lock()
				delete(s.byID, c.id)
				s.mu.Unlock()
			}
			return center.Answer{Status: http.StatusNoContent, By: serviceName}
		}
		return notAllowed(op, rq, http.MethodGet, http.MethodPatch, http.MethodDelete)
	}
	switch {
	case p[2] == "vehicles" && len(p) == 3:
		switch rq.r.Method {
		case http.MethodGet:
			s.mu.Lock()
			defer s.mu.Unlock()
			return op.containerReply(http.StatusOK, op.vehiclesJSON(c))
		case http.MethodPost:
			vins, e := op.vehicleList(rq)
			if e != nil {
				return op.errorAnswer(rq.r, e)
			}
			var granted []string
			s.mu.Lock()
			if !op.q.Has("associate-ignored") {
				for _, vin := range vins {
					if !containsString(c.vehicles, vin) {
						c.vehicles = append(c.vehicles, vin)
						if op.consent(vin) == "GRANTED" {
							granted = append(granted, vin)
						}
					}
				}
				c.updated = time.Now()
			}
			body := op.vehiclesJSON(c)
			s.mu.Unlock()
			op.containerEvent(c.id, "CONSENT_GRANTED", granted)
			a := op.containerReply(http.StatusCreated, body)
			a.Header.Set("Location", op.base.String()+"/containers/"+c.id+"/vehicles")
			return a
		}
		return notAllowed(op, rq, http.MethodGet, http.MethodPost)
	case p[2] == "vehicles" && len(p) == 4:
		if rq.r.Method != http.MethodDelete {
			return notAllowed(op, rq, http.MethodDelete)
		}
		vin, ok := op.resolve(p[3])
		s.mu.Lock()
		defer s.mu.Unlock()
		if !ok || !containsString(c.vehicles, vin) {
			return op.errorAnswer(rq.r, errf(http.StatusNotFound, "UNKNOWN_VEHICLE", "vehicle %s is not in container %s", p[3], c.id))
		}
		if !op.q.Has("vehicle-remove-noop") {
			c.vehicles = removeString(c.vehicles, vin)
			c.updated = time.Now()
		}
		return center.Answer{Status: http.StatusNoContent, By: serviceName}
	case p[2] == "vehiclesToRemove" && len(p) == 3:
		if rq.r.Method != http.MethodPost {
			return notAllowed(op, rq, http.MethodPost)
		}
		vins, e := op.vehicleList(rq)
		if e != nil {
			return op.errorAnswer(rq.r, e)
		}
		if op.q.Has("bulk-remove-first-only") && len(vins) > 1 {
			vins = vins[:1]
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, vin := range vins {
			c.vehicles = removeString(c.vehicles, vin)
		}
		c.updated = time.Now()
		return center.Answer{Status: http.StatusNoContent, By: serviceName}
	}
	return op.errorAnswer(rq.r, errf(http.StatusNotFound, "NOT_FOUND", "no resource at %s", rq.x.Path))
}

func removeString(l []string, s string) []string {
	out := l[:0]
	for _, x := range l {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// vehicleList reads {"vehicles": [{"vehicleId": ...}]} (Tables 40, 43).
func (op *OfferingParty) vehicleList(rq *req) ([]string, *apiError) {
	var body struct {
		Vehicles []struct {
			VehicleID string `json:"vehicleId"`
		} `json:"vehicles"`
	}
	if e := readJSON(rq, &body, true); e != nil {
		return nil, e
	}
	if len(body.Vehicles) == 0 {
		return nil, errf(http.StatusBadRequest, "VEHICLES_MISSING", "the body lists no vehicles")
	}
	var vins []string
	for _, v := range body.Vehicles {
		vin, ok := op.resolve(v.VehicleID)
		if !ok {
			return nil, errf(http.StatusBadRequest, "UNKNOWN_VEHICLE", "no vehicle %q", v.VehicleID)
		}
		vins = append(vins, vin)
	}
	return vins, nil
}

// createContainer is POST {b}/containers (Table A.5): 201, an absolute
// Location and the container.
func (op *OfferingParty) createContainer(rq *req) center.Answer {
	var body struct {
		Name      string `json:"name"`
		Purpose   string `json:"purpose"`
		Resources []struct {
			ResourceID string `json:"resourceId"`
		} `json:"resources"`
	}
	if e := readJSON(rq, &body, true); e != nil {
		return op.badJSON(rq, e)
	}
	var errs []*apiError
	if body.Name == "" {
		errs = append(errs, errf(http.StatusBadRequest, "NAME_MISSING", "name is required (Table A.5)"))
	}
	if body.Purpose == "" {
		errs = append(errs, errf(http.StatusBadRequest, "PURPOSE_MISSING", "purpose is required (Table A.5)"))
	}
	if len(body.Resources) == 0 {
		errs = append(errs, errf(http.StatusBadRequest, "RESOURCES_MISSING", "resources is required (Table A.5)"))
	}
	c := &container{id: uuid.NewString(), client: rq.g.client, name: body.Name, purpose: body.Purpose, status: "ACTIVE", created: time.Now()}
	c.updated = c.created
	for _, r := range body.Resources {
		found := false
		for _, res := range op.cat.Resources {
			if ResourceID(res) == r.ResourceID {
				c.resources = append(c.resources, containerResource{id: r.ResourceID, name: res.Name})
				found = true
			}
		}
		if !found {
			errs = append(errs, errf(http.StatusBadRequest, "UNKNOWN_RESOURCE", "resourceId %q names no resource of this offering party", r.ResourceID))
		}
	}
	if len(errs) > 0 {
		e := errs[0]
		e.more = errs[1:]
		return op.errorAnswer(rq.r, e)
	}
	s := &op.containers
	s.mu.Lock()
	s.byID[c.id] = c
	s.order = append(s.order, c.id)
	out := op.containerJSON(c, false)
	var rs []any
	for _, r := range c.resources {
		rs = append(rs, obj{"resourceId": r.id})
	}
	out["resources"] = rs
	s.mu.Unlock()
	a := op.containerReply(http.StatusCreated, out)
	loc := op.base.String() + "/containers/" + c.id
	if op.q.Has("container-relative-location") {
		loc = op.cfg.BasePath + "/containers/" + c.id
	}
	a.Header.Set("Location", loc)
	return a
}

// ContainerResources lists the resourceId and name of every catalogue
// resource, for creating containers.
func (op *OfferingParty) ContainerResources() map[string]string {
	out := map[string]string{}
	for _, r := range op.cat.Resources {
		out[r.Name+" "+r.Path] = ResourceID(r)
	}
	return out
}

// parseContainerEvents reads containers: [{containerId, events: [{event}]}]
// (Table 46) and Table 45's split form (I-220).
func parseContainerEvents(v any) ([]containerEvents, *apiError) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, errf(http.StatusBadRequest, "CONTAINERS_MISSING", "containers: a non-empty array is required (Table 45)")
	}
	var out []containerEvents
	for _, e := range list {
		m, _ := e.(map[string]any)
		id, _ := m["containerId"].(string)
		var evs []string
		if el, ok := m["events"].([]any); ok {
			for _, x := range el {
				if em, ok := x.(map[string]any); ok {
					if s, ok := em["event"].(string); ok {
						evs = append(evs, s)
					}
				}
			}
		}
		switch {
		case id != "":
			out = append(out, containerEvents{containerID: id, events: evs})
		case len(out) > 0: // Table 45: events in an element of their own
			out[len(out)-1].events = append(out[len(out)-1].events, evs...)
		default:
			return nil, errf(http.StatusBadRequest, "CONTAINER_ID_MISSING", "an element of containers has no containerId")
		}
	}
	for _, c := range out {
		for _, ev := range c.events {
			switch ev {
			case "CONSENT_GRANTED", "CONSENT_REVOKED", "RESOURCE_DATA_UPDATED":
			default:
				return nil, errf(http.StatusBadRequest, "UNKNOWN_EVENT", "event %q is none of Table 44's", ev)
			}
		}
	}
	return out, nil
}

// serveContainerSubscriptions is {b}/containerEventSubscriptions[/{id}]
// (REQ_05_02_10 to 12).
func (op *OfferingParty) serveContainerSubscriptions(rq *req) center.Answer {
	if e := op.scopeCheck(rq, "exve:containers"); e != nil {
		return op.errorAnswer(rq.r, e)
	}
	const name = "containerEventSubscriptions"
	p := rq.parts
	if len(p) == 1 {
		switch rq.r.Method {
		case http.MethodGet:
			byContainer := map[string][]any{}
			var order []string
			filter := rq.query.Get("containerId")
			for _, s := range op.subsOf(rq.g.client) {
				s.mu.Lock()
				if s.container == nil || s.deleted && !op.q.Has("container-sub-delete-noop") {
					s.mu.Unlock()
					continue
				}
				for _, ce := range s.container {
					if filter != "" && ce.containerID != filter {
						continue
					}
					e := obj{"subscriptionId": s.id, "profileId": s.profileID}
					if !op.q.Has("container-subs-no-events") {
						var evs []any
						for _, ev := range ce.events {
							evs = append(evs, obj{"event": ev})
						}
						e["events"] = evs
					}
					if _, ok := byContainer[ce.containerID]; !ok {
						order = append(order, ce.containerID)
					}
					byContainer[ce.containerID] = append(byContainer[ce.containerID], e)
				}
				s.mu.Unlock()
			}
			list := []any{}
			for _, id := range order {
				list = append(list, obj{"containerId": id, "subscriptions": byContainer[id]})
			}
			return op.containerReply(http.StatusOK, obj{name: list})
		case http.MethodPost:
			return op.putContainerSubscription(rq, nil, true)
		}
		return notAllowed(op, rq, http.MethodGet, http.MethodPost)
	}
	var sub *subscription
	for _, s := range op.subsOf(rq.g.client) {
		s.mu.Lock()
		if s.id == p[1] && s.container != nil && (!s.deleted || op.q.Has("container-sub-delete-noop")) {
			sub = s
		}
		s.mu.Unlock()
	}
	switch rq.r.Method {
	case http.MethodPut:
		return op.putContainerSubscription(rq, sub, sub == nil)
	case http.MethodDelete:
		if sub == nil {
			return op.errorAnswer(rq.r, errf(http.StatusNotFound, "UNKNOWN_SUBSCRIPTION", "no container event subscription %s", p[1]))
		}
		if !op.q.Has("container-sub-delete-noop") {
			sub.mu.Lock()
			sub.deleted, sub.status = true, "INACTIVE"
			sub.mu.Unlock()
		}
		return center.Answer{Status: http.StatusNoContent, By: serviceName}
	case http.MethodGet:
		if sub == nil {
			return op.errorAnswer(rq.r, errf(http.StatusNotFound, "UNKNOWN_SUBSCRIPTION", "no container event subscription %s", p[1]))
		}
		return op.containerReply(http.StatusOK, op.subJSON(sub))
	}
	return notAllowed(op, rq, http.MethodGet, http.MethodPut, http.MethodDelete)
}

// putContainerSubscription creates (POST, or PUT of an unknown ID) or
// replaces (PUT) a container event subscription.
func (op *OfferingParty) putContainerSubscription(rq *req, sub *subscription, create bool) center.Answer {
	var body map[string]any
	if e := readJSON(rq, &body, true); e != nil {
		return op.badJSON(rq, e)
	}
	ces, e := parseContainerEvents(body["containers"])
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	op.containers.mu.Lock()
	for _, ce := range ces {
		if c := op.containers.byID[ce.containerID]; c == nil || c.client != rq.g.client {
			op.containers.mu.Unlock()
			return op.errorAnswer(rq.r, errf(http.StatusBadRequest, "UNKNOWN_CONTAINER", "no container %s", ce.containerID))
		}
	}
	op.containers.mu.Unlock()
	p, e := op.profileFor(rq, body)
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	if sub != nil {
		sub.mu.Lock()
		sub.container = ces
		if p != nil {
			sub.profileID = p.id
		}
		sub.mu.Unlock()
		return op.containerReply(http.StatusOK, op.subJSON(sub))
	}
	id := uuid.NewString()
	if !create || len(rq.parts) == 2 {
		id = rq.parts[1]
	}
	sub = &subscription{id: id, client: rq.g.client, resource: "containerEventSubscriptions", container: ces, created: time.Now(), status: "ACTIVE", queue: make(chan pushJob, 32)}
	if p != nil {
		sub.profileID = p.id
	}
	op.addSubscription(sub)
	out := obj{"subscriptionId": sub.id}
	if p != nil {
		out["profileId"] = p.id
	}
	a := op.containerReply(http.StatusCreated, out)
	a.Header.Set("Location", op.created("containerEventSubscriptions", sub.id))
	return a
}

// containerEvent pushes event for vehicles of container cid to the
// container event subscriptions that want it (Table 47).
func (op *OfferingParty) containerEvent(cid, event string, vins []string) {
	if len(vins) == 0 {
		return
	}
	op.containers.mu.Lock()
	c := op.containers.byID[cid]
	active := c != nil && c.status == "ACTIVE"
	op.containers.mu.Unlock()
	if !active {
		return
	}
	var ves []any
	for _, vin := range vins {
		ves = append(ves, obj{"vehicleId": op.vehicleID(vin), "event": event})
	}
	b, _ := json.Marshal(obj{"containerEvents": []any{obj{"containerId": cid, "vehicleEvents": ves}}})
	path := "containerEvents"
	if op.q.Has("container-event-wrong-path") {
		path = "containerEvent"
	}
	op.subs.mu.Lock()
	var subs []*subscription
	for _, id := range op.subs.order {
		if s := op.subs.subs[id]; s != nil && s.container != nil {
			subs = append(subs, s)
		}
	}
	op.subs.mu.Unlock()
	for _, s := range subs {
		s.mu.Lock()
		want := false
		for _, ce := range s.container {
			want = want || ce.containerID == cid && containsString(ce.events, event)
		}
		s.mu.Unlock()
		if want && op.active(s) {
			op.enqueue(s, pushJob{path: path, body: b})
		}
	}
}

// uploaded tells the containers holding the vehicle (consent granted) that
// new resource data is available (RESOURCE_DATA_UPDATED).
func (s *containerStore) uploaded(op *OfferingParty, in Ingested) {
	if op.consent(in.VIN) != "GRANTED" {
		return
	}
	s.mu.Lock()
	var ids []string
	for _, id := range s.order {
		if c := s.byID[id]; c != nil && containsString(c.vehicles, in.VIN) {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	for _, id := range ids {
		op.containerEvent(id, "RESOURCE_DATA_UPDATED", []string{in.VIN})
	}
}
