package exve_test

// 4.1.2 request/reply, judged end to end: a value put on the vehicle's CAN
// bus is what the offering party's resource returns, within the upload
// period of the core specification (Table 5-1: a minute). The frame goes
// into the vehicle, into a CAN data file, over HTTP to the center, into
// the offering party's index and out as a JSON data item.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/bench"
	exveop "github.com/icoc-dev/icoc/simulator/exve"
	. "github.com/onsi/ginkgo/v2"
)

// uploadPeriod is the longest a frame waits for its upload (core seed
// Table 5-1: CAN data uploaded every minute).
const uploadPeriod = time.Minute

var _ = def(&spec{id: "4.1.2", role: opRole, text: "CAN-to-ExVe oracle", entries: oracleEntries()})

// oracleEntries are one row per data resource of the reference catalogue
// that maps its data items to bench-DBC signals.
func oracleEntries() []entry {
	var out []entry
	for _, res := range exveop.DefaultCatalogue().OfKind(exveop.KindData) {
		if len(res.Signals) == 0 {
			continue
		}
		var fields []string
		for f := range res.Signals {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		out = append(out, entry{
			text:   fmt.Sprintf("values put on the CAN bus are the %s data items %s, within the upload period", res.Name, strings.Join(fields, ", ")),
			quirks: qs("signal-raw", "stale-upload"),
			args:   []any{res.Name},
			body:   oracleRow,
		})
	}
	return out
}

// randomValue is a physical value of signal ref within its DBC range, on
// its resolution.
func randomValue(ref string) float64 {
	msg, sig, _ := strings.Cut(ref, ".")
	m, _ := bench.DB().Message(msg)
	s, _ := m.Signal(sig)
	lo, hi := s.Min, s.Max
	if hi <= lo {
		lo, hi = 0, 100
	}
	hi = math.Min(hi, lo+5000)
	raw := math.Round((lo + rand.Float64()*(hi-lo) - s.Offset) / s.Scale)
	return raw*s.Scale + s.Offset
}

func oracleRow(ctx SpecContext, q harness.Requirement, args ...any) {
	res, ok := ex.Catalogue.ByName(args[0].(string))
	if !ok || len(res.Signals) == 0 {
		Skip("not applicable: the offering party's catalogue does not map " + args[0].(string) + " to bench-DBC signals")
	}
	vid := vehicleID(ctx, q)
	msg := ""
	vals := map[string]float64{}
	want := map[string]float64{}
	for field, ref := range res.Signals {
		m, sig, _ := strings.Cut(ref, ".")
		msg = m
		v := randomValue(ref)
		vals[sig], want[field] = v, v
	}
	f, err := bench.Encode(msg, vals)
	if err != nil {
		Fail(err.Error())
	}
	t0 := time.Now()
	onBus(ctx, f)
	path := "/vehicles/" + url.PathEscape(vid) + "/" + res.Name + "?startDate=" + url.QueryEscape(t0.Add(-time.Second).UTC().Format(time.RFC3339Nano))
	var last *respT
	var seenAt time.Duration
	found := eventually(ctx, uploadPeriod, func() bool {
		last = get(ctx, path)
		for _, it := range items(last, res.Items) {
			if matches(obj(it), want, res) {
				seenAt = spent(t0)
				return true
			}
		}
		return false
	})
	report("bus-to-ExVe latency (spec)", seenAt.Round(time.Millisecond).String())
	if !found {
		actual := "no answer"
		if last != nil {
			actual = last.Describe()
		}
		fail(q, fmt.Sprintf("an item of %s with %v (put on the bus in frame %s) within %v of spec time", res.Name, want, msg, uploadPeriod), "%s", actual)
	}
}

// matches reports whether item carries every wanted value, within half the
// signal's resolution.
func matches(item map[string]any, want map[string]float64, res exveop.Resource) bool {
	for field, v := range want {
		got, ok := item[field].(float64)
		if !ok {
			return false
		}
		msg, sig, _ := strings.Cut(res.Signals[field], ".")
		m, _ := bench.DB().Message(msg)
		s, _ := m.Signal(sig)
		if math.Abs(got-v) > s.Scale/2 {
			return false
		}
	}
	return true
}
