package harness

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/icoc-dev/icoc/harness/netfault"
	"github.com/icoc-dev/icoc/simulator/bus"
	"github.com/icoc-dev/icoc/simulator/vehicle"
	"github.com/icoc-dev/icoc/spec"
	"go.yaml.in/yaml/v3"
)

// Host is where the harness runs the reference vehicle of a sim run.
type Host string

// The hosts of a reference vehicle. Whatever the host, the vehicle is
// driven only by CAN and reaches the harness's center only over the
// network, through the run's fault proxy (Run.Link).
const (
	// HostInProcess runs the vehicle inside the test process (fast; the HTTP
	// and TLS suites use it).
	HostInProcess Host = "inprocess"
	// HostProcess runs cmd/vehicle as its own process, over loopback.
	HostProcess Host = "process"
	// HostNetns runs cmd/vehicle as its own process in its own network
	// namespace, joined to the harness by a veth pair; where namespaces are
	// unavailable (not root, no ip command) it falls back to HostProcess and
	// the run's Transport says "loopback".
	HostNetns Host = "netns"
)

// EnvDUTHost, when set, overrides the profile's and the suite's choice of
// host (inprocess, process or netns).
const EnvDUTHost = "ICOC_DUT_HOST"

// ParseHost checks a host name; "" is allowed and means "the suite's
// choice".
func ParseHost(s string) (Host, error) {
	switch h := Host(s); h {
	case "", HostInProcess, HostProcess, HostNetns:
		return h, nil
	}
	return "", fmt.Errorf("%q: want inprocess, process or netns", s)
}

// Option changes how Start starts a run.
type Option func(*startOptions)

type startOptions struct {
	push       bool
	viss       bool
	uplink     string
	host       Host
	quirks     []string
	quirksSet  bool
	silentBus  bool
	afterStart []func(*Run) error
	// tapBus, when set, wraps the bus under the run's Line (tests).
	tapBus func(bus.FrameTransmitter) bus.FrameTransmitter
}

// AfterStart runs f once the run has started (center, bus, simulators),
// before the suite's first spec; an error aborts the start. A protocol's
// package uses it to start its own side of the run (harness/exve) and
// registers its clean-up with Run.AtStop.
func AfterStart(f func(*Run) error) Option {
	return func(o *startOptions) { o.afterStart = append(o.afterStart, f) }
}

// WithSilentBus makes Start broadcast nothing, neither the ignition state
// nor the VIN, until the first Ignition call: for tests of what a DUT does
// before the body ECU speaks. Without it the broadcast runs from the start.
func WithSilentBus() Option { return func(o *startOptions) { o.silentBus = true } }

// PreferHost makes h the host of the reference vehicle unless the profile
// (dut.host) or ICOC_DUT_HOST says otherwise. Without it the vehicle runs
// in process.
func PreferHost(h Host) Option { return func(o *startOptions) { o.host = h } }

// WithPush makes a simulated vehicle keep a push connection (7.2.3.9.2)
// when the profile lists the capability "push". Suites that do not judge
// push leave it off, so the extra connection does not show in their
// timelines.
func WithPush() Option { return func(o *startOptions) { o.push = true } }

// WithUplink makes a simulated vehicle upload over the given protocol
// (vehicle.UplinkNames: "http", and the others as they land) instead of
// HTTP; a suite of another protocol's uploads asks for its own.
func WithUplink(protocol string) Option { return func(o *startOptions) { o.uplink = protocol } }

// WithQuirks switches the given quirks on instead of those of the flags
// (ICOC_QUIRKS); for tests that start runs of their own.
func WithQuirks(q ...string) Option {
	return func(o *startOptions) { o.quirks, o.quirksSet = q, true }
}

// chooseHost picks the host: ICOC_DUT_HOST, else the profile's dut.host,
// else the suite's preference, else in process.
func chooseHost(p *Profile, o startOptions) (Host, error) {
	if env := os.Getenv(EnvDUTHost); env != "" {
		h, err := ParseHost(env)
		if err != nil {
			return "", fmt.Errorf("%s: %v", EnvDUTHost, err)
		}
		return h, nil
	}
	for _, h := range []Host{p.DUT.Host, o.host} {
		if h != "" {
			return h, nil
		}
	}
	return HostInProcess, nil
}

// hostState is what the host of a simulated vehicle needs beyond the run:
// the namespace, the hub and forwarders on the veth, the vehicle process.
type hostState struct {
	netns  *netnsLink
	hub    *bus.Hub
	revFwd *netfault.Proxy
	proc   *vehicleProc
	tmp    string // files for the vehicle process (its -spec file)
	veh    *vehicle.Vehicle
}

// prepareHost decides the host and sets up what the bus and the vehicle
// need before either opens: the profile's bus (a SocketCAN interface, the
// emulator's group, the hub's address) or an emulator on a free port; for
// netns, the namespace, the hub on the veth, a DNS server and the fault
// proxy on the harness's end. It returns the bus to open.
func (r *Run) prepareHost(o startOptions) (bus.Config, error) {
	p := r.Profile
	r.Transport = "loopback"
	sim := p.DUT.Simulated && p.HasRole("vehicle")
	if sim {
		h, err := chooseHost(p, o)
		if err != nil {
			return bus.Config{}, err
		}
		r.Host = h
	}
	named := ""
	for _, f := range []struct{ key, val string }{{"can.interface", p.CAN.Interface}, {"can.udp", p.CAN.UDP}, {"can.hub", p.CAN.Hub}} {
		if f.val != "" {
			named = f.key
		}
	}
	if r.Host == HostNetns && named != "" {
		r.HostNote = "the profile names the CAN bus (" + named + "), which a vehicle in its own namespace cannot join: the vehicle runs as a process over loopback"
		r.logf("harness: %s", r.HostNote)
		r.Host = HostProcess
	}
	if r.Host == HostNetns {
		l, err := newNetnsLink()
		switch {
		case err == nil:
			return r.prepareNetns(l)
		case errors.Is(err, errNoNetns):
			r.HostNote = "network namespaces unavailable (" + err.Error() + "): the vehicle runs as a process over loopback"
			r.logf("harness: %s", r.HostNote)
			r.Host = HostProcess
		default:
			return bus.Config{}, err
		}
	}
	var cfg bus.Config
	switch {
	case p.CAN.Interface != "":
		cfg = bus.Config{Interface: p.CAN.Interface}
	case p.CAN.Hub != "":
		h, err := bus.NewHub(p.CAN.Hub)
		if err != nil {
			return bus.Config{}, fmt.Errorf("profile %s can.hub: %w", p.Source, err)
		}
		r.host.hub = h
		cfg = h.Config()
	default:
		e, err := bus.NewEmulatorOn(p.CAN.UDP)
		if err != nil {
			return bus.Config{}, fmt.Errorf("profile %s can.udp: %w", p.Source, err)
		}
		r.emulator = e
		cfg = e.Config()
	}
	if sim {
		var err error
		if r.Link, err = netfault.NewProxy("127.0.0.1:0", r.Center.Addr()); err != nil {
			return bus.Config{}, err
		}
		if g := r.Center.GRPCAddr(); g != "" {
			if r.GRPCLink, err = netfault.NewProxy("127.0.0.1:0", g); err != nil {
				return bus.Config{}, err
			}
		}
		if err := r.linkMQTT("127.0.0.1:0"); err != nil {
			return bus.Config{}, err
		}
	}
	return cfg, nil
}

// prepareNetns sets up the harness's end of the veth: the CAN hub, the
// run's DNS server (TLSRun.DNS, which the TLS specs steer) answering the
// center's and the CDP/OCSP names with the harness's end, the fault proxy
// on port 443 in front of the center, and a forwarder to the CDP/OCSP
// responder; the harness's spare addresses (rows G and H) are the veth's.
func (r *Run) prepareNetns(l *netnsLink) (bus.Config, error) {
	hs := &r.host
	hs.netns = l
	r.Transport = "netns"
	h := l.HostIP.String()
	var err error
	if hs.hub, err = bus.NewHub(net.JoinHostPort(h, "0")); err != nil {
		return bus.Config{}, err
	}
	if err := r.TLS.move(net.JoinHostPort(h, "53"), l.HostIP, l.Spares); err != nil {
		return bus.Config{}, err
	}
	if r.Link, err = netfault.NewProxy(net.JoinHostPort(h, "443"), r.Center.Addr()); err != nil {
		return bus.Config{}, err
	}
	if g := r.Center.GRPCAddr(); g != "" {
		// Appendix 2: the gRPC port is 9080; the vehicle reaches it by name.
		if r.GRPCLink, err = netfault.NewProxy(net.JoinHostPort(h, "9080"), g); err != nil {
			return bus.Config{}, err
		}
	}
	if err := r.linkMQTT(net.JoinHostPort(h, "8883")); err != nil {
		return bus.Config{}, err
	}
	if r.TLS != nil && r.TLS.Revocation != nil {
		port := strconv.Itoa(r.TLS.RevocationPort())
		if hs.revFwd, err = netfault.NewProxy(net.JoinHostPort(h, port), r.TLS.Revocation.Addr()); err != nil {
			return bus.Config{}, err
		}
	}
	return hs.hub.Config(), nil
}

// startVehicle starts the reference vehicle on its host and returns once
// it listens on the bus.
func (r *Run) startVehicle(ctx context.Context, busCfg bus.Config) error {
	p := r.Profile
	if r.Host == HostInProcess {
		vc := vehicle.NewDefaultConfig()
		vc.CenterURL = (&url.URL{Scheme: "https", Host: net.JoinHostPort(p.Center.Host, "443")}).String()
		vc.CenterAddr = r.Link.Addr()
		if r.GRPCLink != nil {
			vc.GRPCAddr = r.GRPCLink.Addr()
		}
		vc.CertFile, vc.KeyFile, vc.RootCAFile = p.DUT.CertFile, p.DUT.KeyFile, p.DUT.RootCAFile
		vc.Bus = busCfg
		vc.TimeScale = p.Clock.Scale
		vc.Spec, vc.VehicleIDHeader = p.Spec, p.Spec.VehicleIDHeader
		vc.Quirks = r.Quirks
		vc.Push = r.push
		if r.uplink != "" {
			vc.Uplink = r.uplink
		}
		vc.Logf = r.logf
		r.configureVehicleTLS(&vc)
		r.vissVehicleConfig(&vc)
		r.configureVehicleMQTT(&vc)
		v, err := vehicle.New(vc)
		if err != nil {
			return err
		}
		r.host.veh = v
		r.vehErr = make(chan error, 1)
		go func() { r.vehErr <- v.Run(ctx) }()
		select {
		case <-v.Ready():
			r.vissLearnInProcess(v)
			return nil
		case err := <-r.vehErr:
			r.vehErr = nil
			return fmt.Errorf("reference vehicle: %w", err)
		case <-time.After(10 * time.Second):
			return errors.New("reference vehicle: not listening on the bus after 10 s")
		}
	}
	bin, err := VehicleBinary()
	if err != nil {
		return err
	}
	vq, _ := splitQuirks(r.Quirks)
	args := []string{bin,
		"-center", (&url.URL{Scheme: "https", Host: net.JoinHostPort(p.Center.Host, "443")}).String(),
		"-cert", p.DUT.CertFile, "-key", p.DUT.KeyFile, "-root-ca", p.DUT.RootCAFile,
		"-time-scale", strconv.FormatFloat(p.Clock.Scale, 'g', -1, 64),
		"-quirks", strings.Join(vq, ","),
	}
	if r.push {
		args = append(args, "-push")
	}
	if p.DUT.WildcardServerNames {
		args = append(args, "-wildcard-server-names")
	}
	if !reflect.DeepEqual(p.Spec, spec.DefaultOptions()) {
		f, err := r.writeSpecFile()
		if err != nil {
			return err
		}
		args = append(args, "-spec", f)
	}
	if r.uplink != "" {
		args = append(args, "-uplink", r.uplink)
	}
	if r.TLS != nil && r.TLS.Revocation != nil {
		args = append(args, "-revocation-port", strconv.Itoa(r.TLS.RevocationPort()))
	}
	vissHost := "127.0.0.1"
	if r.host.netns != nil {
		vissHost = r.host.netns.PeerIP.String()
	}
	vissArgs, err := r.vissArgs(vissHost, os.TempDir())
	if err != nil {
		return err
	}
	args = append(args, vissArgs...)
	args = append(args, r.vehicleMQTTArgs(r.host.netns != nil)...)
	if hs := &r.host; hs.netns != nil {
		// By name: center.icoc.test resolves through the harness's DNS
		// server on the veth to the fault proxy on port 443.
		args = append(args, "-can-hub", busCfg.Hub, "-dns", r.TLS.DNS.Addr())
		args = hs.netns.Exec(args...)
	} else {
		// Over loopback the proxy's port is not 443: a fixed address.
		switch {
		case busCfg.Interface != "":
			args = append(args, "-can", busCfg.Interface)
		case busCfg.Hub != "":
			args = append(args, "-can-hub", busCfg.Hub)
		default:
			args = append(args, "-can-udp", busCfg.UDP)
		}
		args = append(args, "-center-addr", r.Link.Addr())
		if r.GRPCLink != nil {
			args = append(args, "-grpc-addr", r.GRPCLink.Addr())
		}
		if r.TLS != nil && r.TLS.DNS != nil {
			args = append(args, "-dns", r.TLS.DNS.Addr())
		}
	}
	proc, err := startVehicleProc(args, r.vissTap(r.logf))
	if err != nil {
		return err
	}
	r.host.proc = proc
	if err := proc.waitReady(15 * time.Second); err != nil {
		return err
	}
	if len(vissArgs) > 0 {
		return r.vissLearnFromLog()
	}
	return nil
}

// stopHost stops the vehicle process and removes what prepareHost set up;
// it returns the vehicle process's failure to end as asked (see
// vehicleProc.stop).
func (r *Run) stopHost() error {
	hs := &r.host
	var err error
	if hs.proc != nil {
		if hs.proc.alive() {
			err = hs.proc.stop()
		}
		hs.proc = nil
	}
	if r.Link != nil {
		_ = r.Link.Close()
	}
	if r.GRPCLink != nil {
		_ = r.GRPCLink.Close()
	}
	if hs.revFwd != nil {
		_ = hs.revFwd.Close()
	}
	if hs.hub != nil {
		_ = hs.hub.Close()
	}
	if hs.tmp != "" {
		_ = os.RemoveAll(hs.tmp)
	}
	hs.netns.remove()
	return err
}

// writeSpecFile writes the profile's spec readings for a vehicle process
// (its -spec flag) into a directory stopHost removes.
func (r *Run) writeSpecFile() (string, error) {
	hs := &r.host
	if hs.tmp == "" {
		d, err := os.MkdirTemp("", "icoc-run-")
		if err != nil {
			return "", err
		}
		hs.tmp = d
	}
	b, err := yaml.Marshal(r.Profile.Spec)
	if err != nil {
		return "", err
	}
	f := filepath.Join(hs.tmp, "spec.yaml")
	return f, os.WriteFile(f, b, 0o644)
}

// vehicleBusStats is the in-process vehicle's bus receive queue
// (bus.RxStats); an error for any other host.
func (r *Run) vehicleBusStats() (bus.RxStats, error) {
	if r.host.veh == nil {
		return bus.RxStats{}, errors.New("no in-process vehicle")
	}
	return r.host.veh.BusStats()
}

// VehicleProcessAlive reports whether the vehicle's process is running
// (false for an in-process vehicle).
func (r *Run) VehicleProcessAlive() bool {
	return r.host.proc != nil && r.host.proc.alive()
}

// vehicleProc is a running cmd/vehicle. Its output goes to the run's log
// (ICOC_VERBOSE) and its last lines into errors.
type vehicleProc struct {
	cmd   *exec.Cmd
	ready chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	tail  []string
	err   error
}

func startVehicleProc(argv []string, logf func(string, ...any)) (*vehicleProc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	// The vehicle dies with the harness, even when the harness is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("reference vehicle: starting %s: %w", strings.Join(argv, " "), err)
	}
	p := &vehicleProc{cmd: cmd, ready: make(chan struct{}), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pr)
		var once sync.Once
		for sc.Scan() {
			line := sc.Text()
			logf("vehicle[%d]: %s", cmd.Process.Pid, line)
			p.mu.Lock()
			p.tail = append(p.tail, line)
			if len(p.tail) > 40 {
				p.tail = p.tail[1:]
			}
			p.mu.Unlock()
			if strings.Contains(line, "vehicle: listening on") {
				once.Do(func() { close(p.ready) })
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		err := cmd.Wait()
		_ = pw.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

func (p *vehicleProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

func (p *vehicleProc) waitReady(timeout time.Duration) error {
	select {
	case <-p.ready:
		return nil
	case <-p.done:
		return fmt.Errorf("reference vehicle %s exited before it listened on the bus (%v); its output:\n%s", p.cmd.Path, p.err, p.output())
	case <-time.After(timeout):
		return fmt.Errorf("reference vehicle %s: not listening on the bus after %v; its output:\n%s", p.cmd.Path, timeout, p.output())
	}
}

func (p *vehicleProc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// exitError says how a vehicle process that ended on its own ended, with
// the last lines of its output.
func (p *vehicleProc) exitError() error {
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	how := "with status 0"
	if err != nil {
		how = err.Error()
	}
	return fmt.Errorf("reference vehicle process %s exited before the run ended (%s); its output:\n%s", p.cmd.Path, how, p.output())
}

// stop asks the vehicle to end (SIGTERM) and kills it after 5 s. It
// returns an error when the process ended with a failure of its own
// (cmd/vehicle exits 0 on SIGTERM) or had to be killed.
func (p *vehicleProc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("reference vehicle process %s did not end within 5 s of SIGTERM and was killed; its output:\n%s", p.cmd.Path, p.output())
	}
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil // ended by the signal itself, before its handler ran
		}
	}
	if err != nil {
		return fmt.Errorf("reference vehicle process %s ended with an error when stopped (%v); its output:\n%s", p.cmd.Path, err, p.output())
	}
	return nil
}

var (
	vehicleBinOnce sync.Once
	vehicleBin     string
	vehicleBinErr  error
)

// VehicleBinary builds cmd/vehicle with the go command, once per process,
// into a directory of the system's temp dir named by a digest of this
// executable and of cmd/vehicle's sources, so the suites and the
// self-test's children of one build share one binary and a changed tree
// gets a new one. Directories older than a day are removed.
func VehicleBinary() (string, error) {
	vehicleBinOnce.Do(func() { vehicleBin, vehicleBinErr = buildVehicle() })
	return vehicleBin, vehicleBinErr
}

func buildVehicle() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if exe, err := os.Executable(); err == nil {
		if f, err := os.Open(exe); err == nil {
			_, _ = io.Copy(h, f)
			f.Close()
		}
	}
	srcs, _ := filepath.Glob(filepath.Join(root, "cmd", "vehicle", "*.go"))
	for _, s := range srcs {
		b, _ := os.ReadFile(s)
		h.Write(b)
	}
	key := hex.EncodeToString(h.Sum(nil))[:16]
	tmp := os.TempDir()
	if old, _ := filepath.Glob(filepath.Join(tmp, "icoc-vehicle-*")); len(old) > 0 {
		for _, d := range old {
			if st, err := os.Stat(d); err == nil && time.Since(st.ModTime()) > 24*time.Hour {
				_ = os.RemoveAll(d)
			}
		}
	}
	dir := filepath.Join(tmp, "icoc-vehicle-"+key)
	bin := filepath.Join(dir, "vehicle")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	cmd := exec.Command(goCmd, "build", "-o", out, "./cmd/vehicle")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the reference vehicle (go build ./cmd/vehicle in %s): %v\n%s", root, err, b)
	}
	if err := os.Rename(out, bin); err != nil {
		return "", err
	}
	return bin, nil
}
