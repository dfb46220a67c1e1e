package harness

import (
	"strings"
	"testing"
	"time"
)

func attemptsAt(c Clock, gaps ...time.Duration) []Attempt {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []Attempt
	at := t0
	for i := 0; i <= len(gaps); i++ {
		a := Attempt{Method: "POST", Path: "/files/x", ConnAccepted: at, ReceivedAt: at, AnsweredAt: at.Add(time.Millisecond), Status: 503}
		out = append(out, a)
		if i < len(gaps) {
			at = a.AnsweredAt.Add(c.Wall(gaps[i]))
		}
	}
	return out
}

func TestFollowRetryPattern(t *testing.T) {
	c := Clock{Mode: "scaled", Scale: 0.05}
	p := RetryPattern{Retries: 2, Interval: 3 * time.Second, Tolerance: Tolerance{Relative: 0.2}, Clock: c}
	req := Requirement{Clause: "7.2.2.6", Rule: "2 retries, 3 s"}
	m := FollowRetryPattern(req, p)
	if ok, err := m.Match(attemptsAt(c, 3*time.Second, 3100*time.Millisecond)); !ok || err != nil {
		t.Errorf("good pattern rejected: %v", m.FailureMessage(attemptsAt(c, 3*time.Second, 3*time.Second)))
	}
	for name, a := range map[string][]Attempt{
		"too few":       attemptsAt(c, 3*time.Second),
		"too many":      attemptsAt(c, 3*time.Second, 3*time.Second, 3*time.Second),
		"too early":     attemptsAt(c, time.Second, 3*time.Second),
		"too late":      attemptsAt(c, 3*time.Second, 6*time.Second),
		"none recorded": nil,
	} {
		m := FollowRetryPattern(req, p)
		if ok, _ := m.Match(a); ok {
			t.Errorf("%s: matched", name)
			continue
		}
		msg := m.FailureMessage(a)
		for _, want := range []string{"Requirement: 7.2.2.6", "Expected:", "Actual:"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: message lacks %q:\n%s", name, want, msg)
			}
		}
	}
}

// A new request right after another's last retry is not a retry: ByRequest
// splits them by Key, and FollowRetryPattern refuses to judge a mix.
func TestByRequest(t *testing.T) {
	c := Clock{Mode: "scaled", Scale: 0.05}
	a := attemptsAt(c, 3*time.Second, 3*time.Second, 0)
	for i := range a {
		a[i].Key = "POST /files/one"
	}
	a[3].Key = "POST /files/two"
	groups := ByRequest(a)
	if len(groups) != 2 || len(groups[0]) != 3 || len(groups[1]) != 1 {
		t.Fatalf("ByRequest: got %d groups", len(groups))
	}
	p := RetryPattern{Retries: 2, Interval: 3 * time.Second, Tolerance: Tolerance{Relative: 0.2}, Clock: c}
	m := FollowRetryPattern(Requirement{Clause: "7.2.2.6", Rule: "r"}, p)
	if ok, err := m.Match(groups[0]); !ok || err != nil {
		t.Errorf("one request's attempts rejected: %v %s", err, m.FailureMessage(groups[0]))
	}
	if _, err := m.Match(a); err == nil {
		t.Error("a mix of two requests was judged as one")
	}
}

// An attempt the DUT abandoned shows as abandoned, not with the status the
// center planned.
func TestOutcomeAbandoned(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := Attempt{Method: "POST", Path: "/files/x", Proto: "HTTP/1.1", ReceivedAt: t0, AnsweredAt: t0.Add(time.Second), Abandoned: true, Planned: 200}
	if got := a.Outcome(); !strings.Contains(got, "abandoned by the DUT") || !strings.Contains(got, "would have answered 200") {
		t.Errorf("Outcome() = %q", got)
	}
}
