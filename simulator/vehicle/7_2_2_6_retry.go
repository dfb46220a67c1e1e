package vehicle

import (
	"context"
	"strconv"
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
}

func (v *Vehicle) deliver(ctx context.Context, job uploadJob) bool {
	ruleID := "upload-non-realtime"
	if job.realTime {
		ruleID = "upload-realtime"
	}
	rule, ok := spec.RetryRuleFor(ruleID)
	if !ok {
		v.logf("vehicle: no retry rule %q in spec; not retrying", ruleID)
	}
	retries := v.quirks.Int("retries", rule.Retries)
	interval := time.Duration(float64(rule.Interval) * v.quirks.Float("interval-factor", 1))

	for attempt := 0; ; attempt++ {
		if !v.waitUntilAllowed(ctx) {
			return false
		}
		status, err := v.post(ctx, job)
		if ctx.Err() != nil {
			return false
		}
		if err == nil && status >= 200 && status <= 299 {
			v.logf("vehicle: %s delivered (%d) after %d retries", job.name, status, attempt)
			return true
		}
		if err == nil {
			if !v.retryable(status) {
				v.logf("vehicle: %s answered %d: not retried (7.2.2.4), discarded", job.name, status)
				return true
			}
		} else {
			v.logf("vehicle: %s: %v", job.name, err)
		}
		if attempt >= retries {
			v.logf("vehicle: %s: %d retries spent (7.2.2.6)", job.name, retries)
			return false
		}
		if !v.sleep(ctx, interval) {
			return false
		}
	}
}

// retryable says whether status is retried: Table 7-8, as the quirks bend it.
// 567 and 568 also silence the vehicle.
func (v *Vehicle) retryable(status int) bool {
	row, known := spec.HTTPStatusFor(status)
	switch row.Silence {
	case spec.SilenceUntilIGOn:
		v.mu.Lock()
		v.igSilence = true
		v.mu.Unlock()
	case spec.SilenceFor:
		v.mu.Lock()
		v.silentTil = time.Now().Add(v.cfg.wall(row.SilenceDuration))
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
