package bus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.einride.tech/can"
)

// Line is one sender's access to a bus that several goroutines share (the
// harness's stimuli, its cyclic ignition and VIN broadcast, a burst of CAN
// data): each frame goes out no earlier than the bus has finished carrying
// the one before at Bitrate, whichever goroutine sent it, so together they
// never put more on the bus than a real one carries. Frames are sent one at
// a time in the order they were granted the bus. Safe for concurrent use.
type Line struct {
	tx      FrameTransmitter
	bitrate int
	mu      sync.Mutex
	free    time.Time // when the bus has carried the last frame sent
}

// NewLine paces tx to a bus of bitrate bit/s (1..1,000,000, classic CAN).
func NewLine(tx FrameTransmitter, bitrate int) (*Line, error) {
	if bitrate <= 0 || bitrate > 1_000_000 {
		return nil, fmt.Errorf("bitrate %d: want 1..1000000 bit/s (classic CAN)", bitrate)
	}
	return &Line{tx: tx, bitrate: bitrate}, nil
}

// TransmitFrame waits until the bus is free, then sends f; the bus is busy
// for FrameBits(f)/bitrate afterwards. A sender that comes after a pause
// does not catch up: the bus was idle meanwhile.
func (l *Line) TransmitFrame(ctx context.Context, f can.Frame) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := waitUntil(ctx, l.free); err != nil {
		return err
	}
	start := time.Now()
	if err := l.tx.TransmitFrame(ctx, f); err != nil {
		return err
	}
	l.free = start.Add(time.Duration(float64(FrameBits(f)) / float64(l.bitrate) * float64(time.Second)))
	return nil
}

// waitUntil returns at t (at once when t has passed), or with ctx's error.
// Waits shorter than a timer's granularity are spun.
func waitUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	if d > 200*time.Microsecond {
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tm.C:
		}
		return nil
	}
	for time.Now().Before(t) {
	}
	return ctx.Err()
}
