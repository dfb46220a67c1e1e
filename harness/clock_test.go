package harness

import (
	"testing"
	"time"
)

func TestClockConverts(t *testing.T) {
	c := Clock{Mode: "scaled", Scale: 0.05}
	if got := c.Wall(time.Minute); got != 3*time.Second {
		t.Errorf("Wall(1m) = %v, want 3s", got)
	}
	if got := c.Spec(3 * time.Second); got != time.Minute {
		t.Errorf("Spec(3s) = %v, want 1m", got)
	}
}

func TestTolerance(t *testing.T) {
	tol := Tolerance{Relative: 0.2, Absolute: 500 * time.Millisecond}
	for _, c := range []struct {
		expected, actual time.Duration
		ok               bool
	}{
		{3 * time.Second, 3600 * time.Millisecond, true},
		{3 * time.Second, 3700 * time.Millisecond, false},
		{3 * time.Second, 2400 * time.Millisecond, true},
		{3 * time.Second, 1500 * time.Millisecond, false},
		{time.Minute, 71 * time.Second, true},
		{time.Minute, 30 * time.Second, false},
		{time.Second, 1400 * time.Millisecond, true}, // absolute floor
	} {
		if got := tol.Within(c.expected, c.actual); got != c.ok {
			t.Errorf("Within(%v, %v) = %v, want %v", c.expected, c.actual, got, c.ok)
		}
	}
}

func TestToleranceWallJitter(t *testing.T) {
	tol := Tolerance{Relative: 0.2, Absolute: 500 * time.Millisecond, WallJitter: 20 * time.Millisecond}
	if got := tol.Allowed(3 * time.Second); got != 600*time.Millisecond {
		t.Errorf("before WithClock: Allowed(3s) = %v, want 600ms (no jitter yet)", got)
	}
	scaled := tol.WithClock(Clock{Mode: "scaled", Scale: 0.02})
	if got := scaled.Allowed(3 * time.Second); got != 1600*time.Millisecond {
		t.Errorf("scale 0.02: Allowed(3s) = %v, want 1.6s (20ms wall = 1s spec)", got)
	}
	// The jitter is allowed late only: an early event stays early.
	if !scaled.WithinLate(3*time.Second, 4500*time.Millisecond) || scaled.WithinLate(3*time.Second, 2300*time.Millisecond) || !scaled.WithinLate(3*time.Second, 2500*time.Millisecond) || !scaled.Within(3*time.Second, 1500*time.Millisecond) {
		t.Error("scale 0.02: want 3s -600ms/+1.6s")
	}
	real := tol.WithClock(Clock{Mode: "real", Scale: 1})
	if got := real.Allowed(3 * time.Second); got != 620*time.Millisecond {
		t.Errorf("real clock: Allowed(3s) = %v, want 620ms", got)
	}
}

// Patience adds slack only on a scaled clock: a real DUT's waits are
// spec time as written.
func TestClockPatience(t *testing.T) {
	real := Clock{Mode: "real", Scale: 1}
	if got := real.Patience(20 * time.Second); got != 20*time.Second {
		t.Errorf("real clock: Patience(20s) = %v, want 20s", got)
	}
	scaled := Clock{Mode: "scaled", Scale: 0.02}
	if got := scaled.Patience(20 * time.Second); got != 400*time.Millisecond+PatienceSlack {
		t.Errorf("scaled clock: Patience(20s) = %v, want 400ms + %v", got, PatienceSlack)
	}
}
