package harness

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/bus"
	"go.einride.tech/can"
	"go.yaml.in/yaml/v3"
)

// BenchConfig is how the harness drives a real DUT on a bench: the DBC its
// stimuli are written in and, for each harness action, the stimulus. An
// action with no entry uses the bench DBC's own message (IG-ON is message
// Ignition with IgnitionState 1, and so on).
type BenchConfig struct {
	// DBC is the DBC file the stimuli name messages from; empty means the
	// bench DBC shipped with icoc (simulator/bench/bench.dbc).
	DBC string `yaml:"dbc"`
	// Stimuli maps a harness action (see StimulusActions) to its stimulus.
	Stimuli map[string]Stimulus `yaml:"stimuli"`
	// WarmUp is how long the harness broadcasts the ignition state and the
	// VIN after IG-ON before the first spec stimulates the DUT, in wall
	// time (a unit boots and joins the bus in wall time, whatever its
	// timers' scale). Zero means the wall time of one spec second on the
	// profile's clock (one broadcast period). The broadcast itself runs
	// from the start of the run.
	WarmUp time.Duration `yaml:"warm_up"`
}

// MaxWarmUp bounds BenchConfig.WarmUp: the suite's set-up must end.
const MaxWarmUp = 5 * time.Minute

// warmUp is the effective warm-up (see BenchConfig.WarmUp).
func (p *Profile) warmUp() time.Duration {
	if p.Bench.WarmUp > 0 {
		return p.Bench.WarmUp
	}
	return p.Clock.Wall(time.Second)
}

// Stimulus is one way to make the DUT do something: exactly one of a CAN
// message (by DBC name, with physical signal values), an external command,
// or a prompt to the operator for a manual step.
type Stimulus struct {
	Message string             `yaml:"message"`
	Signals map[string]float64 `yaml:"signals"`
	// Command is run (argv, no shell) when the DUT cannot take the action
	// over CAN; it must exit 0.
	Command []string `yaml:"command"`
	// Prompt is shown to the operator, who confirms with Enter.
	Prompt string `yaml:"prompt"`
	// Timeout bounds a command or a prompt (wall time); default 2 minutes.
	Timeout time.Duration `yaml:"timeout"`
}

// StimulusActions are the harness actions a profile may map, with what
// they mean.
var StimulusActions = map[string]string{
	"ig-on":          "switch the ignition on",
	"ig-off":         "switch the ignition off (+B stays)",
	"b-off":          "take +B away (the unit loses power)",
	"upload-trigger": "ask for a CAN data upload now (real-time flag, trigger identifier and request ID are filled in)",
	"api-call":       "ask for an API call to the center",
	"download":       "ask for a data download",
	"push-ack":       "acknowledge a push from the center",
	"bulk-upload":    "ask for the upload of a bulk file (video-like, 7.2.4.1) of a given size (size and request ID are filled in)",
	"center-push":    "make the center DUT push to the profile's VIN over MQTT (7.2.5.9.2)",
}

// validateBench checks the bench parts of a profile: one CAN bus, and the
// interface exists, the emulator's group is a multicast group, the hub's
// address can be bound; the bitrate is classic CAN; every stimulus names a
// DBC message and signals it has (or a command that exists); the warm-up
// is not negative; the decoder is known; and the center's listen and
// revocation addresses can be bound on this host.
func (p *Profile) validateBench(bad func(field, format string, args ...any) error) error {
	var set []string
	for _, f := range []struct{ key, val string }{{"can.interface", p.CAN.Interface}, {"can.udp", p.CAN.UDP}, {"can.hub", p.CAN.Hub}} {
		if f.val != "" {
			set = append(set, f.key)
		}
	}
	if len(set) > 1 {
		return bad(set[1], "%s and %s are both set: the DUT's bus is one of a SocketCAN interface, the UDP emulator and the CAN hub", set[0], set[1])
	}
	if p.CAN.Interface != "" {
		if _, err := net.InterfaceByName(p.CAN.Interface); err != nil {
			return bad("can.interface", "%q: no such network interface on this host (%v); a SocketCAN interface is e.g. can0 or vcan0 (see ip link); without SocketCAN use can.udp or can.hub", p.CAN.Interface, err)
		}
	}
	if p.CAN.UDP != "" {
		host, port, err := net.SplitHostPort(p.CAN.UDP)
		if err != nil {
			return bad("can.udp", "%q: %v (want the emulator's multicast group:port, e.g. %s:29536)", p.CAN.UDP, err, bus.DefaultGroup)
		}
		if ip := net.ParseIP(host); ip == nil || ip.To4() == nil || !ip.IsMulticast() {
			return bad("can.udp", "%q: %s is not an IPv4 multicast group (e.g. %s)", p.CAN.UDP, host, bus.DefaultGroup)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return bad("can.udp", "%q: %q is not a UDP port", p.CAN.UDP, port)
		}
	}
	if p.CAN.Hub != "" {
		ua, err := net.ResolveUDPAddr("udp", p.CAN.Hub)
		if err != nil {
			return bad("can.hub", "%q: %v (want the hub's listen address host:port)", p.CAN.Hub, err)
		}
		c, err := net.ListenUDP("udp", ua)
		if err != nil {
			return bad("can.hub", "%q: cannot listen there on this host (%v)", p.CAN.Hub, err)
		}
		_ = c.Close()
	}
	if p.CAN.Bitrate < 0 || p.CAN.Bitrate > 1_000_000 {
		return bad("can.bitrate", "%d: classic CAN runs at most 1000000 bit/s", p.CAN.Bitrate)
	}
	if _, ok := Decoders[p.decoder()]; !ok {
		return bad("decoder", "%q: unknown; known decoders: %s", p.Decoder, strings.Join(sortedKeys(Decoders), ", "))
	}
	if p.Bench.WarmUp < 0 || p.Bench.WarmUp > MaxWarmUp {
		return bad("bench.warm_up", "%v: want 0 (one spec second) up to %v of wall time", p.Bench.WarmUp, MaxWarmUp)
	}
	db := bench.DB()
	if p.Bench.DBC != "" {
		b, err := os.ReadFile(p.Bench.DBC)
		if err != nil {
			return bad("bench.dbc", "%s", unwrapPathError(err))
		}
		if db, err = bench.Parse(p.Bench.DBC, b); err != nil {
			return bad("bench.dbc", "%v", err)
		}
	}
	for _, action := range sortedKeys(p.Bench.Stimuli) {
		s := p.Bench.Stimuli[action]
		field := "bench.stimuli." + action
		if _, ok := StimulusActions[action]; !ok {
			return bad(field, "unknown action; known actions: %s", strings.Join(sortedKeys(StimulusActions), ", "))
		}
		n := 0
		for _, set := range []bool{s.Message != "", len(s.Command) > 0, s.Prompt != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			return bad(field, "give exactly one of message, command and prompt")
		}
		switch {
		case s.Message != "":
			m, ok := db.Message(s.Message)
			if !ok {
				return bad(field+".message", "%q is not a message of %s", s.Message, db.Source)
			}
			for _, sig := range sortedKeys(s.Signals) {
				if _, ok := m.Signal(sig); !ok {
					return bad(field+".signals."+sig, "message %s of %s has no signal %q (it has %s)", m.Name, db.Source, sig, strings.Join(m.SignalNames(), ", "))
				}
			}
			if _, err := m.Frame(s.Signals); err != nil {
				return bad(field+".signals", "%v", err)
			}
		case len(s.Command) > 0:
			if _, err := exec.LookPath(s.Command[0]); err != nil {
				return bad(field+".command", "%q: %v", s.Command[0], err)
			}
		}
		if s.Timeout < 0 {
			return bad(field+".timeout", "negative")
		}
	}
	ln, err := net.Listen("tcp", p.Center.Listen)
	if err != nil {
		return bad("center.listen", "%q: unreachable from this host: cannot listen there (%v)", p.Center.Listen, err)
	}
	_ = ln.Close()
	if a := p.Center.RevocationListen; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return bad("center.revocation_listen", "%q: %v", a, err)
		}
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return bad("center.revocation_listen", "%q: unreachable from this host: cannot listen there (%v)", a, err)
		}
		_ = ln.Close()
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fieldLines maps each field path of a YAML document (dut.vin,
// bench.stimuli.ig-on.message) to its line.
func fieldLines(data []byte) map[string]int {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return nil
	}
	out := map[string]int{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			out[path] = k.Line
			walk(v, path)
		}
	}
	walk(root.Content[0], "")
	return out
}

// lineOf returns the line of field or of its nearest parent that has one.
func lineOf(lines map[string]int, field string) int {
	for f := field; f != ""; {
		if l, ok := lines[f]; ok {
			return l
		}
		i := strings.LastIndex(f, ".")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0
}

// stimulusFrame builds the CAN frame of a message stimulus: its signals,
// with extra's values for the signals its message has.
func (r *Run) stimulusFrame(action string, s Stimulus, extra map[string]float64) (can.Frame, error) {
	db := bench.DB()
	if r.Profile.Bench.DBC != "" {
		b, err := os.ReadFile(r.Profile.Bench.DBC)
		if err != nil {
			return can.Frame{}, err
		}
		if db, err = bench.Parse(filepath.Base(r.Profile.Bench.DBC), b); err != nil {
			return can.Frame{}, err
		}
	}
	m, ok := db.Message(s.Message)
	if !ok {
		return can.Frame{}, fmt.Errorf("stimulus %s: %q is not a message of %s", action, s.Message, db.Source)
	}
	vals := map[string]float64{}
	for k, v := range s.Signals {
		vals[k] = v
	}
	for k, v := range extra {
		if _, ok := m.Signal(k); ok {
			vals[k] = v
		}
	}
	f, err := m.Frame(vals)
	if err != nil {
		return can.Frame{}, fmt.Errorf("stimulus %s: %w", action, err)
	}
	return f, nil
}

// stimulate performs a profile's stimulus for action, or reports false when
// the profile maps none (the caller then sends the bench DBC's message).
func (r *Run) stimulate(ctx context.Context, action string, extra map[string]float64) (bool, error) {
	s, ok := r.Profile.Bench.Stimuli[action]
	if !ok {
		return false, nil
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	switch {
	case s.Message != "":
		f, err := r.stimulusFrame(action, s, extra)
		if err != nil {
			return true, err
		}
		return true, r.Send(ctx, f)
	case len(s.Command) > 0:
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		out, err := exec.CommandContext(cctx, s.Command[0], s.Command[1:]...).CombinedOutput()
		if err != nil {
			return true, fmt.Errorf("stimulus %s: command %v: %v: %s", action, s.Command, err, out)
		}
		return true, nil
	default:
		operator.drain()
		fmt.Fprintf(os.Stderr, "\n*** operator: %s (%s); press Enter when done (timeout %v)\n", s.Prompt, StimulusActions[action], timeout)
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case _, ok := <-operator.next():
			if !ok {
				return true, fmt.Errorf("stimulus %s: operator prompt: no answer on standard input: %v", action, operator.err())
			}
			return true, nil
		case <-t.C:
			return true, fmt.Errorf("stimulus %s: operator did not confirm %q within %v", action, s.Prompt, timeout)
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
}

// operator is the operator's standard input, read by one goroutine for
// the whole process: a prompt that timed out leaves no reader of its own
// behind to swallow the Enter meant for the next prompt.
var operator = &lineReader{in: os.Stdin}

// lineReader reads lines from in, once it is first asked for one, on one
// goroutine that ends at the input's end (the channel is then closed and
// err says why). Safe for concurrent use.
type lineReader struct {
	in    io.Reader
	once  sync.Once
	lines chan string
	mu    sync.Mutex
	end   error
}

func (l *lineReader) start() {
	l.once.Do(func() {
		l.lines = make(chan string, 16)
		go func() {
			sc := bufio.NewScanner(l.in)
			for sc.Scan() {
				l.lines <- sc.Text()
			}
			err := sc.Err()
			if err == nil {
				err = io.EOF
			}
			l.mu.Lock()
			l.end = err
			l.mu.Unlock()
			close(l.lines)
		}()
	})
}

// next is the channel of lines read.
func (l *lineReader) next() <-chan string {
	l.start()
	return l.lines
}

// drain drops the lines typed before a prompt was shown (a late answer to
// one that timed out): only an answer to the prompt itself confirms it.
func (l *lineReader) drain() {
	l.start()
	for {
		select {
		case _, ok := <-l.lines:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// err is why the input ended.
func (l *lineReader) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.end
}
