package can_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.einride.tech/can"
)

// salt makes a spec's CAN data its own.
func salt() uint16 { return uint16(rand.IntN(60000) + 1) }

// sendBursts sends frames in bursts of size at full bus load, waiting gap
// (spec time) between bursts, and returns what went out when.
func sendBursts(ctx context.Context, frames []can.Frame, size int, gap time.Duration) []harness.SentFrame {
	var sent []harness.SentFrame
	for i := 0; i < len(frames); i += size {
		s, err := run.SendPaced(ctx, 1.0, frames[i:min(i+size, len(frames))])
		Expect(err).NotTo(HaveOccurred(), "putting CAN data on the bus")
		sent = append(sent, s...)
		if i+size < len(frames) {
			run.Wait(ctx, gap)
		}
	}
	return sent
}

// awaitDelivery polls what the center received since since until every sent
// frame is there or within (spec time) has passed, and returns the verdict.
// check, when set, runs at every poll (it may fail the spec).
func awaitDelivery(ctx context.Context, since time.Time, sent []harness.SentFrame, within time.Duration, check ...func()) harness.Delivery {
	deadline := time.Now().Add(run.Clock.Wall(within))
	var d harness.Delivery
	for {
		for _, c := range check {
			c()
		}
		got, err := run.ReceivedCANData(since)
		Expect(err).NotTo(HaveOccurred(), "decoding the CAN data files the center received")
		d = harness.JudgeDelivery(sent, got, run.Clock)
		if d.Received >= len(sent) || time.Now().After(deadline) || ctx.Err() != nil {
			return d
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reportLatency adds the bus-to-center latency to the spec's report.
func reportLatency(d harness.Delivery) {
	AddReportEntry("bus-to-center latency (spec time)", map[string]string{
		"frames": itoa(len(d.Latency)),
		"p50":    d.Percentile(50).Round(time.Millisecond).String(),
		"p99":    d.Percentile(99).Round(time.Millisecond).String(),
		"max":    d.Percentile(100).Round(time.Millisecond).String(),
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// dataFiles keeps attempts that upload a CAN data file.
func dataFiles(a harness.Attempt) bool {
	dir, _ := path.Split(a.Path)
	return dir == "/files/"
}

// withRequestID keeps attempts whose file name carries request ID id.
func withRequestID(id uint32) func(harness.Attempt) bool { return harness.UploadOf(id) }

// after keeps attempts received at or after t (an HTTP/2 connection may be older).
func after(t time.Time, keep func(harness.Attempt) bool) func(harness.Attempt) bool {
	return func(a harness.Attempt) bool { return !a.ReceivedAt.Before(t) && (keep == nil || keep(a)) }
}

// connTimeline renders connection times in spec seconds from t0.
func connTimeline(ts []time.Time, t0 time.Time) string {
	s := "connections (spec s after the link died):"
	for i, t := range ts {
		s += "\n  #" + itoa(i+1) + " at " + run.Clock.Spec(t.Sub(t0)).Round(time.Millisecond).String()
	}
	return s
}

// arrivedSince says what reached the harness's center since t that keep
// does not select: the "Actual" of something that never came.
func arrivedSince(t time.Time, keep func(harness.Attempt) bool) string {
	other := run.Recorder.Attempts(func(a harness.Attempt) bool { return !a.ReceivedAt.Before(t) && (keep == nil || !keep(a)) })
	if len(other) == 0 {
		if n := len(run.Recorder.Connections(t)); n > 0 {
			return fmt.Sprintf("no request reached the center (%d connection(s) came, no request on them)", n)
		}
		return "nothing reached the center: no connection, no request"
	}
	return fmt.Sprintf("%d other request(s) did arrive:\n%s", len(other), harness.Timeline(other, run.Clock))
}

// expectVehicleID fails unless every attempt carries vehicle_id: the
// profile's VIN, exactly once.
func expectVehicleID(req harness.Requirement, attempts []harness.Attempt) {
	vin := run.Profile.DUT.VIN
	var bad []string
	for i, a := range attempts {
		if got := a.Header.Values("vehicle_id"); len(got) != 1 || got[0] != vin {
			bad = append(bad, fmt.Sprintf("request #%d (%s %s): vehicle_id %q", i+1, a.Method, a.Path, got))
		}
	}
	if len(bad) > 0 {
		Fail(harness.Verdict(req, fmt.Sprintf("vehicle_id: %s on every request (%d)", vin, len(attempts)), strings.Join(bad, "\n")))
	}
}

// waitWatching lets spec duration d pass, running check (which may fail the
// spec) every few wall milliseconds.
func waitWatching(ctx context.Context, d time.Duration, check func()) {
	end := time.Now().Add(run.Clock.Wall(d))
	for time.Now().Before(end) && ctx.Err() == nil {
		check()
		time.Sleep(20 * time.Millisecond)
	}
}

// deliveryActual is the "Actual" of a delivery that failed: the verdict,
// and when nothing arrived, what did reach the center.
func deliveryActual(d harness.Delivery, since time.Time) string {
	if d.Received > 0 {
		return d.String()
	}
	return d.String() + "; " + arrivedSince(since, nil)
}
