package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/harness/netfault"
	"github.com/icoc-dev/icoc/harness/report"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/bus"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/spec"
	"go.einride.tech/can"
)

// Flags of a conformance run. They can be given after `--` to ginkgo or go
// test, or through the environment (ICOC_PROFILE, ICOC_QUIRKS).
var (
	flagProfile = flag.String("icoc.profile", os.Getenv("ICOC_PROFILE"), "DUT profile file (default: the built-in sim profile)")
	flagQuirks  = flag.String("icoc.quirks", os.Getenv("ICOC_QUIRKS"), "comma-separated quirks of the reference vehicle (self-test only)")
	flagVerbose = flag.Bool("icoc.verbose", os.Getenv("ICOC_VERBOSE") != "", "log what the simulators do")
)

// Run is one conformance run against one DUT: the profile, the clock, the
// harness's center with its recorder and fault plan, the CAN bus, and the
// reference simulators a simulated DUT needs. It is filled once from the
// flags by Start and shared by every spec of a suite.
type Run struct {
	Profile *Profile
	// Spec is the spec resolved with the profile's readings (its spec:
	// section): specs judge by it where the register lets a DUT differ.
	Spec     spec.Document
	Clock    Clock
	Center   *center.Server
	Recorder *Recorder
	Faults   *center.FaultPlan
	// Bus is the harness's connection to the DUT's CAN bus. Send through
	// the run (Send, SendPaced, Ignition, TriggerUpload): they share the
	// bus at its bitrate, the broadcast included.
	Bus *bus.Conn
	// line paces every frame the harness sends to the bus's bitrate,
	// whichever goroutine sends it (bus.Line).
	line *bus.Line
	// Transport says how the DUT is reached: "netns" when the reference
	// vehicle runs in its own network namespace behind a veth pair, else
	// "loopback".
	Transport string
	// Host is where the reference vehicle runs (host.go); "" for a real DUT.
	Host Host
	// HostNote says why the host differs from the one asked for, or "".
	HostNote string
	// Link is the fault proxy (toxiproxy) the reference vehicle reaches the
	// harness's center through; nil for a real DUT.
	Link *netfault.Proxy
	// GRPCLink is the fault proxy in front of the center's gRPC port (port
	// 9080 in a network namespace); nil without capability grpc or for a
	// real DUT.
	GRPCLink *netfault.Proxy
	// Quirks are the reference vehicle's quirks (self-test only).
	Quirks []string
	// push says whether a simulated vehicle keeps a push connection.
	push bool
	// uplink is the protocol a simulated vehicle uploads with ("": HTTP).
	uplink string
	// TLS is the TLS side of the run (run_tls.go).
	TLS *TLSRun
	// evidence is the run's wire evidence (evidence.go).
	evidence *evidence
	// VISS is the VISS side of the run (viss.go).
	VISS VISSRun
	// vissOn says whether a simulated vehicle runs VISS servers.
	vissOn bool
	// MQTT is the MQTT side of the run (run_mqtt.go); nil unless the suite
	// uploads over MQTT.
	MQTT *MQTTRun

	mu sync.Mutex
	// silent: nothing is broadcast until the first Ignition (WithSilentBus).
	silent   bool
	ignition bench.Ignition
	// ignFrames repeat the ignition state; nil when a command or an
	// operator applied it (nothing to repeat on the bus).
	ignFrames []can.Frame
	vinFrames []can.Frame // the VIN broadcast; nil while it is off

	emulator *bus.Emulator
	host     hostState
	atStop   []func()
	cancel   context.CancelFunc
	vehErr   chan error
}

// Start loads the profile named by the flags, starts the harness's center,
// opens the bus, and starts the reference vehicle when the profile's DUT is
// simulated, on the host the options, the profile or ICOC_DUT_HOST choose
// (host.go). Every error says what is wrong and where.
func Start(opts ...Option) (*Run, error) {
	var o startOptions
	for _, f := range opts {
		f(&o)
	}
	p, err := LoadProfile(*flagProfile)
	if err != nil {
		return nil, err
	}
	var quirks []string
	for _, q := range strings.Split(*flagQuirks, ",") {
		if q = strings.TrimSpace(q); q != "" {
			quirks = append(quirks, q)
		}
	}
	if o.quirksSet {
		quirks = o.quirks
	}
	if len(quirks) > 0 && !p.DUT.Simulated {
		return nil, fmt.Errorf("quirks %v: only the reference vehicle has quirks; profile %s is a real device", quirks, p.Source)
	}
	doc, err := spec.Resolve(p.Spec)
	if err != nil {
		return nil, fmt.Errorf("profile %s spec: %w", p.Source, err)
	}
	r := &Run{Profile: p, Spec: doc, Clock: p.Clock, Recorder: NewRecorder(), Faults: center.NewFaultPlan(), Transport: "loopback", Quirks: quirks}
	if r.evidence, err = newEvidence(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if err := r.start(ctx, o); err != nil {
		r.Stop()
		return nil, err
	}
	for _, f := range o.afterStart {
		if err := f(r); err != nil {
			r.Stop()
			return nil, err
		}
	}
	return r, nil
}

// AtStop registers f to run when the run stops, before the simulators,
// the bus and the center are stopped (last registered, first run).
func (r *Run) AtStop(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.atStop = append(r.atStop, f)
}

func (r *Run) logf(format string, args ...any) {
	if *flagVerbose {
		fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
	}
}

func (r *Run) start(ctx context.Context, o startOptions) error {
	p := r.Profile
	r.push = o.push && p.Has("push")
	r.uplink = o.uplink
	if p.HasRole("vehicle") {
		cc := center.NewDefaultConfig()
		cc.Addr = p.Center.Listen
		cc.CertFile, cc.KeyFile, cc.ClientCAFile = p.Center.CertFile, p.Center.KeyFile, p.Center.ClientCAFile
		applySpecToCenter(&cc, p.Spec)
		cc.Logf = r.logf
		cc.KeyLogWriter = r.KeyLogWriter()
		if p.Has("grpc") {
			cc.GRPCAddr = p.GRPCListenAddr()
		}
		c, err := center.New(cc)
		if err != nil {
			return err
		}
		c.AddHook(r.Recorder)
		c.AddHook(r.Faults)
		if err := c.Start(); err != nil {
			return err
		}
		r.Center = c
	}
	if err := r.startTLS(); err != nil {
		return err
	}
	if o.viss {
		if err := r.prepareVISS(); err != nil {
			return err
		}
	}
	if err := r.startMQTT(); err != nil {
		return err
	}
	busCfg, err := r.prepareHost(o)
	if err != nil {
		return err
	}
	conn, err := bus.Open(ctx, busCfg)
	if err != nil {
		return err
	}
	r.Bus = conn
	var tx bus.FrameTransmitter = r.tx() // logs what it sends for the evidence
	if o.tapBus != nil {
		tx = o.tapBus(tx)
	}
	if r.line, err = bus.NewLine(tx, p.CAN.bitrate()); err != nil {
		return fmt.Errorf("profile %s can.bitrate: %w", p.Source, err)
	}
	r.announce(busCfg)
	r.startEvidence(ctx)
	// The body ECU's broadcast runs from the start: IG-ON (unless a command
	// or the operator switches the ignition: the first Ignition does) and
	// the VIN, before the DUT is even started, so a DUT that attaches late
	// learns both within a broadcast period.
	if err := r.SetVINBroadcast(true); err != nil {
		return err
	}
	r.silent = o.silentBus
	if !o.silentBus {
		if s, mapped := p.Bench.Stimuli["ig-on"]; !mapped || s.Message != "" {
			frames, err := r.ignitionFrames(bench.IGOn)
			if err != nil {
				return err
			}
			r.ignition, r.ignFrames = bench.IGOn, frames
		}
	}
	go r.broadcast(ctx)
	if p.HasRole("center") && p.DUT.Simulated {
		// After prepareHost: a vehicle's namespace moves the DNS server.
		if err := r.startCenterDUT(); err != nil {
			return err
		}
		if err := r.startMQTTCenterDUT(); err != nil {
			return err
		}
	}
	if p.DUT.Simulated && p.HasRole("vehicle") {
		if err := r.startVehicle(ctx, busCfg); err != nil {
			return err
		}
	}
	return r.vissMQTTEndpoints()
}

// announce tells the user where the DUT finds the harness: the CAN bus
// (and how a DUT without SocketCAN joins it) and the center. Printed for a
// real DUT, and for a simulated one with ICOC_VERBOSE.
func (r *Run) announce(busCfg bus.Config) {
	if r.Profile.DUT.Simulated && !*flagVerbose {
		return
	}
	fmt.Fprintf(os.Stderr, "icoc: CAN bus: %s\n", busCfg.HowToJoin())
	if r.Center != nil {
		fmt.Fprintf(os.Stderr, "icoc: center: https://%s at %s (TLS server name %s)\n", r.Profile.Center.Host, r.Center.Addr(), r.Profile.Center.Host)
	}
	if r.TLS != nil && r.TLS.Revocation != nil {
		fmt.Fprintf(os.Stderr, "icoc: CRLs and OCSP of %s and %s: http://%s\n", CRLHost, OCSPHost, r.TLS.Revocation.Addr())
	}
	if r.TLS != nil && r.TLS.DNS != nil {
		fmt.Fprintf(os.Stderr, "icoc: DNS server %s answers %s with %s (the DUT resolves with it for Tables 7-4/7-5 row G)\n", r.TLS.DNS.Addr(), strings.Join(r.TLS.names, ", "), r.TLS.addr)
	}
}

// broadcast sends the ignition state and the VIN cyclically, as a body ECU
// does on a real bus, so a DUT that wakes up late still learns them: once
// at once, then every spec second (at least 20 ms, at most 1 s of wall
// time). The VIN goes out while the ignition is not +B OFF. Its frames
// share the bus with every other frame of the run (r.line): at full load
// they take their turn, as a body ECU's frames win arbitration in turn on
// a real bus.
func (r *Run) broadcast(ctx context.Context) {
	period := min(max(r.Clock.Wall(time.Second), 20*time.Millisecond), time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		r.mu.Lock()
		silent, i, ign, vin := r.silent, r.ignition, r.ignFrames, r.vinFrames
		r.mu.Unlock()
		if !silent {
			for _, f := range ign {
				_ = r.line.TransmitFrame(ctx, f)
			}
			if i != bench.BOff {
				for _, f := range vin {
					_ = r.line.TransmitFrame(ctx, f)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SetVINBroadcast switches the cyclic VIN broadcast of the profile's VIN
// (message VINBroadcast of the bench DBC) on or off. It is on from Start.
func (r *Run) SetVINBroadcast(on bool) error {
	var frames []can.Frame
	if on {
		var err error
		if frames, err = bench.VINFrames(r.Profile.DUT.VIN); err != nil {
			return fmt.Errorf("profile %s dut.vin: %w", r.Profile.Source, err)
		}
	}
	r.mu.Lock()
	r.vinFrames = frames
	r.mu.Unlock()
	return nil
}

// Stop ends the simulators, the bus and the center. Safe to call twice.
// It returns how the reference vehicle ended when that was not by Stop's
// own request: an in-process vehicle whose Run returned an error (its bus
// broke, say), or a vehicle process that had exited before Stop or died of
// anything but Stop's signal; nil otherwise (and for a real DUT). A
// vehicle that died under the specs makes their verdicts suspect, so
// SetUpSuite fails the suite with it.
func (r *Run) Stop() error {
	r.mu.Lock()
	fs := r.atStop
	r.atStop = nil
	r.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
	var errs []error
	if r.host.proc != nil && !r.host.proc.alive() {
		errs = append(errs, r.host.proc.exitError())
	}
	if r.cancel != nil {
		r.cancel()
	}
	if r.vehErr != nil {
		if err := <-r.vehErr; err != nil {
			errs = append(errs, fmt.Errorf("reference vehicle (in process) ended with an error: %w", err))
		}
		r.vehErr = nil
	}
	if err := r.stopHost(); err != nil {
		errs = append(errs, err)
	}
	r.stopEvidence()
	r.stopMQTT()
	if r.Bus != nil {
		_ = r.Bus.Close()
	}
	if r.emulator != nil {
		r.emulator.Close()
	}
	if r.Center != nil {
		_ = r.Center.Close()
	}
	r.stopTLS()
	return errors.Join(errs...)
}

// Send puts frames on the DUT's bus, in order, back to back at the bus's
// bitrate (never faster than a real bus carries them, the broadcast's
// frames included).
func (r *Run) Send(ctx context.Context, frames ...can.Frame) error {
	for _, f := range frames {
		if err := r.line.TransmitFrame(ctx, f); err != nil {
			return fmt.Errorf("CAN stimulus %v: %w", f, err)
		}
	}
	return nil
}

// ignitionActions are the stimulus actions of the ignition states.
var ignitionActions = map[bench.Ignition]string{bench.IGOn: "ig-on", bench.IGOff: "ig-off", bench.BOff: "b-off"}

// ignitionFrames are the frames that announce state i: the profile's DBC
// message for its action, else the bench DBC's Ignition message.
func (r *Run) ignitionFrames(i bench.Ignition) ([]can.Frame, error) {
	action := ignitionActions[i]
	if s, ok := r.Profile.Bench.Stimuli[action]; ok && s.Message != "" {
		f, err := r.stimulusFrame(action, s, nil)
		if err != nil {
			return nil, err
		}
		return []can.Frame{f}, nil
	}
	return []can.Frame{bench.IgnitionFrame(i)}, nil
}

// Ignition sets the DUT's ignition state over the bus; the state is then
// repeated cyclically (the profile's DBC message for ig-on, ig-off or
// b-off when it maps one). A profile that maps the state to a command or an
// operator prompt gets that instead, once, and nothing is repeated.
func (r *Run) Ignition(ctx context.Context, i bench.Ignition) error {
	action := ignitionActions[i]
	if s, ok := r.Profile.Bench.Stimuli[action]; ok && s.Message == "" {
		r.mu.Lock()
		r.silent, r.ignition, r.ignFrames = false, i, nil
		r.mu.Unlock()
		_, err := r.stimulate(ctx, action, nil)
		return err
	}
	frames, err := r.ignitionFrames(i)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.silent, r.ignition, r.ignFrames = false, i, frames
	r.mu.Unlock()
	return r.Send(ctx, frames...)
}

// TriggerUpload asks the DUT over the bus to upload its CAN data now (or
// through the profile's upload-trigger stimulus, which receives the
// trigger's fields as the signals UploadRealTime, TriggerIdentifier and
// UploadRequestID where its message has them).
func (r *Run) TriggerUpload(ctx context.Context, t bench.UploadTrigger) error {
	rt := 0.0
	if t.RealTime {
		rt = 1
	}
	extra := map[string]float64{"UploadRealTime": rt, "TriggerIdentifier": float64(t.Trigger), "UploadRequestID": float64(t.RequestID)}
	if done, err := r.stimulate(ctx, "upload-trigger", extra); done {
		return err
	}
	return r.Send(ctx, t.Frame())
}

// TriggerBulkUpload asks the DUT over the bus for the upload of a bulk
// file of sizeKiB KiB whose content is bench.BulkData(id, sizeKiB*1024)
// (or through the profile's bulk-upload stimulus, which receives the
// signals BulkSizeKiB and BulkRequestID where its message has them).
func (r *Run) TriggerBulkUpload(ctx context.Context, sizeKiB uint16, id uint32) error {
	if done, err := r.stimulate(ctx, "bulk-upload", map[string]float64{"BulkSizeKiB": float64(sizeKiB), "BulkRequestID": float64(id)}); done {
		return err
	}
	return r.Send(ctx, bench.BulkUpload{SizeKiB: sizeKiB, RequestID: id}.Frame())
}

// Wait lets spec duration d pass on the DUT's clock; false when ctx ended.
func (r *Run) Wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(r.Clock.Wall(d))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Metadata describes the run for the report: profile, DUT identity, clock,
// transport and the fingerprints of the certificates in use.
func (r *Run) Metadata() report.RunMetadata {
	p := r.Profile
	m := report.RunMetadata{
		Profile:   p.Source,
		DUT:       report.DUTIdentity{Name: p.DUT.Name, Roles: p.DUT.Roles, Firmware: p.DUT.Firmware, VIN: p.DUT.VIN},
		ClockMode: clockMode(p.Clock),
		TimeScale: p.Clock.Scale,
		Transport: r.Transport,
	}
	if len(r.Quirks) > 0 {
		m.DUT.Firmware += " (quirks: " + strings.Join(r.Quirks, ",") + ")"
	}
	for _, c := range []struct{ name, file string }{
		{"center server", p.Center.CertFile}, {"center client CA", p.Center.ClientCAFile},
		{"DUT client", p.DUT.CertFile}, {"DUT root CA", p.DUT.RootCAFile},
	} {
		if c.file == "" {
			continue
		}
		fp, err := fingerprint(c.file)
		if err != nil {
			fp = "unreadable: " + err.Error()
		}
		m.Certificates = append(m.Certificates, report.CertFingerprint{Name: c.name, SHA256: fp})
	}
	return m
}

// applySpecToCenter gives a reference center (the harness's, or the
// simulated center DUT) the profile's readings.
func applySpecToCenter(cc *center.Config, o spec.Options) {
	cc.Spec = o
	cc.VehicleIDHeader, cc.VehicleIDLength = o.VehicleIDHeader, o.VehicleIDLength
}

// clockMode names the clock for the report.
func clockMode(c Clock) string {
	if c.DUTRunsScaled {
		return c.Mode + " (declared by the DUT)"
	}
	return c.Mode
}

// fingerprint is the SHA-256 of the first certificate in a PEM file.
func fingerprint(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return "", errors.New("no certificate in " + file)
		}
		if blk.Type == "CERTIFICATE" {
			sum := sha256.Sum256(blk.Bytes)
			return hex.EncodeToString(sum[:]), nil
		}
	}
}
