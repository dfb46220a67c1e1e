// Package harness is the engine the conformance cases use: DUT profiles, the
// spec clock, the wire recorder, the CAN stimulus, the Ginkgo wrapper with
// its label registry, verdict matchers and the quirk self-test. It drives a
// DUT only through the CAN bus and the network.
package harness

import (
	"fmt"
	"math"
	"time"
)

// Clock converts between spec time (the durations the seeds write: 3 s
// retry intervals, 60 s timeouts, 10 min silences) and wall time. Against a
// real DUT the scale is 1; against the reference simulators it is the time
// scale they were started with. Every timing expectation in a case is
// written in spec time and converted here.
type Clock struct {
	// Mode is "real" (Scale 1) or "scaled".
	Mode string `yaml:"mode" json:"mode"`
	// Scale is wall seconds per spec second; always positive.
	Scale float64 `yaml:"time_scale" json:"time_scale"`
	// DUTRunsScaled declares that a real (not simulated) DUT runs its own
	// timers at Scale, by a setting of its own (a software DCM's time
	// scale); only then may a real DUT's profile use mode scaled.
	DUTRunsScaled bool `yaml:"dut_runs_scaled" json:"dut_runs_scaled,omitempty"`
}

// Wall converts a spec duration into the wall duration it takes.
func (c Clock) Wall(spec time.Duration) time.Duration {
	return time.Duration(float64(spec) * c.Scale)
}

// PatienceSlack is the wall time Patience adds on a scaled clock.
const PatienceSlack = time.Second

// Patience is the wall time to wait for something the DUT must do whose
// timing is not what a spec judges (the first upload after a CAN trigger,
// an answer the rule does not time, an open push stream): the spec
// duration on the clock, plus PatienceSlack on a scaled clock, where a
// loaded harness PC can delay the simulators by more than the whole
// window (20 s of spec time are 400 ms of wall time at scale 0.02). A
// wait for what must not happen, or a judged interval, uses Wall.
func (c Clock) Patience(spec time.Duration) time.Duration {
	w := c.Wall(spec)
	if c.Scale < 1 {
		w += PatienceSlack
	}
	return w
}

// Spec converts a wall duration into spec time.
func (c Clock) Spec(wall time.Duration) time.Duration {
	return time.Duration(float64(wall) / c.Scale)
}

// Tolerance is how far an observed spec duration may stray from the
// expected one: the larger of Relative × expected and Absolute, plus the
// harness's own scheduling jitter (WallJitter, a wall duration, converted
// into spec time by the clock when the profile is loaded).
type Tolerance struct {
	// Relative is a fraction of the expected duration, e.g. 0.2.
	Relative float64 `yaml:"relative" json:"relative"`
	// Absolute is in spec time.
	Absolute time.Duration `yaml:"absolute" json:"absolute"`
	// WallJitter is how late the harness PC itself may observe an event
	// (scheduling on a loaded machine), in wall time. It matters only on a
	// scaled clock: 20 ms of wall time are 1 s of spec time at scale 0.02,
	// and nothing against a real device.
	WallJitter time.Duration `yaml:"wall_jitter" json:"wall_jitter"`
	// jitter is WallJitter in spec time; set by the profile's clock.
	jitter time.Duration
}

// WithClock returns t with its wall jitter converted by c.
func (t Tolerance) WithClock(c Clock) Tolerance {
	t.jitter = c.Spec(t.WallJitter)
	return t
}

// Allowed is the deviation allowed around expected: the larger of the
// relative and absolute allowances, plus the wall jitter.
func (t Tolerance) Allowed(expected time.Duration) time.Duration {
	return t.early(expected) + t.jitter
}

// early is the deviation allowed before expected when the harness's own
// delays can only make events look late: no jitter.
func (t Tolerance) early(expected time.Duration) time.Duration {
	rel := time.Duration(math.Abs(float64(expected)) * t.Relative)
	return max(rel, t.Absolute)
}

// Within reports whether actual is expected within the tolerance, the
// same on both sides. Use it where a delay of the harness could shorten an
// observed gap as well as lengthen it.
func (t Tolerance) Within(expected, actual time.Duration) bool {
	d := actual - expected
	if d < 0 {
		d = -d
	}
	return d <= t.Allowed(expected)
}

// WithinLate is Within for gaps the harness can only observe too long
// (both ends stamped before the harness could be delayed): the jitter is
// allowed after expected only, so an early event stays early.
func (t Tolerance) WithinLate(expected, actual time.Duration) bool {
	d := actual - expected
	if d >= 0 {
		return d <= t.Allowed(expected)
	}
	return -d <= t.early(expected)
}

// Describe renders "3s ± 1.6s" for failure messages.
func (t Tolerance) Describe(expected time.Duration) string {
	return fmt.Sprintf("%v ± %v", expected, t.Allowed(expected))
}

// DescribeLate renders "3s -600ms/+1.6s", the window of WithinLate.
func (t Tolerance) DescribeLate(expected time.Duration) string {
	if t.jitter == 0 {
		return t.Describe(expected)
	}
	return fmt.Sprintf("%v -%v/+%v", expected, t.early(expected), t.Allowed(expected))
}
