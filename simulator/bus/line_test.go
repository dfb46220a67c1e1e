package bus

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.einride.tech/can"
)

// stampTx records when each frame reached it.
type stampTx struct {
	mu     sync.Mutex
	at     []time.Time
	frames []can.Frame
}

func (s *stampTx) TransmitFrame(_ context.Context, f can.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.at = append(s.at, time.Now())
	s.frames = append(s.frames, f)
	return nil
}

// Several senders sharing a Line (the harness's bursts, its stimuli and its
// cyclic broadcast) never put more on the bus than it carries: each frame
// starts no earlier than the one before has ended, whoever sent which; a
// paced burst through the Line as well.
func TestLineSharedBySendersNeverExceedsTheBus(t *testing.T) {
	const bitrate = 100_000 // an 8-byte frame takes 1.11 ms
	rec := &stampTx{}
	l, err := NewLine(rec, bitrate)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				f := can.Frame{ID: uint32(0x100 + g), Length: uint8(i % 9)}
				if err := l.TransmitFrame(ctx, f); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		frames := make([]can.Frame, 60)
		for i := range frames {
			frames[i] = can.Frame{ID: 0x300, Length: 8}
		}
		if _, err := (&Pacer{Bitrate: bitrate, Load: 1}).Transmit(ctx, l, frames); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()
	if len(rec.at) != 180 {
		t.Fatalf("%d frames reached the bus; want 180", len(rec.at))
	}
	var busy time.Duration
	for i := 1; i < len(rec.at); i++ {
		need := time.Duration(float64(FrameBits(rec.frames[i-1])) / bitrate * float64(time.Second))
		busy += need
		if gap := rec.at[i].Sub(rec.at[i-1]); gap < need-20*time.Microsecond {
			t.Fatalf("frame %d (ID %X) started %v after frame %d (ID %X), which keeps a %d bit/s bus busy %v", i, rec.frames[i].ID, gap, i-1, rec.frames[i-1].ID, bitrate, need)
		}
	}
	if el := rec.at[len(rec.at)-1].Sub(rec.at[0]); el < busy-time.Millisecond {
		t.Errorf("180 frames in %v; the bus needs %v", el, busy)
	}
	if _, err := NewLine(rec, 2_000_000); err == nil {
		t.Error("2 Mbit/s accepted for classic CAN")
	}
}

// A sender waiting for the bus gives up when its context ends.
func TestLineWaitEndsWithContext(t *testing.T) {
	l, err := NewLine(&stampTx{}, 10) // one frame keeps the bus busy for seconds
	if err != nil {
		t.Fatal(err)
	}
	if err := l.TransmitFrame(context.Background(), can.Frame{ID: 1, Length: 8}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := l.TransmitFrame(ctx, can.Frame{ID: 2}); err == nil {
		t.Fatal("sent while the bus was busy for seconds")
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("gave up after %v; the context ended after 50 ms", el)
	}
}
