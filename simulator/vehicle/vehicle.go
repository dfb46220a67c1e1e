package vehicle

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/bus"
	"github.com/icoc-dev/icoc/simulator/canfile"
	"github.com/icoc-dev/icoc/spec"
)

// Vehicle is one running reference vehicle. Create it with New and run it
// with Run; it is driven only through the bus and answers only on the
// network.
type Vehicle struct {
	cfg    Config
	quirks Quirks
	tls    *tls.Config
	base   *url.URL

	mu        sync.Mutex
	ignition  bench.Ignition
	buffered  []canfile.Record
	counter   int
	silentTil time.Time // no communication before this (wall time); zero: none
	igSilence bool      // no communication until the next IG-ON (567)

	http  *session
	jobs  chan uploadJob
	wg    sync.WaitGroup
	ready chan struct{}
}

// Ready is closed once the vehicle listens on the bus: frames sent before
// may be lost, as on a real bus before a unit has woken up.
func (v *Vehicle) Ready() <-chan struct{} { return v.ready }

// New checks cfg and loads the certificates; the error names the field or
// file at fault.
func New(cfg Config) (*Vehicle, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("vehicle config: %w", err)
	}
	q, _ := ParseQuirks(cfg.Quirks)
	base, _ := url.Parse(cfg.CenterURL)
	tc, err := tlsConfig(cfg, base.Hostname())
	if err != nil {
		return nil, fmt.Errorf("vehicle config: %w", err)
	}
	v := &Vehicle{
		cfg:      cfg,
		quirks:   q,
		base:     base,
		tls:      tc,
		ignition: bench.IGOff,
		jobs:     make(chan uploadJob, 64),
		ready:    make(chan struct{}),
	}
	v.http = newSession(v)
	return v, nil
}

// Run opens the bus and serves until ctx ends or the bus fails. It returns
// nil when ctx ended.
func (v *Vehicle) Run(ctx context.Context) error {
	conn, err := bus.Open(ctx, v.cfg.Bus)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		_ = conn.Close()
	}()
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		v.uploader(ctx)
	}()
	v.logf("vehicle %s: listening on %s (quirks: %s)", v.cfg.VIN, conn.Config(), v.quirks.Names())
	close(v.ready)
	for conn.Receive() {
		v.onFrame(ctx, canfile.Record{Time: time.Now().UTC(), Frame: conn.Frame()})
	}
	cancel()
	v.wg.Wait()
	if err := conn.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("CAN bus %s: %w", v.cfg.Bus, err)
	}
	return nil
}

func (v *Vehicle) logf(format string, args ...any) {
	if v.cfg.Logf != nil {
		v.cfg.Logf(format, args...)
	}
}

// onFrame handles one frame from the bus: bench messages change state or
// start an upload; every other frame is CAN data to upload.
func (v *Vehicle) onFrame(ctx context.Context, r canfile.Record) {
	switch {
	case !bench.IsControl(r.Frame):
		v.mu.Lock()
		if v.ignition == bench.IGOn {
			v.buffered = append(v.buffered, r)
		}
		v.mu.Unlock()
	case r.Frame.ID == bench.IDIgnition:
		v.setIgnition(bench.Ignition(r.Frame.Data[0]))
	case r.Frame.ID == bench.IDUploadTrigger:
		t, err := bench.DecodeUploadTrigger(r.Frame)
		if err != nil {
			v.logf("vehicle: %v", err)
			return
		}
		v.triggerUpload(ctx, t, r.Time)
	}
}

func (v *Vehicle) setIgnition(i bench.Ignition) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if i == v.ignition {
		return
	}
	v.logf("vehicle: %s -> %s", v.ignition, i)
	v.ignition = i
	if i == bench.IGOn {
		v.igSilence = false // 567 holds only until the next IG-ON
	}
}

// triggerUpload snapshots the buffered CAN data into a file and queues it.
func (v *Vehicle) triggerUpload(ctx context.Context, t bench.UploadTrigger, at time.Time) {
	v.mu.Lock()
	if v.ignition != bench.IGOn {
		v.mu.Unlock()
		v.logf("vehicle: upload trigger ignored: %s", v.ignition)
		return
	}
	records := v.buffered
	v.buffered = nil
	counter := v.counter
	v.counter = (v.counter + 1) % 100
	v.mu.Unlock()

	name := v.fileName(at, counter, t)
	job := uploadJob{name: name, data: canfile.Encode(records), realTime: t.RealTime}
	select {
	case v.jobs <- job:
	case <-ctx.Done():
	}
}

// fileName builds the Appendix 1 §2 name of a CAN data file.
func (v *Vehicle) fileName(at time.Time, counter int, t bench.UploadTrigger) string {
	trig := t.Trigger
	if trig == 0 {
		trig = 'c'
	}
	fn := spec.FileName{
		Time:       at.UTC().Truncate(time.Second),
		Generation: v.cfg.Generation,
		Function:   v.cfg.Function,
		Counter:    counter,
		RequestID:  RequestIDText(t.RequestID),
		Trigger:    string(rune(trig)),
		Extension:  v.cfg.Extension,
	}
	name := fn.String()
	if v.quirks.Has("upper-extension") {
		name = name[:len(name)-len(v.cfg.Extension)] + upper(v.cfg.Extension)
	}
	return name
}

// RequestIDText is how the vehicle writes a request ID into a file name:
// ten decimal digits, or the invalid value of Appendix 1 §2 for a binary
// file when there is none (0).
func RequestIDText(id uint32) string {
	if id == 0 {
		return spec.InvalidRequestID(true)
	}
	return fmt.Sprintf("%010d", id)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
