package exve

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
)

func init() {
	q("readout-post-405", "REQ_04_12_01", "starts a readout with GET and refuses POST with 405")
	q("201-without-result", "REQ_04_12_03", "answers a readout 201 at once, without the result")
	variant("always-202", "REQ_04_12_03, REQ_04_12_04", "answers every readout 202, never 201 (its results are never taken as immediate)")
	q("async-202-no-location", "REQ_04_12_04", "answers 202 without a Location header")
	q("async-status-key", "REQ_04_12_05", "writes the state under the key status instead of asyncStatus")
	q("async-status-case", "REQ_04_12_06", "writes the state in capitals (PENDING, COMPLETE)")
	q("async-wait-string", "REQ_04_12_07", "writes asyncWait as a string")
	q("eta-not-iso", "REQ_04_12_08", "writes asyncEstimatedComplete as a Unix time")
	q("progress-string", "REQ_04_12_09", "writes asyncProgress as a string with a percent sign")
	q("end-time-epoch", "REQ_04_12_10", "writes asyncRequestEndTime as a Unix time")
	q("complete-without-result", "REQ_04_12_11", "leaves the DTCs out of a completed readout")
	q("fail-without-reason", "REQ_04_12_12", "leaves the error keys out of a failed readout")
	q("serves-after-end-time", "REQ_04_12_13", "keeps serving a readout after its end time")
	q("get-consumes-result", "REQ_04_09_02", "deletes a completed readout when it is read, so a second GET finds nothing")
	q("readout-offline-500", "REQ_04_10_02", "answers a readout of an offline vehicle 500 instead of 202")
}

// asyncJob is one readout from a vehicle (4.12, I-229).
type asyncJob struct {
	id        string
	vin       string
	requestID uint32
	dtcStatus string
	created   time.Time
	deadline  time.Time

	mu      sync.Mutex
	state   string
	ended   time.Time
	dtcs    []DTC
	fail    *apiError
	done    chan struct{}
	offline bool
}

func (j *asyncJob) snapshot() (state string, ended time.Time, dtcs []DTC, fail *apiError) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state, j.ended, append([]DTC(nil), j.dtcs...), j.fail
}

func (j *asyncJob) finish(state string, dtcs []DTC, fail *apiError) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state == "Complete" || j.state == "Fail" {
		return
	}
	j.state, j.dtcs, j.fail, j.ended = state, dtcs, fail, time.Now()
	close(j.done)
}

func (j *asyncJob) setState(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state == "Pending" || j.state == "InProgress" {
		j.state = s
	}
}

type asyncStore struct {
	mu        sync.Mutex
	jobs      map[string]*asyncJob
	byRequest map[uint32]*asyncJob
	next      uint32
}

func (s *asyncStore) init() {
	s.jobs = map[string]*asyncJob{}
	s.byRequest = map[uint32]*asyncJob{}
	s.next = uint32(time.Now().UnixNano()%900000000) + 100000000
}

func (s *asyncStore) add(vin, status string, deadline time.Duration) *asyncJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	j := &asyncJob{id: uuid.NewString(), vin: vin, requestID: s.next, dtcStatus: status, created: time.Now(), state: "Pending", done: make(chan struct{})}
	j.deadline = j.created.Add(deadline)
	s.jobs[j.id] = j
	s.byRequest[j.requestID] = j
	return j
}

func (s *asyncStore) get(id string) *asyncJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jobs[id]
}

func (s *asyncStore) remove(j *asyncJob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.jobs, j.id)
	delete(s.byRequest, j.requestID)
}

// uploaded completes the readout whose request ID the file name carries.
func (s *asyncStore) uploaded(op *OfferingParty, in Ingested) {
	n, err := strconv.ParseUint(in.RequestID, 10, 32)
	if err != nil {
		return
	}
	s.mu.Lock()
	j := s.byRequest[uint32(n)]
	s.mu.Unlock()
	if j == nil || j.vin != in.VIN {
		return
	}
	j.finish("Complete", op.dtcsOf(j.vin, j.dtcStatus), nil)
}

// dtcsOf is the vehicle's DTC state now, filtered by status.
func (op *OfferingParty) dtcsOf(vin, status string) []DTC {
	var out []DTC
	op.fleet.View(vin, func(v *Vehicle) {
		for _, d := range v.DTCs {
			if status == "ACTIVE" && !d.Active() || status == "INACTIVE" && d.Active() {
				continue
			}
			out = append(out, d)
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// runJob pushes the readout command to the vehicle until it takes it (a
// vehicle without a push connection is offline: retried every asyncWait)
// and then waits for its upload, until the deadline.
func (op *OfferingParty) runJob(j *asyncJob) {
	body := []byte(fmt.Sprintf(`{"command":"dtcReadout","requestId":%d}`, j.requestID))
	for {
		if time.Now().After(j.deadline) {
			j.finish("Fail", nil, errf(http.StatusGatewayTimeout, "VEHICLE_UNREACHABLE", "the vehicle could not be reached within %v", op.cfg.AsyncDeadline))
			return
		}
		res, err := op.center.Push(op.ctx, j.vin, bench.ReadoutAppID, j.requestID, body)
		switch {
		case err == nil && res.Status == http.StatusOK:
			j.setState("InProgress")
		case err == nil:
			j.finish("Fail", nil, errf(http.StatusBadGateway, "VEHICLE_REFUSED", "the vehicle refused the readout with status %d", res.Status))
			return
		default:
			// No push connection, or one that broke: the vehicle is
			// offline for now.
			if !errors.Is(err, center.ErrNoPushConnection) {
				op.logf("exve: readout %s: push to %s: %v", j.id, j.vin, err)
			}
			j.mu.Lock()
			j.offline = true
			j.mu.Unlock()
			if !op.sleep(op.cfg.wall(op.cfg.AsyncWait)) {
				return
			}
			continue
		}
		break
	}
	t := time.NewTimer(time.Until(j.deadline))
	defer t.Stop()
	select {
	case <-j.done:
	case <-op.ctx.Done():
	case <-t.C:
		j.finish("Fail", nil, errf(http.StatusGatewayTimeout, "READOUT_TIMEOUT", "the vehicle took the readout but sent no data within %v", op.cfg.AsyncDeadline))
	}
}

func (op *OfferingParty) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-op.ctx.Done():
		return false
	}
}

// location is the URI of a readout.
func (op *OfferingParty) location(res Resource, vehicleID, id string) string {
	return op.href(res, vehicleID) + "/" + id
}

// endTime is when a readout's data is made unavailable: its end plus the
// retention (before its end: the deadline plus the retention).
func (op *OfferingParty) endTime(j *asyncJob, ended time.Time) time.Time {
	if ended.IsZero() {
		return j.deadline.Add(op.cfg.wall(op.cfg.AsyncRetention))
	}
	return ended.Add(op.cfg.wall(op.cfg.AsyncRetention))
}

// asyncBody is a readout's representation (Examples 3, 4, 6 of 4.11/4.12).
func (op *OfferingParty) asyncBody(res Resource, j *asyncJob) obj {
	state, ended, dtcs, fail := j.snapshot()
	o := obj{"id": j.id, "vehicleId": op.vehicleID(j.vin)}
	key, shown := "asyncStatus", state
	if op.q.Has("async-status-key") {
		key = "status"
	}
	if op.q.Has("async-status-case") {
		shown = strings.ToUpper(state)
	}
	o[key] = shown
	end := op.endTime(j, ended)
	if op.q.Has("end-time-epoch") {
		o["asyncRequestEndTime"] = end.Unix()
	} else {
		o["asyncRequestEndTime"] = timeString(end)
	}
	switch state {
	case "Pending", "InProgress":
		wait := int(op.cfg.AsyncWait / time.Millisecond)
		if op.q.Has("async-wait-string") {
			o["asyncWait"] = strconv.Itoa(wait)
		} else {
			o["asyncWait"] = wait
		}
		eta := time.Now().Add(op.cfg.wall(op.cfg.AsyncWait))
		if op.q.Has("eta-not-iso") {
			o["asyncEstimatedComplete"] = eta.Unix()
		} else {
			o["asyncEstimatedComplete"] = timeString(eta)
		}
		progress := 0
		if state == "InProgress" {
			progress = 50
		}
		if op.q.Has("progress-string") {
			o["asyncProgress"] = strconv.Itoa(progress) + "%"
		} else {
			o["asyncProgress"] = progress
		}
	case "Complete":
		if !op.q.Has("complete-without-result") {
			list := []any{}
			for _, d := range dtcs {
				st := "INACTIVE"
				if d.Active() {
					st = "ACTIVE"
				}
				list = append(list, obj{"dtcId": fmt.Sprintf("%06X", d.Code), "status": st, "timestamp": timeString(d.At)})
			}
			o[res.Items] = list
		}
		o["asyncProgress"] = 100
	case "Fail":
		if fail != nil && !op.q.Has("fail-without-reason") {
			for k, v := range op.errorBody(fail) {
				o[k] = v
			}
		}
		o["asyncProgress"] = 100
	}
	return obj{res.UseCase: o}
}

// serveAsync is POST {b}/vehicles/{id}/dtcReadouts?dtcStatus=... and GET
// on the Location of a readout.
func (op *OfferingParty) serveAsync(rq *req, res Resource, id string) center.Answer {
	if e := op.scopeCheck(rq, res.Scope); e != nil {
		return op.errorAnswer(rq.r, e)
	}
	vin, ok := op.resolve(id)
	if !ok {
		return op.unknownVehicle(rq, id)
	}
	if len(rq.parts) == 4 {
		if rq.r.Method != http.MethodGet {
			return notAllowed(op, rq, http.MethodGet)
		}
		return op.serveReadout(rq, res, vin, rq.parts[3])
	}
	if len(rq.parts) != 3 {
		return op.errorAnswer(rq.r, errf(http.StatusNotFound, "NOT_FOUND", "no resource at %s", rq.x.Path))
	}
	start := http.MethodPost
	if op.q.Has("readout-post-405") {
		start = http.MethodGet
	}
	if rq.r.Method != start {
		return notAllowed(op, rq, start)
	}
	mt, ver, e := op.negotiate(rq.r, res)
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	status := strings.ToUpper(rq.query.Get("dtcStatus"))
	switch status {
	case "":
		status = "ALL"
	case "ACTIVE", "INACTIVE", "ALL":
	default:
		return op.errorAnswer(rq.r, errf(http.StatusBadRequest, "BAD_DTC_STATUS", "dtcStatus=%q: ACTIVE, INACTIVE or ALL", rq.query.Get("dtcStatus")))
	}
	j := op.async.add(vin, status, op.cfg.wall(op.cfg.AsyncDeadline))
	vid := op.vehicleID(vin)
	loc := op.location(res, vid, j.id)
	if op.q.Has("201-without-result") {
		a := op.reply(http.StatusCreated, mt, &res, ver, obj{res.UseCase: obj{"id": j.id, "asyncStatus": "Complete"}})
		a.Header.Set("Location", loc)
		go op.runJob(j)
		return a
	}
	go op.runJob(j)
	t := time.NewTimer(op.cfg.wall(op.cfg.SyncWindow))
	defer t.Stop()
	select {
	case <-j.done:
	case <-t.C:
	case <-rq.r.Context().Done():
	}
	state, _, _, _ := j.snapshot()
	j.mu.Lock()
	offline := j.offline
	j.mu.Unlock()
	if offline && op.q.Has("readout-offline-500") {
		return op.errorAnswer(rq.r, errf(http.StatusInternalServerError, "INTERNAL", "the vehicle is offline"))
	}
	code := http.StatusAccepted
	if state == "Complete" && !op.q.Has("always-202") {
		code = http.StatusCreated
	}
	a := op.reply(code, mt, &res, ver, op.asyncBody(res, j))
	if code == http.StatusCreated || !op.q.Has("async-202-no-location") {
		a.Header.Set("Location", loc)
	}
	return a
}

// serveReadout is GET on a readout's Location: its state (200, I-205), or
// 404 once its end time has passed (REQ_04_12_13).
func (op *OfferingParty) serveReadout(rq *req, res Resource, vin, id string) center.Answer {
	j := op.async.get(id)
	if j == nil || j.vin != vin {
		return op.errorAnswer(rq.r, errf(http.StatusNotFound, "UNKNOWN_READOUT", "no readout %s", id))
	}
	_, ended, _, _ := j.snapshot()
	if time.Now().After(op.endTime(j, ended)) && !op.q.Has("serves-after-end-time") {
		op.async.remove(j)
		return op.errorAnswer(rq.r, errf(http.StatusNotFound, "READOUT_ENDED", "readout %s ended at %s; its data is no longer available", id, timeString(op.endTime(j, ended))))
	}
	mt, ver, e := op.negotiate(rq.r, res)
	if e != nil {
		return op.errorAnswer(rq.r, e)
	}
	a := op.reply(http.StatusOK, mt, &res, ver, op.asyncBody(res, j))
	if state, _, _, _ := j.snapshot(); state == "Complete" && op.q.Has("get-consumes-result") {
		op.async.remove(j)
	}
	return a
}
