package harness

import (
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/harness/capture"
	"github.com/icoc-dev/icoc/harness/netfault"
	"github.com/icoc-dev/icoc/harness/report"
	"github.com/icoc-dev/icoc/spec/viss"
	"github.com/onsi/ginkgo/v2/types"
)

// retryChart draws in spec time: the window of each retry after the answer
// before it (Tolerance.WithinLate's bounds), the attempts marked by whether
// they came inside their window and within the count.
func TestRetryChart(t *testing.T) {
	c := Clock{Mode: "scaled", Scale: 0.05}
	p := RetryPattern{Retries: 1, Interval: 3 * time.Second, Tolerance: Tolerance{Relative: 0.2}, Clock: c}
	as := attemptsAt(c, 3*time.Second, 10*time.Second) // one retry in time, one too many
	ch := retryChart(Requirement{Clause: "7.2.2.6"}, p, as, "3 attempts", as[2].AnsweredAt.Add(c.Wall(5*time.Second)))
	near := func(a, b float64) bool { return math.Abs(a-b) < 0.01 }
	if len(ch.Windows) != 1 || !near(ch.Windows[0].From, 0.02+2.4) || !near(ch.Windows[0].To, 0.02+3.6) {
		t.Errorf("windows %+v; want [2.42, 3.62] (answer at 0.02 s, 3 s ± 20%%)", ch.Windows)
	}
	if len(ch.Attempts) != 3 || !ch.Attempts[0].OK || !ch.Attempts[1].OK || ch.Attempts[2].OK {
		t.Errorf("attempts %+v; want the third out of the rule", ch.Attempts)
	}
	if ch.Attempts[1].Label != "#2 503" || !near(ch.End, ch.Attempts[2].Answered+5) || ch.Verdict != "3 attempts" {
		t.Errorf("chart %+v", ch)
	}
}

func TestSpecTimeLabels(t *testing.T) {
	if l := SpecTimeLabel(90*time.Second + time.Millisecond); l != "spec-time:91s" {
		t.Errorf("label %q", l)
	}
	if d, ok := DeclaredSpecTime([]string{"protocol:http1", "spec-time:480s"}); !ok || d != 8*time.Minute {
		t.Errorf("declared %v %v", d, ok)
	}
	for _, bad := range [][]string{nil, {"spec-time:x"}, {"spec-time:1s", "spec-time:2s"}, {"spec-time:0s"}} {
		if _, ok := DeclaredSpecTime(bad); ok {
			t.Errorf("%q: declared", bad)
		}
	}
	if !allowedLabel("spec-time:60s") || !allowedLabel("smoke") || allowedLabel("spec-time:") {
		t.Error("label registry")
	}
	real := Clock{Mode: "real", Scale: 1}
	if b := SpecBudget(real, time.Hour); b < time.Hour {
		t.Errorf("budget %v shorter than the scenario", b)
	}
}

func TestSpecSlug(t *testing.T) {
	rep := types.SpecReport{ContainerHierarchyTexts: []string{"Table 7-8"}, LeafNodeText: "[7.2.2.4 T7-8 503] HTTP/1.1 real-time"}
	if s := specSlug(rep); len(s) != len("7.2.2.4_T7-8_503-")+8 || s[:17] != "7.2.2.4_T7-8_503-" {
		t.Errorf("slug %q", s)
	}
}

// The capture follows MQTT and VISS traffic too: the fault proxy in
// front of the harness broker, a broker DUT named by the profile, and the
// VISS servers' WebSocket and HTTPS ports (a URL without a port has its
// scheme's).
func TestCapturePortsMQTTAndVISS(t *testing.T) {
	px, err := netfault.NewProxy("127.0.0.1:0", "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	r := &Run{MQTT: &MQTTRun{Link: px}, Profile: &Profile{}}
	r.Profile.DUT.Roles = []string{"center"}
	r.Profile.MQTT.Address = "192.0.2.7:8883"
	r.VISS.Endpoints = []VISSEndpoint{{Dialect: vissspec.Dialect{Tag: "v3"}, WS: "wss://127.0.0.1:6443", HTTP: "https://vehicle.example"}}
	got := map[int]string{}
	for _, p := range r.CapturePorts() {
		got[p.Number] = p.What
	}
	_, ps, _ := net.SplitHostPort(px.Addr())
	pn, _ := strconv.Atoi(ps)
	for n, what := range map[int]string{pn: "fault proxy to the harness MQTT broker", 8883: "broker DUT", 6443: "VISS server (v3)", 443: "VISS server (v3)"} {
		if got[n] != what {
			t.Errorf("port %d: %q, want %q (all: %v)", n, got[n], what, got)
		}
	}
	if urlHostPort("not a url\x7f") != "" || urlHostPort("") != "" {
		t.Error("an unreadable or empty URL has no port")
	}
}

// A failed spec's evidence holds the run's timeline of its window as text,
// with the messages of the harness's own clients (a VISS request and its
// answer); what happened before the spec is not in it.
func TestEvidenceExchanges(t *testing.T) {
	dir := t.TempDir()
	rec := NewRecorder()
	r := &Run{Profile: &Profile{}, Recorder: rec, Clock: Clock{Mode: "real", Scale: 1},
		evidence: &evidence{mode: EvidenceFailed, reportsDir: dir, suiteDir: "evidence/cases-viss-v3", keys: &capture.KeyLog{}, can: &capture.CANLog{}, sniffWhy: "test"}}
	from := time.Now()
	rec.Note(Attempt{Protocol: ProtoVISS, Key: "old", Method: "get", Path: "Vehicle.Old", ReceivedAt: from.Add(-time.Minute), AnsweredAt: from.Add(-time.Minute)})
	h := rec.Note(Attempt{Protocol: ProtoVISS, Key: "7", Method: "get", Path: "Vehicle.Speed", ReceivedAt: from.Add(time.Millisecond), ConnAccepted: from,
		Sent: []byte(`{"action":"get","path":"Vehicle.Speed","requestId":"7"}`)})
	rec.Settle(h, func(a *Attempt) {
		a.AnsweredAt, a.Status, a.Got = from.Add(3*time.Millisecond), 404, []byte(`{"action":"get","requestId":"7","error":{"number":"404"}}`)
	})
	rep := types.SpecReport{LeafNodeText: "[5.1.1 read] v3", State: types.SpecStateFailed}
	ev, err := r.writeEvidence(rep, from, from.Add(time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	var path string
	for _, f := range ev.Files {
		if f.Kind == report.EvidenceExchanges {
			path = filepath.Join(dir, filepath.FromSlash(f.Path))
		}
	}
	if path == "" {
		t.Fatalf("no exchanges file: %+v", ev)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	for _, want := range []string{"VISS get Vehicle.Speed (requestId 7) (new connection) -> error 404",
		`sent:     {"action":"get","path":"Vehicle.Speed","requestId":"7"}`, `"error":{"number":"404"}`} {
		if !strings.Contains(log, want) {
			t.Errorf("exchanges.txt lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "Vehicle.Old") {
		t.Errorf("exchanges.txt holds an exchange from before the spec:\n%s", log)
	}
}
