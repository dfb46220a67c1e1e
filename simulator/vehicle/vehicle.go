package vehicle

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/bus"
	"github.com/icoc-dev/icoc/simulator/canfile"
	"github.com/icoc-dev/icoc/simulator/viss"
	"github.com/icoc-dev/icoc/spec"
)

func init() {
	registerQuirk(QuirkInfo{Name: "drop-frame", Clause: "5 Table 5-1, 7.2.2.9.1", Breaks: "loses every 1000th CAN data frame taken off the bus"})
	registerQuirk(QuirkInfo{Name: "dup-frame", Clause: "5 Table 5-1, 7.2.2.9.1", Breaks: "records every 1000th CAN data frame taken off the bus twice"})
	registerQuirk(QuirkInfo{Name: "upload-twice", Clause: "5 Table 5-1, 7.2.2.9.1 (I-320)", Breaks: "uploads every CAN data file a second time (same name, same data) after the center has answered the first upload"})
	registerQuirk(QuirkInfo{Name: "no-buffering", Clause: "7.2.2.6, 5 Table 5-1", Breaks: "discards the CAN data of an upload whose retries are spent instead of keeping it for the next upload"})
	registerQuirk(QuirkInfo{Name: "ignore-vin", Clause: "7.2.2.7", Breaks: "connects to the center before the VIN has been read from the bus"})
	registerQuirk(QuirkInfo{Name: "mute", Clause: "every vehicle-DUT clause", Breaks: "never talks to the center (no connection at all), so every vehicle-DUT spec takes its nothing-arrived path"})
	registerQuirk(QuirkInfo{Name: "local-time", Clause: "Appendix 1 §2", Breaks: "puts Japan's local time (UTC+9) into the file name instead of UTC"})
	registerQuirk(QuirkInfo{Name: "request-id-hex", Clause: "Appendix 1 §2", Breaks: "writes the request ID into the file name in hexadecimal instead of the requested command's decimal value"})
	registerQuirk(QuirkInfo{Name: "ig-off-uploads", Clause: "7.2.2.7, Appendix 1 §2 (I-064)", Variant: true,
		Breaks: "takes CAN data and obeys upload triggers whenever +B is on, the ignition off too, and uploads at every IG-OFF (trigger f), as soon as the VIN is known: ignition is not a 7.2.2.7 precondition"})
	registerQuirk(QuirkInfo{Name: "no-hold-after-failure", Clause: "7.2.2.6, 5 Table 5-1 (I-065)", Variant: true,
		Breaks: "starts the next upload (a new file with the kept data) right after an upload's last failed retry instead of a retry interval later"})
}

// Vehicle is one running reference vehicle. Create it with New and run it
// with Run; it is driven only through the bus and answers only on the
// network.
type Vehicle struct {
	cfg    Config
	doc    spec.Document // the spec under cfg.Spec
	quirks Quirks
	tls    *tls.Config
	base   *url.URL

	mu        sync.Mutex
	ignition  bench.Ignition
	buffered  []canfile.Record
	counter   int
	silentTil time.Time // no communication before this (wall time); zero: none
	igSilence bool      // no communication until the next IG-ON (567)

	// State of the bus side (ingest, VIN, power, periodic upload).
	vin            string // read from the bus; "" until then and after +B OFF
	vinAsm         bench.VINAssembler
	dataFrames     uint64 // CAN data frames recorded since power-up
	periodic       *time.Timer
	periodicQueued bool
	requests       chan dataRequest
	runCtx         context.Context
	power          context.Context // ends at +B OFF
	powerOff       context.CancelFunc
	epoch          uint64 // power cycles so far

	conn *bus.Conn // the bus, once Run has opened it

	http   *session
	grpc   *grpcSession // the gRPC channel (7_2_4_grpc.go)
	mqtt   *mqttSession // the MQTT uplink's session (7_2_5_mqtt.go); nil for other uplinks
	pushes pushLog
	// downloads are the files downloaded over gRPC (7_2_4_4_calls.go).
	downloads downloadLog
	jobs      chan exchange // API calls and downloads (7_2_2_9_3, 7_2_2_9_4)
	viss      *viss.Service // nil without VISS servers
	wg        sync.WaitGroup
	ready     chan struct{}
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
	doc, err := spec.Resolve(cfg.Spec)
	if err != nil {
		return nil, fmt.Errorf("vehicle config: spec: %w", err)
	}
	base, _ := url.Parse(cfg.CenterURL)
	tc, err := tlsConfig(cfg, base.Hostname())
	if err != nil {
		return nil, fmt.Errorf("vehicle config: %w", err)
	}
	v := &Vehicle{
		cfg:      cfg,
		doc:      doc,
		quirks:   q,
		base:     base,
		tls:      tc,
		ignition: bench.IGOff,
		jobs:     make(chan exchange, 64),
		requests: make(chan dataRequest, 64),
		ready:    make(chan struct{}),
	}
	v.http = newSession(v)
	if len(cfg.VISS.Servers) > 0 {
		if v.viss, err = viss.New(cfg.vissConfig()); err != nil {
			return nil, fmt.Errorf("vehicle config: %w", err)
		}
	}
	v.grpc = &grpcSession{v: v}
	v.mqtt = newMQTTSession(v)
	return v, nil
}

// VISS returns the vehicle's VISS servers, or nil when it has none.
func (v *Vehicle) VISS() *viss.Service { return v.viss }

// Run opens the bus and serves until ctx ends or the bus fails. It returns
// nil when ctx ended. The vehicle starts powered (+B on), ignition off, with
// no VIN: it makes no connection until the bus has told it the VIN and the
// other 7.2.2.7 preconditions hold (see sessionReady).
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
	if v.viss != nil {
		if err := v.viss.Start(); err != nil {
			return err
		}
		defer v.viss.Close()
		v.attachVISSMQTT()
	}
	v.mu.Lock()
	v.runCtx = ctx
	v.conn = conn
	v.power, v.powerOff = context.WithCancel(ctx)
	v.mu.Unlock()
	v.wg.Add(2)
	go func() {
		defer v.wg.Done()
		v.caller(ctx)
	}()
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		v.pushKeeper(ctx)
	}()
	go func() {
		defer v.wg.Done()
		v.dataUploader(ctx)
	}()
	for _, run := range runners {
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			run(v, ctx)
		}()
	}
	v.logf("vehicle: listening on %s (quirks: %s)", conn.Config(), v.quirks.Names())
	close(v.ready)
	for conn.Receive() {
		v.onFrame(canfile.Record{Time: time.Now().UTC(), Frame: conn.Frame()})
	}
	cancel()
	v.mu.Lock()
	v.stopPeriodic()
	v.mu.Unlock()
	v.wg.Wait()
	if err := conn.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("CAN bus %s: %w", v.cfg.Bus, err)
	}
	return nil
}

// BusStats reports the kernel's receive queue of the vehicle's bus
// connection (bus.Conn.RxStats): how many frames it dropped before the
// vehicle could read them. An error before Run has opened the bus or where
// the bus cannot tell.
func (v *Vehicle) BusStats() (bus.RxStats, error) {
	v.mu.Lock()
	c := v.conn
	v.mu.Unlock()
	if c == nil {
		return bus.RxStats{}, fmt.Errorf("vehicle: bus not open")
	}
	return c.RxStats()
}

func (v *Vehicle) logf(format string, args ...any) {
	if v.cfg.Logf != nil {
		v.cfg.Logf(format, args...)
	}
}

// VIN returns the VIN the vehicle has read from the bus since it was last
// powered up, or "" when it has none yet (7.2.2.7 "Obtaining VIN").
func (v *Vehicle) VIN() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.vin
}

var powerLossHooks []func(*Vehicle)

// runners run beside the vehicle's own loops for as long as Run does (an
// uplink's session keeper); a file adds one with registerRunner from an
// init function. Each returns when ctx ends.
var runners []func(v *Vehicle, ctx context.Context)

func registerRunner(f func(v *Vehicle, ctx context.Context)) { runners = append(runners, f) }

// ignitionHooks run after every change of the ignition state (from, to),
// outside the vehicle's lock; a file adds one with registerIgnitionHook
// from an init function.
var ignitionHooks []func(v *Vehicle, from, to bench.Ignition)

func registerIgnitionHook(f func(v *Vehicle, from, to bench.Ignition)) {
	ignitionHooks = append(ignitionHooks, f)
}

// registerPowerLossHook adds a hook that runs for every vehicle at +B OFF
// (7.1.1.5: CRL/OCSP caches are discarded "only when +B is turned OFF");
// call it from an init function of the file that owns the state to drop.
func registerPowerLossHook(f func(*Vehicle)) { powerLossHooks = append(powerLossHooks, f) }

// onFrame handles one frame from the bus. Without +B the unit hears nothing
// but the ignition state; bench messages change state or start an upload;
// every other frame is CAN data to upload.
func (v *Vehicle) onFrame(r canfile.Record) {
	f := r.Frame
	if v.viss != nil {
		v.viss.OnFrame(f, r.Time)
	}
	if f.ID == bench.IDIgnition && !f.IsExtended {
		i, err := bench.DecodeIgnition(f)
		if err != nil {
			v.logf("vehicle: %v", err)
			return
		}
		v.setIgnition(i, r.Time)
		return
	}
	v.mu.Lock()
	powered := v.ignition != bench.BOff
	v.mu.Unlock()
	if !powered {
		return
	}
	switch {
	case !bench.IsControl(f):
		v.record(r)
	case f.ID == bench.IDVIN:
		v.mu.Lock()
		vin, err := v.vinAsm.Add(f)
		changed := vin != "" && vin != v.vin
		if changed {
			v.vin = vin
		}
		v.mu.Unlock()
		if err != nil {
			v.logf("vehicle: %v", err)
		}
		if changed {
			v.logf("vehicle: VIN %s read from the bus", vin)
		}
	case f.ID == bench.IDBulkUpload:
		b, err := bench.DecodeBulkUpload(f)
		if err != nil {
			v.logf("vehicle: %v", err)
			return
		}
		v.request(dataRequest{trigger: bench.UploadTrigger{Trigger: 'c', RequestID: b.RequestID}, at: r.Time, bulk: int(b.SizeKiB) * 1024}, false)
	case f.ID == bench.IDUploadTrigger:
		t, err := bench.DecodeUploadTrigger(f)
		if err != nil {
			v.logf("vehicle: %v", err)
			return
		}
		v.request(dataRequest{trigger: t, at: r.Time}, false)
	case v.onCallFrame(f):
	default:
		m, _ := bench.DB().MessageByID(f.ID)
		v.logf("vehicle: %s ignored: the reference vehicle does not implement it yet", m.Name)
	}
}

// record keeps one frame of CAN data while the ignition is on, and arms the
// periodic upload (Table 5-1: every minute).
func (v *Vehicle) record(r canfile.Record) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ignition != bench.IGOn && !v.quirks.Has("ig-off-uploads") {
		return
	}
	v.dataFrames++
	n := 1
	if v.dataFrames%quirkEvery == 0 {
		switch {
		case v.quirks.Has("drop-frame"):
			n = 0
		case v.quirks.Has("dup-frame"):
			n = 2
		}
	}
	for range n {
		v.buffered = append(v.buffered, r)
	}
	v.armPeriodic()
}

// quirkEvery: the drop-frame and dup-frame quirks lose or double every
// quirkEvery-th data frame (counted from power-up).
const quirkEvery = 1000

func (v *Vehicle) setIgnition(i bench.Ignition, at time.Time) {
	v.mu.Lock()
	prev := v.ignition
	if i == prev {
		v.mu.Unlock()
		return
	}
	v.logf("vehicle: %s -> %s", prev, i)
	v.ignition = i
	switch {
	case i == bench.BOff:
		// +B OFF: the unit loses power and with it everything volatile: the
		// VIN, the CAN data not yet delivered, any upload under way, the
		// 567/568 silences and (through the hooks) the revocation caches.
		v.powerOff()
		v.buffered, v.vin, v.vinAsm, v.counter, v.dataFrames = nil, "", bench.VINAssembler{}, 0, 0
		v.igSilence, v.silentTil = false, time.Time{}
		v.stopPeriodic()
		v.periodicQueued = false
		v.epoch++
	case prev == bench.BOff:
		v.power, v.powerOff = context.WithCancel(v.runCtx)
	}
	if i == bench.IGOn {
		v.igSilence = false // 567 holds only until the next IG-ON
	}
	igOff := i == bench.IGOff && len(v.buffered) > 0 && (prev == bench.IGOn || v.quirks.Has("ig-off-uploads"))
	v.mu.Unlock()
	for _, h := range powerLossHooks {
		h(v)
	}
	for _, h := range ignitionHooks {
		h(v, prev, i)
	}
	if igOff {
		// Appendix 1 §2 trigger identifier f: the upload IG-OFF launched.
		v.request(dataRequest{trigger: bench.UploadTrigger{Trigger: 'f'}, at: at}, true)
	}
}

// dataRequest asks the data uploader for one CAN data file: from a CAN
// trigger, the periodic schedule or IG-OFF.
type dataRequest struct {
	trigger  bench.UploadTrigger
	at       time.Time
	periodic bool
	epoch    uint64
	// bulk, when positive, asks for a bulk file of that many bytes
	// (bench.BulkUpload) instead of the CAN data.
	bulk int
}

// request queues r unless the ignition forbids it (a trigger needs IG-ON,
// except under the variant ig-off-uploads; the IG-OFF upload passes with
// force).
func (v *Vehicle) request(r dataRequest, force bool) {
	v.mu.Lock()
	ig := v.ignition
	r.epoch = v.epoch
	v.mu.Unlock()
	if ig != bench.IGOn && !force && !v.quirks.Has("ig-off-uploads") {
		v.logf("vehicle: upload trigger ignored: %s", ig)
		return
	}
	select {
	case v.requests <- r:
	default:
		v.logf("vehicle: upload request dropped: %d requests waiting", cap(v.requests))
	}
}

// armPeriodic starts the one-minute schedule (spec time) when data waits and
// none runs: no recorded frame waits longer than a minute for its upload to
// start, unless an upload is still under way. v.mu is held.
func (v *Vehicle) armPeriodic() {
	if v.periodic != nil || len(v.buffered) == 0 {
		return
	}
	v.periodic = time.AfterFunc(v.cfg.wall(time.Minute), v.firePeriodic)
}

func (v *Vehicle) stopPeriodic() {
	if v.periodic != nil {
		v.periodic.Stop()
		v.periodic = nil
	}
}

func (v *Vehicle) firePeriodic() {
	v.mu.Lock()
	v.periodic = nil
	fire := len(v.buffered) > 0 && !v.periodicQueued && v.ignition != bench.BOff
	if fire {
		v.periodicQueued = true
	}
	v.mu.Unlock()
	if fire {
		// Appendix 1 §2 trigger identifier s: triggered by the scheduler.
		v.request(dataRequest{trigger: bench.UploadTrigger{Trigger: 's'}, at: time.Now().UTC(), periodic: true}, true)
	}
}

// dataUploader turns requests into CAN data files, one at a time, so the
// frames reach the center in bus order. A file whose retries are spent
// (7.2.2.6) is not lost: its frames go back in front of the buffer and leave
// with the next upload.
func (v *Vehicle) dataUploader(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-v.requests:
			v.upload(r)
		}
	}
}

func (v *Vehicle) upload(r dataRequest) {
	v.mu.Lock()
	pctx, epoch := v.power, v.epoch
	v.mu.Unlock()
	if r.epoch != epoch || !v.sessionReady(pctx) {
		return
	}
	if v.dropWhileSilent(fmt.Sprintf("upload request %d", r.trigger.RequestID)) {
		// The request goes; its data stays buffered for a later upload.
		v.mu.Lock()
		if r.periodic {
			v.periodicQueued = false
		}
		v.armPeriodic()
		v.mu.Unlock()
		return
	}
	if r.bulk > 0 {
		v.mu.Lock()
		counter := v.counter
		v.counter = (v.counter + 1) % 100
		v.mu.Unlock()
		// A bulk file (video, say) is not CAN data: when its retries are
		// spent it is not kept.
		v.deliver(pctx, uploadJob{name: v.fileName(r.at, counter, r.trigger), data: bench.BulkData(r.trigger.RequestID, r.bulk)})
		return
	}
	v.mu.Lock()
	if r.periodic {
		v.periodicQueued = false
	}
	if v.epoch != epoch || (r.periodic && len(v.buffered) == 0) {
		v.mu.Unlock()
		return
	}
	records := v.buffered
	v.buffered = nil
	v.stopPeriodic()
	counter := v.counter
	v.counter = (v.counter + 1) % 100
	v.mu.Unlock()

	at := r.at
	if r.periodic {
		at = time.Now().UTC()
	}
	job := uploadJob{name: v.fileName(at, counter, r.trigger), data: canfile.Encode(records), realTime: r.trigger.RealTime}
	if v.deliver(pctx, job) || pctx.Err() != nil || len(records) == 0 {
		if v.quirks.Has("upload-twice") && pctx.Err() == nil {
			v.logf("vehicle: %s uploaded again (quirk upload-twice)", job.name)
			v.deliver(pctx, job)
		}
		return
	}
	if v.quirks.Has("no-buffering") {
		v.logf("vehicle: %s: %d frames discarded (quirk no-buffering)", job.name, len(records))
		return
	}
	v.mu.Lock()
	if v.epoch != epoch {
		v.mu.Unlock()
		return
	}
	v.buffered = append(records, v.buffered...)
	v.armPeriodic()
	v.mu.Unlock()
	v.logf("vehicle: %s not delivered; its %d frames stay buffered for the next upload", job.name, len(records))
	if v.quirks.Has("no-hold-after-failure") {
		// Variant: the kept data leaves at once in a new file (a new
		// request, with its own retries).
		v.mu.Lock()
		queue := !v.periodicQueued
		v.periodicQueued = true
		v.mu.Unlock()
		if queue {
			v.request(dataRequest{trigger: bench.UploadTrigger{Trigger: 's'}, at: time.Now().UTC(), periodic: true}, true)
		}
		return
	}
	// The next upload comes no sooner than one retry interval after the
	// last retry (7.2.2.6), however much data waits meanwhile.
	hold := time.Minute
	if rule, ok := v.doc.RetryRuleFor("upload-non-realtime"); ok {
		hold = rule.Interval
	}
	v.sleep(pctx, hold)
}

// sessionReady waits until the 7.2.2.7 preconditions of a session hold, and
// reports false when ctx ended first:
//   - "Obtaining VIN": the VIN has been read from the bus since power-up;
//   - "WAN side IP address shall be assigned": the unit has a source address
//     with a route to the center (a connected UDP socket towards the
//     center's address, which sends nothing; a name is resolved first);
//   - "ADF upload has been completed": the reference vehicle has no ADF of
//     its own; it counts the ADF upload as complete once the VIN is read.
func (v *Vehicle) sessionReady(ctx context.Context) bool {
	poll := min(max(v.cfg.wall(time.Second), 10*time.Millisecond), 250*time.Millisecond)
	var lastWhy string
	for {
		why := v.sessionBlocked(ctx)
		if why == "" {
			return true
		}
		if why != lastWhy {
			v.logf("vehicle: no session yet (7.2.2.7): %s", why)
			lastWhy = why
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// sessionBlocked names the first 7.2.2.7 precondition that does not hold, or
// returns "".
func (v *Vehicle) sessionBlocked(ctx context.Context) string {
	if v.quirks.Has("mute") {
		return "quirk mute: the vehicle never talks to the center"
	}
	if v.VIN() == "" && !v.quirks.Has("ignore-vin") {
		return "no VIN read from the bus"
	}
	addr := v.cfg.CenterAddr
	if addr == "" {
		addr = v.base.Host
		if v.base.Port() == "" {
			addr = net.JoinHostPort(v.base.Hostname(), "443")
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := v.cfg.dialer(0).DialContext(dctx, "udp", addr)
	if err != nil {
		return "no WAN address towards " + addr + ": " + err.Error()
	}
	defer c.Close()
	if ua, ok := c.LocalAddr().(*net.UDPAddr); !ok || ua.IP.IsUnspecified() {
		return "no WAN address towards " + addr
	}
	return ""
}

// fileName builds the Appendix 1 §2 name of a CAN data file.
func (v *Vehicle) fileName(at time.Time, counter int, t bench.UploadTrigger) string {
	trig := t.Trigger
	if trig == 0 {
		trig = 'c'
	}
	if v.quirks.Has("local-time") {
		at = at.UTC().Add(9 * time.Hour)
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
	if v.quirks.Has("request-id-hex") && t.RequestID != 0 {
		name = strings.Replace(name, "_"+fn.RequestID+"_", fmt.Sprintf("_%08x_", t.RequestID), 1)
	}
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
