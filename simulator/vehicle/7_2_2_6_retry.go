package vehicle

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/spec"
)

// deliver runs the retry engine of 7.2.2.4 and 7.2.2.6 for one file: the
// rule (real-time required or not) gives the number of retries and the
// interval; Table 7-8 says which status codes are retried at all; 567 and
// 568 silence the vehicle. A code that is not retried rolls the job back:
// the file is discarded. deliver reports whether the job is settled
// (delivered, or refused with a code that is not retried); false means the
// retries were spent or ctx ended, and the caller may keep the data.
func init() {
	registerQuirk(QuirkInfo{Name: "no-retry", Clause: "7.2.2.4 Table 7-8", Breaks: "does not retry the given status code", Arg: "int"})
	registerQuirk(QuirkInfo{Name: "retry", Clause: "7.2.2.4 Table 7-8", Breaks: "retries the given status code", Arg: "int"})
	registerQuirk(QuirkInfo{Name: "retries", Clause: "7.2.2.6", Breaks: "retries this many times instead of the rule's count", Arg: "int"})
	registerQuirk(QuirkInfo{Name: "interval-factor", Clause: "7.2.2.6", Breaks: "waits the rule's retry interval times this factor", Arg: "float"})
	registerQuirk(QuirkInfo{Name: "reason-phrase", Clause: "7.2.2.4", Breaks: "judges an HTTP/1.1 answer by its reason phrase: an unusual one counts as a failure"})
	registerQuirk(QuirkInfo{Name: "ignore-567", Clause: "7.2.2.4 Table 7-8 567", Breaks: "keeps communicating after 567 (no silence until the next IG-ON)"})
	registerQuirk(QuirkInfo{Name: "silence-s", Clause: "7.2.2.4 Table 7-8 568", Breaks: "stays silent this many spec seconds after 568 instead of 10 minutes", Arg: "int"})
	registerQuirk(QuirkInfo{Name: "no-buffering-on-link-loss", Clause: "7.2.2.6, 5 Table 5-1", Breaks: "discards the CAN data of an upload that got no answer at all (dead link) instead of keeping it for the next upload"})
	registerQuirk(QuirkInfo{Name: "link-retry-at-once", Clause: "7.2.2.6", Breaks: "retries an upload that got no answer at all (dead link) 1 s later instead of after the rule's interval"})
	registerQuirk(QuirkInfo{Name: "no-backoff", Clause: "7.2.2.5", Breaks: "does not extend the retransmission interval after a timeout"})
	registerQuirk(QuirkInfo{Name: "backoff-linear", Clause: "7.2.2.5 (I-016, I-062)", Variant: true,
		Breaks: "extends the retransmission interval after k timeouts to base x (1+k) (3 s: 6 s, then 9 s) instead of doubling it (6 s, then 12 s)"})
	registerQuirk(QuirkInfo{Name: "drop-while-silent", Clause: "7.2.2.4 Table 7-8 567/568 (I-056, I-063)", Variant: true,
		Breaks: "drops an upload, API call or download asked for during a 567/568 silence (its CAN data stays buffered for a later upload) instead of sending it when the silence ends"})
}

func (v *Vehicle) deliver(ctx context.Context, job uploadJob) bool {
	return uplinks[v.cfg.Uplink](v, ctx, job)
}

// deliverHTTP is deliver over HTTP/1.1 or HTTP/2.
func (v *Vehicle) deliverHTTP(ctx context.Context, job uploadJob) bool {
	ruleID := "upload-non-realtime"
	if job.realTime {
		ruleID = "upload-realtime"
	}
	return v.exchange(ctx, exchange{name: job.name, ruleID: ruleID, send: func(ctx context.Context, attempt int) (int, error) {
		return v.post(ctx, job, attempt)
	}})
}

// exchange is one request the vehicle sends and retries by a 7.2.2.6 rule.
// send makes one attempt; attempt is 0 for the first, 1 for the first
// retry, and so on.
type exchange struct {
	name   string
	ruleID string
	send   func(ctx context.Context, attempt int) (int, error)
}

// exchange runs the retry engine for x: see deliver.
func (v *Vehicle) exchange(ctx context.Context, x exchange) bool {
	rule, ok := v.doc.RetryRuleFor(x.ruleID)
	if !ok {
		v.logf("vehicle: no retry rule %q in spec; not retrying", x.ruleID)
	}
	retries := v.quirks.Int("retries", rule.Retries)
	if !rule.Applicable {
		retries = v.quirks.Int("download-retries", 0)
	}
	interval := time.Duration(float64(rule.Interval) * v.quirks.Float("interval-factor", 1))
	if interval == 0 {
		interval = 3 * time.Second // only a quirk retries where the seed says N/A
	}

	timeouts := 0
	for attempt := 0; ; attempt++ {
		if !v.waitUntilAllowed(ctx) {
			return false
		}
		status, err := x.send(ctx, attempt)
		if ctx.Err() != nil {
			return false
		}
		if err == nil && status >= 200 && status <= 299 && !v.quirks.HasValue("retry", strconv.Itoa(status)) {
			v.logf("vehicle: %s delivered (%d) after %d retries", x.name, status, attempt)
			return true
		}
		if err == nil {
			if !v.retryable(status) {
				v.logf("vehicle: %s answered %d: not retried (7.2.2.4), discarded", x.name, status)
				return true
			}
		} else {
			v.logf("vehicle: %s: %v", x.name, err)
			if v.quirks.Has("no-buffering-on-link-loss") {
				v.logf("vehicle: %s: no answer; dropped (quirk no-buffering-on-link-loss)", x.name)
				return true
			}
			if isTimeout(err) && !v.quirks.Has("no-backoff") {
				timeouts++
			}
		}
		if attempt >= retries {
			v.logf("vehicle: %s: %d retries spent (7.2.2.6)", x.name, retries)
			return false
		}
		if err != nil && v.quirks.Has("link-retry-at-once") {
			if !v.sleep(ctx, time.Second) {
				return false
			}
			continue
		}
		// 7.2.2.5: after timeouts the retransmission interval is extended
		// to spread the load on the center (I-016).
		if !v.sleep(ctx, v.retransmissionInterval(interval, timeouts)) {
			return false
		}
	}
}

// retransmissionInterval is the wait before the next attempt after
// `timeouts` consecutive timeouts: the register's doubling (I-016), or
// under the variant backoff-linear base x (1+timeouts), another extension
// the seed allows (I-062).
func (v *Vehicle) retransmissionInterval(base time.Duration, timeouts int) time.Duration {
	if v.quirks.Has("backoff-linear") && timeouts > 0 {
		return base * time.Duration(1+timeouts)
	}
	return v.doc.RetransmissionInterval(base, timeouts)
}

// silenced reports whether a 567/568 silence holds now.
func (v *Vehicle) silenced() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.igSilence || time.Now().Before(v.silentTil)
}

// dropWhileSilent reports whether work asked for now is dropped rather
// than deferred: only under the variant drop-while-silent, and only while
// a 567/568 silence holds (I-063).
func (v *Vehicle) dropWhileSilent(what string) bool {
	if !v.quirks.Has("drop-while-silent") || !v.silenced() {
		return false
	}
	v.logf("vehicle: %s dropped: asked for during a 567/568 silence (variant drop-while-silent)", what)
	return true
}

// retryable says whether status is retried: Table 7-8, as the quirks bend it.
// 567 and 568 also silence the vehicle.
func (v *Vehicle) retryable(status int) bool {
	row, known := v.doc.HTTPStatusFor(status)
	switch row.Silence {
	case spec.SilenceUntilIGOn:
		if !v.quirks.Has("ignore-567") {
			v.mu.Lock()
			v.igSilence = true
			v.mu.Unlock()
		}
	case spec.SilenceFor:
		d := time.Duration(v.quirks.Int("silence-s", int(row.SilenceDuration/time.Second))) * time.Second
		v.mu.Lock()
		v.silentTil = time.Now().Add(v.cfg.wall(d))
		v.mu.Unlock()
	}
	switch {
	case v.quirks.HasValue("no-retry", strconv.Itoa(status)):
		return false
	case v.quirks.HasValue("retry", strconv.Itoa(status)):
		return true
	}
	return known && row.Retry
}

// waitUntilAllowed blocks while a 567/568 silence holds; false when ctx ended.
func (v *Vehicle) waitUntilAllowed(ctx context.Context) bool {
	for {
		v.mu.Lock()
		ig, til := v.igSilence, v.silentTil
		v.mu.Unlock()
		switch {
		case ig:
			if !v.sleep(ctx, time.Second) {
				return false
			}
		case time.Now().Before(til):
			t := time.NewTimer(time.Until(til))
			select {
			case <-ctx.Done():
				t.Stop()
				return false
			case <-t.C:
			}
		default:
			return true
		}
	}
}

// sleep waits d of spec time; false when ctx ended first.
func (v *Vehicle) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(v.cfg.wall(d))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// isTimeout reports whether err is the 7.2.2.5 response timeout (or another
// timeout of the exchange).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || strings.Contains(err.Error(), "timeout awaiting response headers")
}
