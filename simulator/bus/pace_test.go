package bus

import (
	"context"
	"math"
	"testing"
	"time"

	"go.einride.tech/can"
)

func TestMaxFrameRateIsTheClassicCANLimit(t *testing.T) {
	for _, c := range []struct {
		length int
		want   float64
	}{{0, 21277}, {8, 9009}} {
		if got := MaxFrameRate(1_000_000, c.length); math.Abs(got-c.want) > 1 {
			t.Errorf("%d-byte frames at 1 Mbit/s: %.0f frames/s, want about %.0f", c.length, got, c.want)
		}
	}
}

type countTx struct{ n int }

func (c *countTx) TransmitFrame(context.Context, can.Frame) error { c.n++; return nil }

// The pacer never sends faster than the bus: 900 8-byte frames at 1 Mbit/s
// and 100% load take at least 100 ms.
func TestPacerNeverExceedsTheBus(t *testing.T) {
	p := &Pacer{Bitrate: 1_000_000, Load: 1}
	frames := make([]can.Frame, 900)
	for i := range frames {
		frames[i] = can.Frame{ID: 0x200, Length: 8}
	}
	start := time.Now()
	sent, err := p.Transmit(context.Background(), &countTx{}, frames)
	if err != nil {
		t.Fatal(err)
	}
	if el := sent[len(sent)-1].Sub(start); el < 99*time.Millisecond {
		t.Errorf("900 frames sent in %v; a 1 Mbit/s bus needs 99.8 ms", el)
	}
	if err := (&Pacer{Bitrate: 2_000_000, Load: 1}).Validate(); err == nil {
		t.Error("2 Mbit/s accepted for classic CAN")
	}
}
