package viss

import (
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/spec/viss"
)

// 002 C's worked example, byte for byte: a subscribe on Latitude and
// Longitude with the paths filter and "dc":"2+1"; the first event carries
// the paths in full, the second their indexes in the sorted list; every
// data point's ts is its offset in milliseconds from the event's ts.
func TestDataCompressionExample(t *testing.T) {
	s := startService(t)
	srv := s.servers[0]
	defer func(f func(time.Time) string) { formatTS = f }(formatTS)
	formatTS = func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	req, e := srv.codec.parse([]byte(`{"action":"subscribe","path":"Vehicle.CurrentLocation","filter":[{"variant":"paths","parameter":["Latitude", "Longitude"]}, {"variant":"timebased","parameter":{"period":"3000"}}], "dc":"2+1","requestId":"286"}`))
	if e != nil {
		t.Fatalf("the example's request: %+v", e)
	}
	comp, e := srv.newCompressor(req)
	if e != nil || comp == nil {
		t.Fatalf("dc 2+1 refused: %+v", e)
	}
	sub := &subscription{id: "1", srv: srv, comp: comp}
	at := func(s string) time.Time {
		x, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	ev := func(now time.Time, lat, lon string, off time.Duration) string {
		data := []pathData{
			{path: "Vehicle.CurrentLocation.Latitude", dps: []dataPoint{{wire: lat, at: now.Add(off)}}},
			{path: "Vehicle.CurrentLocation.Longitude", dps: []dataPoint{{wire: lon, at: now.Add(off)}}},
		}
		return string(srv.codec.events(sub, data, now)[0])
	}
	for i, c := range []struct{ got, want string }{
		{ev(at("2025-01-10T11:46:12.957Z"), "56.02", "12.36", -123*time.Millisecond),
			`{"action":"subscription","data":[{"dp":{"ts":"-123","value":"56.02"},"path":"Vehicle.CurrentLocation.Latitude"},{"dp":{"ts":"-123","value":"12.36"},"path":"Vehicle.CurrentLocation.Longitude"}],"subscriptionId":"1","ts":"2025-01-10T11:46:12.957Z"}`},
		{ev(at("2025-01-10T11:46:15.956Z"), "56.03", "12.37", -15*time.Millisecond),
			`{"action":"subscription","data":[{"dp":{"ts":"-15","value":"56.03"},"path":"0"},{"dp":{"ts":"-15","value":"12.37"},"path":"1"}],"subscriptionId":"1","ts":"2025-01-10T11:46:15.956Z"}`},
	} {
		if c.got != c.want {
			t.Errorf("event %d:\n got  %s\n want %s", i+1, c.got, c.want)
		}
	}
}

// A get with dc: one path is always "0", the ts an offset; a scheme the
// server does not support (static UIDs, an unassigned bit, not A+B) is
// refused; dc 0+0 is no compression.
func TestDataCompressionGet(t *testing.T) {
	s := startService(t)
	s.OnFrame(speed(t, 42.5), time.Now().Add(-250*time.Millisecond))
	c := dial(t, s.Endpoints()[0], "VISSv3", vissspec.MustLoad(vissspec.V3, vissspec.DefaultOptions()))
	m := c.roundTrip(`{"action":"get","path":"Vehicle.Speed","dc":"2+1","requestId":"1"}`)
	d := m["data"].(map[string]any)
	dp := d["dp"].(map[string]any)
	if d["path"] != "0" || !strings.HasPrefix(dp["ts"].(string), "-2") || dp["value"] != "42.5" {
		t.Errorf("dc 2+1: %v", m)
	}
	m = c.roundTrip(`{"action":"get","path":"Vehicle.Speed","dc":"0+0","requestId":"2"}`)
	if d := m["data"].(map[string]any); d["path"] != "Vehicle.Speed" {
		t.Errorf("dc 0+0: %v", m)
	}
	for _, dc := range []string{"1+0", "4+0", "0+2", "2", "x+y"} {
		m = c.roundTrip(`{"action":"get","path":"Vehicle.Speed","dc":"` + dc + `","requestId":"3"}`)
		if e, ok := m["error"].(map[string]any); !ok || e["number"] != "404" {
			t.Errorf("dc %s: %v", dc, m)
		}
	}
	m = c.roundTrip(`{"action":"get","path":"Server.Support.DataCompression","requestId":"4"}`)
	if v := m["data"].(map[string]any)["dp"].(map[string]any)["value"]; len(v.([]any)) != 2 {
		t.Errorf("Server.Support.DataCompression: %v", m)
	}
}
