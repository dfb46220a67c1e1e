package harness

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/bus"
	"github.com/icoc-dev/icoc/simulator/canfile"
	"go.einride.tech/can"
)

// SentFrame is one frame the harness put on the bus and when (wall time).
type SentFrame struct {
	Frame can.Frame
	At    time.Time
}

// ReceivedFrame is one frame decoded from a CAN data file the harness's
// center received: the file it came in and when that file first arrived.
type ReceivedFrame struct {
	Frame     can.Frame
	File      string
	ArrivedAt time.Time
}

// CANData builds n frames of ordinary CAN data from the bench DBC's signal
// messages (VehicleSpeed, Odometer, EngineData in turn), each one distinct
// from every other frame with the same salt and from frames of any other
// salt (for n up to 65536 per message), so a spec can recognise its own.
func CANData(n int, salt uint16) []can.Frame {
	out := make([]can.Frame, n)
	for i := range out {
		k := float64(i % 65536)
		var name string
		var vals map[string]float64
		switch i % 3 {
		case 0:
			name = "VehicleSpeed"
			vals = map[string]float64{"VehicleSpeed": float64(i%20000) * 0.01, "WheelSpeedFL": float64(i%20000) * 0.01,
				"WheelSpeedFR": float64(salt) * 0.01, "SpeedCounter": k}
		case 1:
			name = "Odometer"
			vals = map[string]float64{"Odometer": float64(uint32(salt)*65536+uint32(i%65536)) * 0.1, "TripMeter": k * 0.1}
		default:
			name = "EngineData"
			vals = map[string]float64{"EngineSpeed": float64(i%60000) * 0.25, "CoolantTemp": float64(i%200) - 40,
				"FuelLevel": float64(i%200) * 0.5, "BatteryVoltage": float64(salt) * 0.001, "EngineCounter": k}
		}
		f, err := bench.Encode(name, vals)
		if err != nil {
			panic(fmt.Sprintf("harness: CANData frame %d: %v", i, err))
		}
		out[i] = f
	}
	return out
}

// SendPaced puts frames on the bus no faster than a classic CAN bus of the
// profile's bitrate carries them at load (0 < load <= 1), and returns when
// each frame went out.
func (r *Run) SendPaced(ctx context.Context, load float64, frames []can.Frame) ([]SentFrame, error) {
	p := &bus.Pacer{Bitrate: r.Profile.CAN.bitrate(), Load: load}
	at, err := p.Transmit(ctx, r.Bus, frames)
	out := make([]SentFrame, len(at))
	for i := range at {
		out[i] = SentFrame{Frame: frames[i], At: at[i]}
	}
	return out, err
}

// ReceivedCANData decodes every CAN data file the harness's center has
// stored for the DUT's VIN that first arrived at or after since, in arrival
// order. A file that does not decode is an error naming it.
func (r *Run) ReceivedCANData(since time.Time) ([]ReceivedFrame, error) {
	var out []ReceivedFrame
	for _, f := range r.Center.Store().Files() {
		if f.First.Before(since) || f.VehicleID != r.Profile.DUT.VIN {
			continue
		}
		recs, err := r.decodeCANFile(f.Data)
		if err != nil {
			return out, fmt.Errorf("file %s: %w", f.Name, err)
		}
		for _, rec := range recs {
			out = append(out, ReceivedFrame{Frame: rec.Frame, File: f.Name, ArrivedAt: f.First})
		}
	}
	return out, nil
}

// decodeCANFile decodes one uploaded file with the profile's decoder.
func (r *Run) decodeCANFile(b []byte) ([]canfile.Record, error) {
	d, ok := Decoders[r.Profile.decoder()]
	if !ok {
		return nil, fmt.Errorf("decoder %q: unknown", r.Profile.Decoder)
	}
	return d.Decode(b)
}

// Delivery is the oracle's verdict on CAN data: what was sent on the bus
// compared with what the center received.
type Delivery struct {
	Sent, Received int
	// Missing are indexes (into the sent frames) never received.
	Missing []int
	// Duplicated are indexes received more than once.
	Duplicated []int
	// OutOfOrder are positions in the received stream whose frame was sent
	// before the one received just before it.
	OutOfOrder []int
	// Latency holds, for each sent frame received, the wall time from the
	// bus to the center, converted to spec time.
	Latency []time.Duration
}

// OK reports a perfect delivery: everything once, in order.
func (d Delivery) OK() bool {
	return len(d.Missing) == 0 && len(d.Duplicated) == 0 && len(d.OutOfOrder) == 0
}

// Percentile returns the p-th percentile (0..100) of the latencies.
func (d Delivery) Percentile(p float64) time.Duration {
	if len(d.Latency) == 0 {
		return 0
	}
	l := slices.Clone(d.Latency)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	i := int(p / 100 * float64(len(l)-1))
	return l[i]
}

// String summarises the verdict for a failure message (at most a few
// examples of each fault).
func (d Delivery) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sent %d frames, received %d of them (counting repeats)", d.Sent, d.Received)
	list := func(name string, xs []int) {
		if len(xs) == 0 {
			return
		}
		fmt.Fprintf(&b, "; %s: %d", name, len(xs))
		ex := xs[:min(len(xs), 5)]
		fmt.Fprintf(&b, " (e.g. %v)", ex)
	}
	list("missing (sent index)", d.Missing)
	list("duplicated (sent index)", d.Duplicated)
	list("out of order (received position)", d.OutOfOrder)
	if len(d.Latency) > 0 {
		fmt.Fprintf(&b, "; bus-to-center latency p50 %v, p99 %v, max %v (spec time)", d.Percentile(50), d.Percentile(99), d.Percentile(100))
	}
	return b.String()
}

func frameKey(f can.Frame) string {
	return fmt.Sprintf("%t/%t/%X/%d/%X", f.IsExtended, f.IsRemote, f.ID, f.Length, f.Data[:f.Length])
}

// JudgeDelivery compares sent and received frames. Received frames that
// were not sent (other specs' data, other ECUs) are ignored; sent frames must
// be distinct (CANData makes them so).
func JudgeDelivery(sent []SentFrame, got []ReceivedFrame, c Clock) Delivery {
	idx := make(map[string]int, len(sent))
	for i, s := range sent {
		idx[frameKey(s.Frame)] = i
	}
	d := Delivery{Sent: len(sent)}
	seen := make([]int, len(sent))
	last := -1
	for pos, g := range got {
		i, ok := idx[frameKey(g.Frame)]
		if !ok {
			continue
		}
		d.Received++
		seen[i]++
		if seen[i] == 2 {
			d.Duplicated = append(d.Duplicated, i)
		}
		if seen[i] > 1 {
			continue
		}
		if i < last {
			d.OutOfOrder = append(d.OutOfOrder, pos)
		}
		last = max(last, i)
		d.Latency = append(d.Latency, c.Spec(g.ArrivedAt.Sub(sent[i].At)))
	}
	for i, n := range seen {
		if n == 0 {
			d.Missing = append(d.Missing, i)
		}
	}
	return d
}
