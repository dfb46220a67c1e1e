package harness

import (
	"fmt"
	"strings"
	"time"

	"github.com/onsi/gomega/types"
)

// Verdict formats a failure the way every matcher here does: the
// requirement, then what was expected, then what was seen on the wire.
func Verdict(req Requirement, expected, actual string) string {
	return fmt.Sprintf("%s\nExpected:    %s\nActual:      %s", req, expected, indentRest(actual))
}

func indentRest(s string) string {
	return strings.ReplaceAll(s, "\n", "\n             ")
}

// RetryPattern says how a DUT must retry one request: Retries retries after
// the first attempt (0: never retried), each starting Interval of spec time
// after the answer to the one before, within Tolerance.
type RetryPattern struct {
	Retries  int
	Interval time.Duration
	// Intervals, when set, gives each gap in turn (Intervals[i] before
	// retry i+1) instead of the constant Interval.
	Intervals []time.Duration
	Tolerance Tolerance
	Clock     Clock
}

// gap is the expected gap before retry i (1-based).
func (p RetryPattern) gap(i int) time.Duration {
	if i-1 < len(p.Intervals) {
		return p.Intervals[i-1]
	}
	return p.Interval
}

// Describe renders the pattern for messages.
func (p RetryPattern) Describe() string {
	if p.Retries == 0 {
		return "exactly 1 attempt (no retry)"
	}
	if len(p.Intervals) > 0 {
		var gaps []string
		for i := 1; i <= p.Retries; i++ {
			gaps = append(gaps, p.Tolerance.DescribeLate(p.gap(i)))
		}
		return fmt.Sprintf("exactly %d attempts (1 + %d retries), the retries %s (spec time) after the previous answer",
			p.Retries+1, p.Retries, strings.Join(gaps, ", then "))
	}
	return fmt.Sprintf("exactly %d attempts (1 + %d retries), each retry %s (spec time) after the previous answer",
		p.Retries+1, p.Retries, p.Tolerance.DescribeLate(p.Interval))
}

// FollowRetryPattern succeeds when a recorded []Attempt (of one request and
// its retries, in any protocol: see ByRequest) has exactly the pattern's
// count and gaps, judged with
// Tolerance.WithinLate: the center stamps an answer before writing it and
// an attempt when it arrives, so its own delays only lengthen a gap. The gap is measured
// from the center's answer to the next attempt's Start (a new connection's
// arrival, so TLS set-up time does not count against the DUT; a reused
// connection's next request).
func FollowRetryPattern(req Requirement, p RetryPattern) types.GomegaMatcher {
	return &retryMatcher{req: req, p: p}
}

type retryMatcher struct {
	req Requirement
	p   RetryPattern
	why string
}

func (m *retryMatcher) Match(actual any) (bool, error) {
	attempts, ok := actual.([]Attempt)
	if !ok {
		return false, fmt.Errorf("FollowRetryPattern wants []harness.Attempt, got %T", actual)
	}
	if groups := ByRequest(attempts); len(groups) > 1 {
		// Another request is not a retry: judging it as one would fail a
		// DUT for starting a new upload right after a failed one.
		return false, fmt.Errorf("FollowRetryPattern judges the attempts of one request; got %d requests (%s, ...): split them with harness.ByRequest", len(groups), groups[0][0].Key)
	}
	if len(attempts) != m.p.Retries+1 {
		m.why = fmt.Sprintf("%d attempts", len(attempts))
		return false, nil
	}
	for i := 1; i < len(attempts); i++ {
		prev := attempts[i-1]
		if prev.AnsweredAt.IsZero() {
			m.why = fmt.Sprintf("attempt #%d was never answered, yet #%d followed", i, i+1)
			return false, nil
		}
		gap := m.p.Clock.Spec(attempts[i].Start().Sub(prev.AnsweredAt))
		if !m.p.Tolerance.WithinLate(m.p.gap(i), gap) {
			m.why = fmt.Sprintf("retry #%d came %.2fs (spec time) after the answer to attempt #%d", i, gap.Seconds(), i)
			return false, nil
		}
	}
	return true, nil
}

func (m *retryMatcher) FailureMessage(actual any) string {
	attempts, _ := actual.([]Attempt)
	return Verdict(m.req, m.p.Describe(), m.why+"; timeline:\n"+Timeline(attempts, m.p.Clock))
}

func (m *retryMatcher) NegatedFailureMessage(actual any) string {
	attempts, _ := actual.([]Attempt)
	return Verdict(m.req, "anything but "+m.p.Describe(), "that pattern; timeline:\n"+Timeline(attempts, m.p.Clock))
}
