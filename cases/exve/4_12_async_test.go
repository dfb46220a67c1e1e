package exve_test

// 4.12.1: the asynchronous interaction pattern, read from the vehicle over
// the core protocols (a push to the vehicle, its real-time upload; I-229).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	exveop "github.com/icoc-dev/icoc/simulator/exve"
	"github.com/icoc-dev/icoc/simulator/exveap"
	exvespec "github.com/icoc-dev/icoc/spec/exve"
	. "github.com/onsi/ginkgo/v2"
)

// asyncRes is the catalogue's asynchronous resource.
func asyncRes() exveop.Resource {
	a := ex.Catalogue.OfKind(exveop.KindAsync)
	if len(a) == 0 {
		Skip("not applicable: the catalogue declares no asynchronous resource")
	}
	return a[0]
}

// startReadout POSTs a readout of vehicle vid and returns the answer and
// its Location made absolute ("" when none).
func startReadout(ctx context.Context, q harness.Requirement, vid string) (*respT, string) {
	GinkgoHelper()
	res := asyncRes()
	r := opc().Do(ctx, "POST", "/vehicles/"+url.PathEscape(vid)+"/"+res.Name+"?dtcStatus=ALL")
	answered(q, r)
	loc := r.Header.Get("Location")
	if loc != "" {
		loc = resolve(r.URL, loc)
	}
	return r, loc
}

// readoutObj is the object of a readout body that holds asyncStatus (the
// body itself, or its one wrapped object).
func readoutObj(r *respT) map[string]any {
	m := r.Object()
	if _, ok := m["asyncStatus"]; ok {
		return m
	}
	for _, v := range m {
		if o, ok := v.(map[string]any); ok {
			return o
		}
	}
	return m
}

// pollReadout GETs loc at asyncWait until Complete or Fail, or until d
// (spec) has passed; it returns the last readout and every one.
func pollReadout(ctx context.Context, q harness.Requirement, loc string, d time.Duration) (map[string]any, []map[string]any) {
	GinkgoHelper()
	deadline := time.Now().Add(run.Clock.Wall(d))
	var all []map[string]any
	for {
		r := get(ctx, loc)
		status(q, r, 200)
		o := readoutObj(r)
		all = append(all, o)
		st := fmt.Sprint(o["asyncStatus"])
		if st == "Complete" || st == "Fail" || time.Now().After(deadline) {
			return o, all
		}
		wait := time.Second
		if w, ok := o["asyncWait"].(float64); ok && w > 0 {
			wait = time.Duration(w) * time.Millisecond
		}
		time.Sleep(run.Clock.Wall(wait))
	}
}

// REQ_04_12_01: "The asynchronous interaction pattern shall start with an
// HTTP POST request."
var _ = op("REQ_04_12_01", "a readout is started by POST (201 or 202)", qs("readout-post-405"),
	func(ctx SpecContext, q harness.Requirement) {
		r, _ := startReadout(ctx, q, vehicleID(ctx, q))
		status(q, r, 201, 202)
	})

// REQ_04_12_03: "If the asynchronous request result is available
// immediately, the response to a POST request shall be “201 Created” and
// include the result in the message body." (I-229)
var _ = op("REQ_04_12_03", "a readout answered 201 carries the result: asyncStatus Complete and the DTC list", qs("201-without-result"),
	func(ctx SpecContext, q harness.Requirement) {
		res := asyncRes()
		r, _ := startReadout(ctx, q, vehicleID(ctx, q))
		status(q, r, 201, 202)
		if r.Status == 202 {
			report("202", "the offering party answered 202; REQ_04_12_03 applies to a 201 only")
			return
		}
		o := readoutObj(r)
		_, hasList := o[res.Items].([]any)
		check(o["asyncStatus"] == "Complete" && hasList, q, "asyncStatus Complete and the result ("+res.Items+") in the 201's body", "%s", r.Describe())
	})

var _ = withVariants("REQ_04_12_03", "", harness.ExVeOPQuirkPrefix+"always-202")

// REQ_04_12_04: "If the asynchronous request result is not available
// immediately, the response to a POST request shall be “202 Accepted” and
// the status of the request shall be available at an URI provided in the
// HTTP header “Location”."
var _ = op("REQ_04_12_04", "a readout of a vehicle without power is answered 202 with a Location that gives its status", qs("async-202-no-location"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		offline(ctx)
		r, loc := startReadout(ctx, q, vid)
		status(q, r, 202)
		check(loc != "" && underBase(loc), q, "a Location under the base URI", "%s", r.Describe())
		g := get(ctx, loc)
		status(q, g, 200)
		_, ok := readoutObj(g)["asyncStatus"]
		check(ok, q, "the request's status at the Location", "%s", g.Describe())
	})

// offlineReadout starts a readout of the powerless vehicle and returns the
// first GET of its Location.
func offlineReadout(ctx SpecContext, q harness.Requirement) (*respT, string) {
	GinkgoHelper()
	vid := vehicleID(ctx, q)
	offline(ctx)
	r, loc := startReadout(ctx, q, vid)
	status(q, r, 202)
	check(loc != "", q, "a Location", "%s", r.Describe())
	g := get(ctx, loc)
	status(q, g, 200)
	return g, loc
}

// REQ_04_12_05: "A GET request on the returned location shall return the
// status of the asynchronous request in the message body using the keyword
// “asyncStatus”." (I-205)
var _ = op("REQ_04_12_05", "a GET on the Location answers 200 with asyncStatus", qs("async-status-key"),
	func(ctx SpecContext, q harness.Requirement) {
		g, _ := offlineReadout(ctx, q)
		_, ok := readoutObj(g)["asyncStatus"]
		check(ok, q, "asyncStatus in the body", "%s", g.Describe())
	})

// REQ_04_12_06: "The status of the asynchronous request shall be one of the
// following values: Pending, InProgress, Complete, Fail." (Table 34)
var _ = op("REQ_04_12_06", "every asyncStatus is one of Table 34's states, from the first GET to the result", qs("async-status-case"),
	func(ctx SpecContext, q harness.Requirement) {
		g, loc := offlineReadout(ctx, q)
		seen := []any{readoutObj(g)["asyncStatus"]}
		_ = run.Ignition(ctx, bench.IGOn)
		_, all := pollReadout(ctx, q, loc, ex.Cfg.AsyncTimeout)
		for _, o := range all {
			seen = append(seen, o["asyncStatus"])
		}
		for _, s := range seen {
			st, _ := s.(string)
			check(exvespec.IsAsyncState(st), q, "Pending, InProgress, Complete or Fail", "%s (all: %v)", jsonString(s), seen)
		}
	})

// asyncKeyCheck judges one optional async key of a pending readout.
func asyncKeyCheck(key string, valid func(any) bool, want string) func(ctx SpecContext, q harness.Requirement) {
	return func(ctx SpecContext, q harness.Requirement) {
		g, _ := offlineReadout(ctx, q)
		v, ok := readoutObj(g)[key]
		check(ok && valid(v), q, key+": "+want, "%s", g.Describe())
	}
}

// REQ_04_12_07: "... a recommended waiting time in milliseconds ... If
// used, it shall be part of the message body using the keyword
// "asyncWait"."
var _ = op("REQ_04_12_07", "a pending readout gives asyncWait, a whole number of milliseconds", qs("async-wait-string"),
	asyncKeyCheck("asyncWait", func(v any) bool { f, ok := v.(float64); return ok && f >= 0 && f == float64(int64(f)) }, "a non-negative integer (ms)"))

// REQ_04_12_08: "... when the asynchronous request is estimated to be
// completed. If used, ... “asyncEstimatedComplete”."
var _ = op("REQ_04_12_08", "a pending readout gives asyncEstimatedComplete, an ISO 8601 date-time", qs("eta-not-iso"),
	asyncKeyCheck("asyncEstimatedComplete", isDateTime, "an ISO 8601 date-time"))

// REQ_04_12_09: "... the estimated progress in percentage ... “asyncProgress”."
var _ = op("REQ_04_12_09", "a pending readout gives asyncProgress, a number from 0 to 100", qs("progress-string"),
	asyncKeyCheck("asyncProgress", func(v any) bool { f, ok := v.(float64); return ok && f >= 0 && f <= 100 }, "a number from 0 to 100"))

// REQ_04_12_10: "... when the asynchronous request is ended and the related
// data is made unavailable. If used, ... “asyncRequestEndTime”."
var _ = op("REQ_04_12_10", "a readout gives asyncRequestEndTime, an ISO 8601 date-time", qs("end-time-epoch"),
	asyncKeyCheck("asyncRequestEndTime", isDateTime, "an ISO 8601 date-time"))

// dtcFrame is a DTCStatus frame of the bench DBC for an active DTC.
func dtcFrame(code uint32) (msg string, vals map[string]float64) {
	return "DTCStatus", map[string]float64{"DTCCode": float64(code), "DTCStatusByte": 0x09}
}

// dtcMatches reports whether a dtcId names code (hex in any case, with or
// without 0x, or decimal).
func dtcMatches(id any, code uint32) bool {
	s := strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(fmt.Sprint(id), "0x"), "0X"))
	if n, err := strconv.ParseUint(s, 16, 32); err == nil && uint32(n) == code {
		return true
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return err == nil && uint32(n) == code
}

// REQ_04_12_11: "If the asynchronous request is completed, the message body
// shall contain the result." The result is what the vehicle read: a DTC put
// on its CAN bus (I-229).
var _ = op("REQ_04_12_11", "a completed readout contains the DTC that was put on the vehicle's CAN bus", append(qs("complete-without-result"), "no-readout"),
	func(ctx SpecContext, q harness.Requirement) {
		res := asyncRes()
		vid := vehicleID(ctx, q)
		code := uint32(0x100000 + rand.IntN(0xEFFFF))
		onBus(ctx, frame(dtcFrame(code)))
		time.Sleep(run.Clock.Wall(200 * time.Millisecond))
		r, loc := startReadout(ctx, q, vid)
		status(q, r, 201, 202)
		o := readoutObj(r)
		if r.Status == 202 {
			check(loc != "", q, "a Location", "%s", r.Describe())
			o, _ = pollReadout(ctx, q, loc, ex.Cfg.AsyncTimeout)
		}
		check(o["asyncStatus"] == "Complete", q, "the readout Complete", "%s", jsonString(o))
		for _, d := range list(o[res.Items]) {
			if dtcMatches(obj(d)["dtcId"], code) {
				return
			}
		}
		fail(q, fmt.Sprintf("DTC %06X (put on the bus) in the result", code), "%s", jsonString(o))
	})

// REQ_04_12_12: "If the asynchronous request has failed, the message body
// shall contain the reason."
var _ = op("REQ_04_12_12", "a readout of a vehicle that stays without power fails with exveErrorId and exveErrorMsg", qs("fail-without-reason"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		offline(ctx)
		r, loc := startReadout(ctx, q, vid)
		answered(q, r)
		if r.Status >= 400 {
			check(r.Object()["exveErrorId"] != nil && r.Object()["exveErrorMsg"] != nil, q, "an error body with the reason", "%s", r.Describe())
			return
		}
		status(q, r, 202)
		o, _ := pollReadout(ctx, q, loc, ex.Cfg.AsyncTimeout)
		check(o["asyncStatus"] == "Fail", q, "asyncStatus Fail within "+ex.Cfg.AsyncTimeout.String(), "%s", jsonString(o))
		e := o
		if l, ok := o["exveErrors"].([]any); ok && len(l) > 0 {
			e = obj(l[0])
		}
		check(e["exveErrorId"] != nil && e["exveErrorMsg"] != nil, q, "the reason: exveErrorId and exveErrorMsg", "%s", jsonString(o))
	})

// REQ_04_12_13: "If the asynchronous request end time has been exceeded,
// the response shall be a 404 Not found." (I-225)
var _ = op("REQ_04_12_13", "after asyncRequestEndTime the Location answers 404 with an error body", qs("serves-after-end-time"),
	func(ctx SpecContext, q harness.Requirement) {
		r, loc := startReadout(ctx, q, vehicleID(ctx, q))
		status(q, r, 201, 202)
		if loc == "" {
			Skip("not applicable: the readout has no Location to read again")
		}
		o, _ := pollReadout(ctx, q, loc, ex.Cfg.AsyncTimeout)
		end, err := time.Parse(time.RFC3339Nano, fmt.Sprint(o["asyncRequestEndTime"]))
		check(err == nil, q, "an asyncRequestEndTime", "%s", jsonString(o))
		wait := time.Until(end) + run.Clock.Wall(run.Profile.Tolerance.Allowed(time.Second))
		if wait > 2*time.Minute {
			Skip(fmt.Sprintf("not applicable: the end time %s is too far for the suite's budget", end))
		}
		time.Sleep(max(wait, 0))
		g := get(ctx, loc)
		status(q, g, 404)
		check(g.Object()["exveErrorId"] != nil, q, "an error body with the 404 (I-225)", "%s", g.Describe())
	})

// apReadout makes the accessing party DUT read DTCs from a vehicle that
// never answers and returns its requests to the readout's Location.
func apReadout(ctx SpecContext, q harness.Requirement, secs int) []harness.Attempt {
	GinkgoHelper()
	if ex.OP == nil {
		Skip("not applicable: the harness plays no offering party")
	}
	t0 := time.Now()
	_ = ex.DUTAP.Do(ctx, exveap.ActionReadout, map[string]string{"vehicleId": ex.Cfg.UnconsentedVehicle, "timeout": strconv.Itoa(secs)})
	prefix := ex.Base.Path + "/vehicles/" + ex.Cfg.UnconsentedVehicle + "/" + asyncRes().Name + "/"
	// A request refused 401 and repeated at once with a new token is one
	// poll, not two.
	return exveAttempts(t0, func(a harness.Attempt) bool {
		return a.Method == "GET" && strings.HasPrefix(a.Path, prefix) && a.Status != 401
	})
}

// REQ_04_12_07, accessing party: it polls no faster than asyncWait.
var _ = ap("REQ_04_12_07", "it polls a Location no sooner than asyncWait after its last poll", aqs("poll-fast"),
	func(ctx SpecContext, q harness.Requirement) {
		polls := apReadout(ctx, q, 6)
		check(len(polls) >= 2, q, "two polls to judge", "%s", timelineOf(polls))
		// Judged on the mean gap, which the harness's own scheduling noise
		// cannot shift by more than one stamp's delay over the whole run.
		wait := ex.OP.Config().AsyncWait
		span := run.Clock.Spec(polls[len(polls)-1].ReceivedAt.Sub(polls[0].ReceivedAt))
		mean := span / time.Duration(len(polls)-1)
		floor := time.Duration(float64(wait) / (1 + run.Profile.Tolerance.Relative))
		check(mean >= floor, q, fmt.Sprintf("polls asyncWait (%v) apart on average, at least %v", wait, floor),
			"%d polls in %v (spec): %v apart on average:\n%s", len(polls), span.Round(time.Millisecond), mean.Round(time.Millisecond), timelineOf(polls))
	})

var _ = withVariants("REQ_04_12_07", "it polls", harness.ExVeAPQuirkPrefix+"poll-slow")

// REQ_04_12_13, accessing party: it stops polling at 404.
var _ = ap("REQ_04_12_13", "it stops polling a Location that answers 404", aqs("poll-after-404"),
	func(ctx SpecContext, q harness.Requirement) {
		prefix := ex.Base.Path + "/vehicles/" + ex.Cfg.UnconsentedVehicle + "/" + asyncRes().Name + "/"
		run.Faults.Set(center.Fault{Service: exveop.ServiceName, PathPrefix: prefix, Status: 404, Times: -1})
		polls := apReadout(ctx, q, 8)
		check(len(polls) >= 1, q, "a poll of the Location", "none")
		for i, p := range polls {
			check(p.Status != 404 || i == len(polls)-1, q, "no poll after the first 404", "%s", timelineOf(polls))
		}
	})

var _ = op("REQ_04_12_04", "a readout of a slow vehicle (the push to it delayed 10 s) is answered 202 with a Location that gives its status", qs("async-202-no-location"),
	func(ctx SpecContext, q harness.Requirement) {
		if ex.OP == nil || run.Center == nil {
			Skip("not applicable: the harness does not carry the offering party's link to its vehicles")
		}
		vid := vehicleID(ctx, q)
		// The fault plan holds the center's push to the vehicle (a slow
		// mobile link): the result cannot be at hand at once.
		run.Faults.Set(center.Fault{Outbound: true, PathPrefix: "/push/", Delay: run.Clock.Wall(10 * time.Second), Times: 1})
		r, loc := startReadout(ctx, q, vid)
		status(q, r, 202)
		check(loc != "" && underBase(loc), q, "a Location under the base URI", "%s", r.Describe())
		o, _ := pollReadout(ctx, q, loc, ex.Cfg.AsyncTimeout)
		check(o["asyncStatus"] == "Complete", q, "the readout Complete once the slow vehicle answered", "%s", jsonString(o))
	})
