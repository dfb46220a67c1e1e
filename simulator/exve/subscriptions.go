package exve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/icoc-dev/icoc/simulator/center"
	"golang.org/x/oauth2"
)

func init() {
	q("subscription-suffix", "REQ_04_02_22", "names push resources {resource}Pushes instead of {resource}Subscriptions")
	q("profile-no-callback", "REQ_04_03_01", "lists subscription profiles without callbackBaseURI")
	q("push-with-refresh-token", "REQ_04_03_02", "pushes with the profile's refresh token as bearer token instead of an access token from the token endpoint")
	q("push-without-bearer", "REQ_04_03_03, REQ_04_04_02", "pushes without an Authorization header")
	q("subscription-without-profile", "REQ_04_03_04", "creates a subscription that has no subscription profile")
	q("no-profile-id", "REQ_04_03_05", "answers a subscription created with a full profile without the profileId")
	q("unknown-profile-accepted", "REQ_04_03_06", "creates a subscription naming a profileId that does not exist")
	q("profile-create-200", "REQ_04_03_07, REQ_04_10_02", "answers the creation of a subscription profile 200 instead of 201")
	q("token-exp-ms", "REQ_04_03_08", "writes tokenExpTime in milliseconds")
	q("profile-delete-noop", "REQ_04_03_09", "answers DELETE of a subscription profile 204 but keeps it")
	q("stays-active-after-token-expiry", "REQ_04_03_10", "keeps a subscription ACTIVE after its token has expired")
	q("reused-subscription-id", "REQ_04_03_11", "gives every subscription of a resource the same subscriptionId")
	q("subscribe-by-put", "REQ_04_03_12", "creates subscriptions by PUT and refuses POST with 405")
	q("put-ignored", "REQ_04_03_13, REQ_04_09_04", "answers PUT ?addVehicleId= 200 but changes nothing")
	q("pushes-after-delete", "REQ_04_03_14", "keeps pushing for a subscription after DELETE")
	q("push-put", "REQ_04_03_15", "pushes with PUT instead of POST")
	q("callback-root", "REQ_04_03_15", "pushes to the callback host's root, dropping the callbackBaseURI's path")
	variant("push-plural-path", "REQ_04_03_15", "pushes to {callbackBaseURI}/{resource name} (plural) instead of the singular use-case name")
	q("no-subscription-status", "REQ_04_03_16", "shows a subscription without status")
	q("pause-ignored", "REQ_04_03_17", "answers a PUT of status INACTIVE 200 but keeps pushing")
	q("resume-ignored", "REQ_04_03_18", "answers a PUT of status ACTIVE 200 but stays INACTIVE")
	variant("keep-active-on-push-errors", "REQ_04_03_19, REQ_04_03_20", "never deactivates a subscription after push errors (it drops the push)")
	q("reason-generic", "REQ_04_03_20", "gives every deactivation the reason PUSH_HTTP_STATUS_CODE")
	q("deactivation-no-status-code", "REQ_04_03_20", "deactivates without httpStatusCode")
	q("deactivation-no-timestamp", "REQ_04_03_20", "deactivates without timestamp")
	q("subscriptions-list-no-profile", "REQ_04_03_21", "lists subscriptions without their profileId")
	q("push-wrong-host", "REQ_04_04_01", "pushes with a Host header that is not the callback's host")
	q("push-no-accept", "REQ_04_04_03", "pushes without an Accept header")
	q("no-put", "REQ_04_09_01", "refuses PUT on subscriptions with 405")
	q("location-not-gettable", "REQ_04_09_03", "answers a creation with a Location that cannot be read")
	q("delete-noop", "REQ_04_09_05", "answers DELETE of a subscription 204 but keeps it")
	q("subscription-delete-200", "REQ_04_10_02", "answers a successful DELETE 200 with a body instead of 204")
	q("bad-json-500", "REQ_04_10_02", "answers a malformed JSON body 500 instead of 400")
	q("create-on-error", "REQ_04_10_03", "stores a subscription profile although it answers 400 for it")
}

// profile is a subscription profile (4.3): where and with which token the
// offering party pushes.
type profile struct {
	id            string
	client        string
	tokenType     string
	token         string
	expiresIn     time.Duration // spec time
	created       time.Time
	expires       time.Time // wall
	tokenEndpoint string
	callback      string

	mu        sync.Mutex
	access    string
	accessExp time.Time
}

// subscription is one subscription to a resource (4.3) or to container
// events (5.2).
type subscription struct {
	id        string
	client    string
	resource  string // the push resource: odometerSubscriptions
	target    Resource
	profileID string
	vehicles  []string // VINs; empty: every vehicle
	created   time.Time
	container []containerEvents // container event subscriptions only

	mu         sync.Mutex
	status     string
	reason     string
	httpStatus int
	timestamp  time.Time
	deleted    bool
	queue      chan pushJob
}

type pushJob struct {
	path string
	body []byte
	res  *Resource
	ver  Version
}

// PushRecord is one push the offering party attempted.
type PushRecord struct {
	SubscriptionID string
	Method         string
	URL            string
	Status         int
	Err            string
	At             time.Time
	Took           time.Duration
	// ContentType and BodyLen describe the callback's answer.
	ContentType string
	BodyLen     int
}

type subStore struct {
	mu       sync.Mutex
	profiles map[string]*profile
	subs     map[string]*subscription
	order    []string
	pushes   []PushRecord
	nextID   int
}

func (s *subStore) init() {
	s.profiles = map[string]*profile{}
	s.subs = map[string]*subscription{}
	s.nextID = 1000
}

// Pushes returns every push attempt so far, in order.
func (op *OfferingParty) Pushes() []PushRecord {
	op.subs.mu.Lock()
	defer op.subs.mu.Unlock()
	return append([]PushRecord(nil), op.subs.pushes...)
}

// SubscriptionState is what an accessing party sees of a subscription.
type SubscriptionState struct {
	ID, Resource, ProfileID, Status, Reason string
	HTTPStatus                              int
	Timestamp                               time.Time
}

// Subscriptions returns every subscription's state, in creation order.
func (op *OfferingParty) Subscriptions() []SubscriptionState {
	op.subs.mu.Lock()
	defer op.subs.mu.Unlock()
	var out []SubscriptionState
	for _, id := range op.subs.order {
		s := op.subs.subs[id]
		if s == nil {
			continue
		}
		s.mu.Lock()
		out = append(out, SubscriptionState{ID: s.id, Resource: s.resource, ProfileID: s.profileID, Status: s.status, Reason: s.reason, HTTPStatus: s.httpStatus, Timestamp: s.timestamp})
		s.mu.Unlock()
	}
	return out
}

// parseProfile reads a subscription profile (Tables 15 to 19, I-203): the
// spellings of Tables 15 to 17 and those of Tables 18 to 20, expires_in as
// a number or a string of digits. Every problem is reported.
func (op *OfferingParty) parseProfile(m map[string]any, client string) (*profile, *apiError) {
	str := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := m[k].(string); ok {
				return v
			}
		}
		return ""
	}
	p := &profile{id: "", client: client, created: time.Now()}
	p.tokenType = str("token_type", "token-type", "tokenType")
	p.token = str("token")
	p.tokenEndpoint = str("tokenEndpoint", "token_endpoint")
	p.callback = str("callbackBaseURI", "callBackBaseURI", "callback_base_uri")
	var errs []*apiError
	switch p.tokenType {
	case "refresh_token", "bearer_token":
	default:
		errs = append(errs, errf(http.StatusBadRequest, "BAD_TOKEN_TYPE", "token_type %q: refresh_token or bearer_token (REQ_04_03_02, REQ_04_03_03)", p.tokenType))
	}
	if p.token == "" {
		errs = append(errs, errf(http.StatusBadRequest, "TOKEN_MISSING", "token missing (REQ_04_03_02, REQ_04_03_03)"))
	}
	var secs float64
	switch v := m["expires_in"].(type) {
	case json.Number:
		secs, _ = v.Float64()
	case float64:
		secs = v
	case string:
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			secs = n
		}
	}
	if secs <= 0 {
		errs = append(errs, errf(http.StatusBadRequest, "EXPIRES_IN", "expires_in missing or not a positive number of seconds (REQ_04_03_02, REQ_04_03_03)"))
	}
	p.expiresIn = time.Duration(secs * float64(time.Second))
	p.expires = p.created.Add(op.cfg.wall(p.expiresIn))
	if u, err := url.Parse(p.callback); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, errf(http.StatusBadRequest, "CALLBACK_BASE_URI", "callbackBaseURI %q is not an absolute https URI (REQ_04_03_01, REQ_04_01_01)", p.callback))
	}
	if p.tokenType == "refresh_token" {
		if u, err := url.Parse(p.tokenEndpoint); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, errf(http.StatusBadRequest, "TOKEN_ENDPOINT", "tokenEndpoint %q is not an absolute https URI (REQ_04_03_02)", p.tokenEndpoint))
		}
	}
	if len(errs) > 0 {
		e := errs[0]
		e.more = errs[1:]
		return p, e
	}
	return p, nil
}

func (s *subStore) newID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	return strconv.Itoa(s.nextID)
}

func (op *OfferingParty) profileJSON(p *profile) obj {
	o := obj{"profileId": p.id, "token_type": p.tokenType, "tokenExpTime": p.expires.Unix()}
	if op.q.Has("token-exp-ms") {
		o["tokenExpTime"] = p.expires.UnixMilli()
	}
	if p.tokenEndpoint != "" {
		o["tokenEndpoint"] = p.tokenEndpoint
	}
	if !op.q.Has("profile-no-callback") {
		o["callbackBaseURI"] = p.callback
	}
	return o
}

// serveProfiles is {b}/subscriptionProfiles[/{profileId}] (REQ_04_03_07 to 09).
func (op *OfferingParty) serveProfiles(rq *req) center.Answer {
	if e := op.scopeCheck(rq, "exve:subscriptions"); e != nil {
		return op.errorAnswer(rq.r, e)
	}
	s := &op.subs
	if len(rq.parts) == 1 {
		switch rq.r.Method {
		case http.MethodGet:
			s.mu.Lock()
			var list []*profile
			for _, p := range s.profiles {
				if p.client == rq.g.client {
					list = append(list, p)
				}
			}
			s.mu.Unlock()
			sort.Slice(list, func(i, j int) bool { return list[i].created.Before(list[j].created) })
			items := []any{}
			for _, p := range list {
				items = append(items, op.profileJSON(p))
			}
			return op.reply(http.StatusOK, mtJSON, nil, Version{}, obj{"profiles": items})
		case http.MethodPost:
			var m map[string]any
			if e := readJSON(rq, &m, true); e != nil {
				return op.badJSON(rq, e)
			}
			if inner, ok := m["profile"].(map[string]any); ok {
				m = inner
			}
			p, e := op.parseProfile(m, rq.g.client)
			if e != nil && !op.q.Has("create-on-error") {
				return op.errorAnswer(rq.r, e)
			}
			p.id = s.newID()
			s.mu.Lock()
			s.profiles[p.id] = p
			s.mu.Unlock()
			if e != nil {
				return op.errorAnswer(rq.r, e)
			}
			code := http.StatusCreated
			if op.q.Has("profile-create-200") {
				code = http.StatusOK
			}
			a := op.reply(code, mtJSON, nil, Version{}, obj{"profileId": p.id})
			a.Header.Set("Location", op.created("subscriptionProfiles", p.id))
			return a
		}
		return notAllowed(op, rq, http.MethodGet, http.MethodPost)
	}
	id := rq.parts[1]
	s.mu.Lock()
	p := s.profiles[id]
	s.mu.Unlock()
	if p == nil || p.client != rq.g.client || len(rq.parts) != 2 {
		return op.errorAnswer(rq.r, errf(http.StatusNotFound, "UNKNOWN_PROFILE", "no subscription profile %s", id))
	}
	switch rq.r.Method {
	case http.MethodGet:
		return op.reply(http.StatusOK, mtJSON, nil, Version{}, op.profileJSON(p))
	case http.MethodDelete:
		for _, sub := range op.subsOf(rq.g.client) {
			sub.mu.Lock()
			used := sub.profileID == id && !sub.deleted
			sub.mu.Unlock()
			if used {
				return op.errorAnswer(rq.r, errf(http.StatusBadRequest, "PROFILE_IN_USE", "subscription %s uses profile %s; delete it first", sub.id, id))
			}
		}
		if !op.q.Has("profile-delete-noop") {
			s.mu.Lock()
			delete(s.profiles, id)
			s.mu.Unlock()
		}
		return center.Answer{Status: http.StatusNoContent, By: serviceName}
	}
	return notAllowed(op, rq, http.MethodGet, http.MethodDelete)
}

// created is the absolute URI of a created resource (E23: absolute).
func (op *OfferingParty) created(collection, id string) string {
	if op.q.Has("location-not-gettable") {
		return op.base.String() + "/created/" + id
	}
	return op.base.String() + "/" + collection + "/" + id
}

func (op *OfferingParty) badJSON(rq *req, e *apiError) center.Answer {
	if op.q.Has("bad-json-500") && e.id == "MALFORMED_JSON" {
		e = errf(http.StatusInternalServerError, "INTERNAL", "internal error")
	}
	return op.errorAnswer(rq.r, e)
}

func (op *OfferingParty) subsOf(client string) []*subscription {
	op.subs.mu.Lock()
	defer op.subs.mu.Unlock()
	var out []*subscription
	for _, id := range op.subs.order {
		if s := op.subs.subs[id]; s != nil && s.client == client {
			out = append(out, s)
		}
	}
	return out
}

// subscriptionResource finds the data resource of a push resource name.
func (op *OfferingParty) subscriptionResource(name string) (Resource, bool) {
	for _, r := range op.cat.Resources {
		if r.Subscription == "" {
			continue
		}
		want := r.Subscription
		if op.q.Has("subscription-suffix") {
			want = strings.TrimSuffix(r.Subscription, "Subscriptions") + "Pushes"
		}
		if want == name {
			return r, true
		}
	}
	return Resource{}, false
}

func (op *OfferingParty) subJSON(s *subscription) obj {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := obj{"subscriptionId": s.id, "resource": s.resource}
	if !op.q.Has("subscriptions-list-no-profile") {
		o["profileId"] = s.profileID
	}
	if !op.q.Has("no-subscription-status") {
		o["status"] = s.status
	}
	var vids []string
	for _, vin := range s.vehicles {
		vids = append(vids, op.vehicleID(vin))
	}
	if s.container == nil {
		o["vehicleIds"] = vids
	}
	if s.status == "INACTIVE" && s.reason != "" {
		o["reason"] = s.reason
		if s.httpStatus != 0 && !op.q.Has("deactivation-no-status-code") {
			o["httpStatusCode"] = strconv.Itoa(s.httpStatus)
		}
		if !s.timestamp.IsZero() && !op.q.Has("deactivation-no-timestamp") {
			o["timestamp"] = timeString(s.timestamp)
		}
	}
	return o
}

// serveSubscriptionList is GET {b}/subscriptions (REQ_04_03_21).
func (op *OfferingParty) serveSubscriptionList(rq *req) center.Answer {
	if e := op.scopeCheck(rq, "exve:subscriptions"); e != nil {
		return op.errorAnswer(rq.r, e)
	}
	if rq.r.Method != http.MethodGet {
		return notAllowed(op, rq, http.MethodGet)
	}
	items := []any{}
	for _, s := range op.subsOf(rq.g.client) {
		s.mu.Lock()
		gone := s.deleted
		s.mu.Unlock()
		if !gone || op.q.Has("delete-noop") {
			items = append(items, op.subJSON(s))
		}
	}
	return op.reply(http.StatusOK, mtJSON, nil, Version{}, obj{"subscriptions": items})
}

// profileFor resolves the profile of a subscription request: a full
// profile (created implicitly) or a profileId (REQ_04_03_04 to 06).
func (op *OfferingParty) profileFor(rq *req, body map[string]any) (*profile, *apiError) {
	if pm, ok := body["profile"].(map[string]any); ok {
		p, e := op.parseProfile(pm, rq.g.client)
		if e != nil {
			return nil, e
		}
		p.id = op.subs.newID()
		op.subs.mu.Lock()
		op.subs.profiles[p.id] = p
		op.subs.mu.Unlock()
		return p, nil
	}
	pid := ""
	switch v := body["profileId"].(type) {
	case string:
		pid = v
	case json.Number:
		pid = v.String()
	}
	if pid == "" {
		if op.q.Has("subscription-without-profile") {
			return nil, nil
		}
		return nil, errf(http.StatusBadRequest, "PROFILE_MISSING", "a subscription needs a profile or a profileId (REQ_04_03_04)")
	}
	op.subs.mu.Lock()
	p := op.subs.profiles[pid]
	op.subs.mu.Unlock()
	if p == nil || p.client != rq.g.client {
		if op.q.Has("unknown-profile-accepted") {
			return &profile{id: pid, client: rq.g.client, expires: time.Now().Add(time.Hour)}, nil
		}
		return nil, errf(http.StatusBadRequest, "UNKNOWN_PROFILE", "profileId %s names no subscription profile of this accessing party", pid)
	}
	return p, nil
}

// serveSubscriptions is {b}/{resource}Subscriptions[/{id}] (4.3).
func (op *OfferingParty) serveSubscriptions(rq *req) center.Answer {
	name := rq.parts[0]
	target, ok := op.subscriptionResource(name)
	if !ok {
		return op.errorAnswer(rq.r, errf(http.StatusNotFound, "NOT_FOUND", "no push resource %s", name))
	}
	if e := op.scopeCheck(rq, "exve:subscriptions"); e != nil {
		return op.errorAnswer(rq.r, e)
	}
	if e := op.scopeCheck(rq, target.Scope); e != nil {
		return op.errorAnswer(rq.r, e)
	}
	if len(rq.parts) == 1 {
		create := http.MethodPost
		if op.q.Has("subscribe-by-put") {
			create = http.MethodPut
		}
		switch rq.r.Method {
		case http.MethodGet:
			items := []any{}
			for _, s := range op.subsOf(rq.g.client) {
				s.mu.Lock()
				match := s.resource == name && (!s.deleted || op.q.Has("delete-noop"))
				s.mu.Unlock()
				if match {
					items = append(items, op.subJSON(s))
				}
			}
			return op.reply(http.StatusOK, mtJSON, nil, Version{}, obj{"subscriptions": items})
		case create:
			return op.createSubscription(rq, name, target)
		}
		return notAllowed(op, rq, http.MethodGet, create)
	}
	id := rq.parts[1]
	var sub *subscription
	for _, s := range op.subsOf(rq.g.client) {
		s.mu.Lock()
		if s.id == id && s.resource == name && (!s.deleted || op.q.Has("delete-noop")) {
			sub = s
		}
		s.mu.Unlock()
	}
	if sub == nil || len(rq.parts) != 2 {
		return op.errorAnswer(rq.r, errf(http.StatusNotFound, "UNKNOWN_SUBSCRIPTION", "no subscription %s", id))
	}
	switch rq.r.Method {
	case http.MethodGet:
		return op.reply(http.StatusOK, mtJSON, nil, Version{}, op.subJSON(sub))
	case http.MethodPut:
		if op.q.Has("no-put") {
			return notAllowed(op, rq, http.MethodGet, http.MethodDelete)
		}
		return op.updateSubscription(rq, sub, target)
	case http.MethodDelete:
		if !op.q.Has("delete-noop") {
			sub.mu.Lock()
			sub.deleted = true
			sub.mu.Unlock()
			if !op.q.Has("pushes-after-delete") {
				sub.mu.Lock()
				sub.status = "INACTIVE"
				sub.mu.Unlock()
			}
		}
		if op.q.Has("subscription-delete-200") {
			return op.reply(http.StatusOK, mtJSON, nil, Version{}, obj{"subscriptionId": sub.id, "deleted": true})
		}
		return center.Answer{Status: http.StatusNoContent, By: serviceName}
	}
	return notAllowed(op, rq, http.MethodGet, http.MethodPut, http.MethodDelete)
}

func (op *OfferingParty) createSubscription(rq *req, name string, target Resource) center.Answer {
	var body map[string]any
	if e := readJSON(rq, &body, false); e != nil {
		return op.badJSON(rq, e)
	}
	var vins []string
	for _, id := range rq.query["vehicleId"] {
		vin, ok := op.resolve(id)
		if !ok {
			return op.errorAnswer(rq.r, errf(http.StatusNotFound, "UNKNOWN_VEHICLE", "no vehicle %s", id))
		}
		vins = append(vins, vin)
	}
	p, e := op.profileFor(rq, body)
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	sub := &subscription{id: uuid.NewString(), client: rq.g.client, resource: name, target: target, vehicles: vins, created: time.Now(), status: "ACTIVE", queue: make(chan pushJob, 32)}
	if op.q.Has("reused-subscription-id") {
		sub.id = "00000000-0000-4000-8000-000000000001"
	}
	if p != nil {
		sub.profileID = p.id
	}
	op.addSubscription(sub)
	out := obj{"subscriptionId": sub.id}
	if p != nil && !op.q.Has("no-profile-id") {
		out["profileId"] = p.id
	}
	a := op.reply(http.StatusCreated, mtJSON, nil, Version{}, out)
	a.Header.Set("Location", op.created(name, sub.id))
	return a
}

func (op *OfferingParty) addSubscription(sub *subscription) {
	op.subs.mu.Lock()
	op.subs.order = append(op.subs.order, sub.id) // a reused ID shows twice
	op.subs.subs[sub.id] = sub
	op.subs.mu.Unlock()
	op.wg.Add(1)
	go func() {
		defer op.wg.Done()
		op.pushWorker(sub)
	}()
}

// updateSubscription is PUT (REQ_04_03_13, I-202): ?addVehicleId=,
// ?removeVehicleId=, a status (pause, resume) in the body or query, or
// Table 24's {"<useCase>": [{"vehicleId": ...}, {"action": "ADD"}]}.
func (op *OfferingParty) updateSubscription(rq *req, sub *subscription, target Resource) center.Answer {
	var body map[string]any
	if e := readJSON(rq, &body, false); e != nil {
		return op.badJSON(rq, e)
	}
	add := append([]string(nil), rq.query["addVehicleId"]...)
	remove := append([]string(nil), rq.query["removeVehicleId"]...)
	if list, ok := body[target.UseCase].([]any); ok {
		action, ids := "ADD", []string{}
		for _, e := range list {
			m, _ := e.(map[string]any)
			if v, ok := m["vehicleId"].(string); ok {
				ids = append(ids, v)
			}
			if a, ok := m["action"].(string); ok {
				action = strings.ToUpper(a)
			}
		}
		if action == "REMOVE" {
			remove = append(remove, ids...)
		} else {
			add = append(add, ids...)
		}
	}
	status := rq.query.Get("status")
	if s, ok := body["status"].(string); ok {
		status = s
	}
	if status != "" && status != "ACTIVE" && status != "INACTIVE" {
		return op.errorAnswer(rq.r, errf(http.StatusBadRequest, "BAD_STATUS", "status %q: ACTIVE or INACTIVE (REQ_04_03_16)", status))
	}
	var addVINs, removeVINs []string
	for _, id := range add {
		vin, ok := op.resolve(id)
		if !ok {
			return op.errorAnswer(rq.r, errf(http.StatusNotFound, "UNKNOWN_VEHICLE", "no vehicle %s", id))
		}
		addVINs = append(addVINs, vin)
	}
	for _, id := range remove {
		if vin, ok := op.resolve(id); ok {
			removeVINs = append(removeVINs, vin)
		}
	}
	sub.mu.Lock()
	if !op.q.Has("put-ignored") {
		for _, vin := range addVINs {
			if !containsString(sub.vehicles, vin) {
				sub.vehicles = append(sub.vehicles, vin)
			}
		}
		kept := sub.vehicles[:0]
		for _, vin := range sub.vehicles {
			if !containsString(removeVINs, vin) {
				kept = append(kept, vin)
			}
		}
		sub.vehicles = kept
	}
	switch {
	case status == "INACTIVE" && !op.q.Has("pause-ignored"):
		sub.status, sub.reason, sub.httpStatus, sub.timestamp = "INACTIVE", "", 0, time.Time{}
	case status == "ACTIVE" && !op.q.Has("resume-ignored"):
		sub.status, sub.reason, sub.httpStatus, sub.timestamp = "ACTIVE", "", 0, time.Time{}
	}
	sub.mu.Unlock()
	return op.reply(http.StatusOK, mtJSON, nil, Version{}, op.subJSON(sub))
}

// uploaded pushes what an upload brought to the subscriptions of its
// vehicle: the latest sample of each subscribed resource.
func (s *subStore) uploaded(op *OfferingParty, in Ingested) {
	s.mu.Lock()
	var subs []*subscription
	for _, id := range s.order {
		if sub := s.subs[id]; sub != nil && sub.container == nil {
			subs = append(subs, sub)
		}
	}
	s.mu.Unlock()
	for _, sub := range subs {
		sub.mu.Lock()
		want := (sub.status == "ACTIVE" || op.q.Has("stays-active-after-token-expiry") && sub.reason == "TOKEN_EXPIRED") && (!sub.deleted || op.q.Has("pushes-after-delete")) &&
			(len(sub.vehicles) == 0 || containsString(sub.vehicles, in.VIN))
		sub.mu.Unlock()
		if !want || in.Messages[seriesOf(sub.target)] == 0 {
			continue
		}
		ss := op.samples(in.VIN, sub.target, listQuery{})
		if len(ss) == 0 {
			continue
		}
		ver := sub.target.Latest()
		item := op.dataItem(sub.target, ver, ss[len(ss)-1])
		item["vehicleId"] = op.vehicleID(in.VIN)
		b, _ := json.Marshal(obj{sub.target.UseCase: item, "subscriptionId": sub.id})
		res := sub.target
		op.enqueue(sub, pushJob{path: op.pushPath(res), body: b, res: &res, ver: ver})
	}
}

// pushPath is the path element after the callbackBaseURI (I-231).
func (op *OfferingParty) pushPath(res Resource) string {
	if op.q.Has("push-plural-path") {
		return res.Name
	}
	return res.UseCase
}

func (op *OfferingParty) enqueue(sub *subscription, j pushJob) {
	select {
	case sub.queue <- j:
	default:
		op.logf("exve: subscription %s: push queue full; push dropped", sub.id)
	}
}

// pushWorker delivers a subscription's pushes one at a time.
func (op *OfferingParty) pushWorker(sub *subscription) {
	for {
		select {
		case <-op.ctx.Done():
			return
		case j := <-sub.queue:
			op.deliver(sub, j)
		}
	}
}

// active reports whether the subscription may push.
func (op *OfferingParty) active(sub *subscription) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.deleted && !op.q.Has("pushes-after-delete") {
		return false
	}
	return sub.status == "ACTIVE"
}

// deactivate sets the subscription INACTIVE with a reason of Table 27
// (REQ_04_03_20); the variant keep-active-on-push-errors keeps it ACTIVE
// (REQ_04_03_19 makes deactivation optional), except on TOKEN_EXPIRED.
func (op *OfferingParty) deactivate(sub *subscription, reason string, status int, at time.Time) {
	if reason != "TOKEN_EXPIRED" && op.q.Has("keep-active-on-push-errors") {
		op.logf("exve: subscription %s: %s (%d); kept ACTIVE", sub.id, reason, status)
		return
	}
	if reason == "TOKEN_EXPIRED" && op.q.Has("stays-active-after-token-expiry") {
		return
	}
	if op.q.Has("reason-generic") {
		reason = "PUSH_HTTP_STATUS_CODE"
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.status != "ACTIVE" {
		return
	}
	sub.status, sub.reason, sub.httpStatus, sub.timestamp = "INACTIVE", reason, status, at
	op.logf("exve: subscription %s deactivated: %s (%d)", sub.id, reason, status)
}

// errTokenExpired and errRenew classify a push token's failure.
var errTokenExpired = errors.New("the profile's token has expired")

type renewError struct {
	status int
	err    error
}

func (e *renewError) Error() string { return fmt.Sprintf("renewing the access token: %v", e.err) }

// pushToken is the bearer token of a push: the profile's bearer token, or
// an access token from its tokenEndpoint by the refresh-token grant
// (REQ_04_03_02, RFC 6749 6), cached until it expires.
func (op *OfferingParty) pushToken(p *profile, renew bool) (string, error) {
	if time.Now().After(p.expires) {
		return "", errTokenExpired
	}
	if p.tokenType == "bearer_token" || op.q.Has("push-with-refresh-token") {
		return p.token, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !renew && p.access != "" && time.Now().Before(p.accessExp) {
		return p.access, nil
	}
	conf := &oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: p.tokenEndpoint, AuthStyle: oauth2.AuthStyleInParams}}
	ctx, cancel := context.WithTimeout(context.WithValue(op.ctx, oauth2.HTTPClient, op.pushHTTP), op.cfg.wall(op.cfg.PushTimeout))
	defer cancel()
	tok, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: p.token}).Token()
	if err != nil {
		status := 0
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			status = re.Response.StatusCode
		}
		return "", &renewError{status: status, err: err}
	}
	p.access = tok.AccessToken
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life <= 0 && !tok.Expiry.IsZero() {
		life = time.Until(tok.Expiry).Round(time.Second) // expires_in, spec seconds
	}
	if life <= 0 {
		life = time.Hour
	}
	p.accessExp = time.Now().Add(op.cfg.wall(life))
	if tok.RefreshToken != "" && tok.RefreshToken != p.token {
		p.token = tok.RefreshToken // a rotated refresh token
	}
	return p.access, nil
}

// deliver pushes one job, retrying PushAttempts times, and deactivates the
// subscription with the reason of Table 27 when it cannot.
func (op *OfferingParty) deliver(sub *subscription, j pushJob) {
	renewed := false
	for attempt := 1; ; attempt++ {
		if !op.active(sub) {
			return
		}
		op.subs.mu.Lock()
		p := op.subs.profiles[sub.profileID]
		op.subs.mu.Unlock()
		if p == nil {
			op.logf("exve: subscription %s has no profile; push dropped", sub.id)
			return
		}
		tok, err := op.pushToken(p, renewed)
		var re *renewError
		switch {
		case errors.Is(err, errTokenExpired):
			op.deactivate(sub, "TOKEN_EXPIRED", 0, time.Now())
			return
		case errors.As(err, &re):
			op.record(PushRecord{SubscriptionID: sub.id, Method: http.MethodPost, URL: p.tokenEndpoint, Status: re.status, Err: re.Error(), At: time.Now()})
			op.deactivate(sub, "RENEW_TOKEN_ERROR", re.status, time.Now())
			return
		}
		at := time.Now()
		status, perr := op.pushOnce(sub, p, tok, j)
		if perr == nil && status >= 200 && status < 300 {
			return
		}
		if perr == nil && (status == http.StatusUnauthorized || status == http.StatusForbidden) {
			if p.tokenType == "refresh_token" && !renewed && !op.q.Has("push-with-refresh-token") {
				renewed = true // the access token may have expired: renew once
				attempt--
				continue
			}
			op.deactivate(sub, "AUTH_ERROR", status, at)
			return
		}
		reason := "PUSH_HTTP_STATUS_CODE"
		var ne net.Error
		switch {
		case perr != nil && errors.As(perr, &ne) && ne.Timeout():
			reason, status = "TIMEOUT", 0
		case perr != nil:
			reason, status = "AP_SERVICE_NOT_AVAILABLE", 0
		}
		if attempt >= op.cfg.PushAttempts {
			op.deactivate(sub, reason, status, at)
			return
		}
		if !op.sleep(op.cfg.wall(op.cfg.PushRetryInterval)) {
			return
		}
	}
}

func (op *OfferingParty) record(r PushRecord) {
	op.subs.mu.Lock()
	defer op.subs.mu.Unlock()
	op.subs.pushes = append(op.subs.pushes, r)
}

// pushOnce sends one push: POST {callbackBaseURI}/{resource} (REQ_04_03_15)
// with Host, Authorization: Bearer, Accept and a versioned Content-Type.
func (op *OfferingParty) pushOnce(sub *subscription, p *profile, token string, j pushJob) (int, error) {
	u, err := url.Parse(p.callback)
	if err != nil {
		return 0, err
	}
	if op.q.Has("callback-root") {
		u.Path = ""
	}
	u = u.JoinPath(j.path)
	method := http.MethodPost
	if op.q.Has("push-put") {
		method = http.MethodPut
	}
	ctx, cancel := context.WithTimeout(op.ctx, op.cfg.wall(op.cfg.PushTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(j.body))
	if err != nil {
		return 0, err
	}
	if !op.q.Has("push-without-bearer") {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if !op.q.Has("push-no-accept") {
		req.Header.Set("Accept", mtJSON)
	}
	if j.res != nil {
		req.Header.Set("Content-Type", op.contentType(mtJSON, j.res, j.ver))
	} else {
		req.Header.Set("Content-Type", mtJSON+"; charset=utf-8")
	}
	if op.q.Has("push-wrong-host") {
		req.Host = "exve-ap.invalid"
	}
	start := time.Now()
	resp, err := op.pushHTTP.Do(req)
	rec := PushRecord{SubscriptionID: sub.id, Method: method, URL: u.String(), At: start, Took: time.Since(start)}
	if err != nil {
		rec.Err = err.Error()
		op.record(rec)
		return 0, err
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	rec.Status, rec.ContentType, rec.BodyLen = resp.StatusCode, resp.Header.Get("Content-Type"), int(n)
	op.record(rec)
	return resp.StatusCode, nil
}

// expiryLoop inactivates the subscriptions whose profile's token has
// expired (REQ_04_03_10), whether or not a push is due.
func (s *subStore) expiryLoop(op *OfferingParty) {
	tick := min(max(op.cfg.wall(500*time.Millisecond), 5*time.Millisecond), 500*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-op.ctx.Done():
			return
		case now := <-t.C:
			s.mu.Lock()
			var expired []*subscription
			for _, id := range s.order {
				sub := s.subs[id]
				if sub == nil {
					continue
				}
				if p := s.profiles[sub.profileID]; p != nil && now.After(p.expires) {
					expired = append(expired, sub)
				}
			}
			s.mu.Unlock()
			for _, sub := range expired {
				op.deactivate(sub, "TOKEN_EXPIRED", 0, now)
			}
		}
	}
}

// DropSubscriptions deletes every subscription (a harness playing the
// offering party clears what an accessing party DUT left behind).
func (op *OfferingParty) DropSubscriptions() {
	op.subs.mu.Lock()
	defer op.subs.mu.Unlock()
	for _, s := range op.subs.subs {
		s.mu.Lock()
		s.deleted, s.status = true, "INACTIVE"
		s.mu.Unlock()
	}
}

// PushTest queues n pushes of a test item to subscription id, waiting for
// room in its queue (for benchmarks: the pushes go out exactly as data
// pushes do).
func (op *OfferingParty) PushTest(ctx context.Context, id string, n int) error {
	op.subs.mu.Lock()
	sub := op.subs.subs[id]
	op.subs.mu.Unlock()
	if sub == nil {
		return fmt.Errorf("no subscription %s", id)
	}
	res := sub.target
	ver := res.Latest()
	for i := 0; i < n; i++ {
		b, _ := json.Marshal(obj{res.UseCase: obj{"timestamp": timeString(time.Now()), "value": i, "unit": "km"}, "subscriptionId": id})
		select {
		case sub.queue <- pushJob{path: op.pushPath(res), body: b, res: &res, ver: ver}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
