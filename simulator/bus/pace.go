package bus

import (
	"context"
	"fmt"
	"time"

	"go.einride.tech/can"
)

// FrameBits is the number of bit times a classic CAN data frame occupies on
// the bus, bit stuffing left out: start of frame, arbitration, control, data,
// CRC, ACK, end of frame and the 3-bit interframe space; 47 + 8*len bits for
// a standard frame, 67 + 8*len for an extended one. At 1 Mbit/s that is
// 21,277 frames/s for 0-byte standard frames and 9,009 for 8-byte ones: the
// most a real bus can carry.
func FrameBits(f can.Frame) int {
	bits := 47 + 8*int(f.Length)
	if f.IsExtended {
		bits += 20
	}
	if f.IsRemote {
		bits -= 8 * int(f.Length)
	}
	return bits
}

// MaxFrameRate is the most frames per second a bus of bitrate bit/s can
// carry when every frame is a standard one with length data bytes.
func MaxFrameRate(bitrate, length int) float64 {
	return float64(bitrate) / float64(FrameBits(can.Frame{Length: uint8(length)}))
}

// Pacer puts frames on a bus no faster than a real bus of Bitrate carries
// them at Load (0 < Load <= 1: the share of bus time used): each frame
// occupies FrameBits/Bitrate/Load of wall time. It never claims more than a
// real bus carries. The zero value is not usable; set Bitrate and Load.
type Pacer struct {
	Bitrate int
	Load    float64
	next    time.Time
}

// Validate reports a bitrate or load that makes no sense.
func (p *Pacer) Validate() error {
	if p.Bitrate <= 0 || p.Bitrate > 1_000_000 {
		return fmt.Errorf("bitrate %d: want 1..1000000 bit/s (classic CAN)", p.Bitrate)
	}
	if p.Load <= 0 || p.Load > 1 {
		return fmt.Errorf("bus load %v: want 0 < load <= 1", p.Load)
	}
	return nil
}

// FrameTime is the wall time frame f takes at p's bitrate and load.
func (p *Pacer) FrameTime(f can.Frame) time.Duration {
	return time.Duration(float64(FrameBits(f)) / float64(p.Bitrate) / p.Load * float64(time.Second))
}

// Transmit sends frames in order through tx, each no earlier than the bus
// would have finished the one before. It returns the wall time each frame
// was on the bus (tx had taken it). Pacing is kept on average: a late start is caught
// up by sending back-to-back, never faster than the bus rate allows over
// the whole run.
func (p *Pacer) Transmit(ctx context.Context, tx FrameTransmitter, frames []can.Frame) ([]time.Time, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	sent := make([]time.Time, len(frames))
	if p.next.IsZero() || time.Since(p.next) > 0 {
		p.next = time.Now()
	}
	for i, f := range frames {
		if err := waitUntil(ctx, p.next); err != nil {
			return sent[:i], err
		}
		if err := tx.TransmitFrame(ctx, f); err != nil {
			return sent[:i], fmt.Errorf("frame %d (%v): %w", i, f, err)
		}
		// Stamped once tx has taken it: a shared Line may have held it
		// until the bus was free.
		sent[i] = time.Now()
		p.next = p.next.Add(p.FrameTime(f))
	}
	return sent, nil
}
