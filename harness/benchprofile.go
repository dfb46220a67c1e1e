package harness

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/simulator/bench"
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
	"center-push":    "make the center DUT push to the profile's VIN over MQTT (7.2.5.9.2)",
}

// Decoders are the CAN data file decoders a profile may choose.
var Decoders = map[string]string{
	"":                "icoc-canfile-v1",
	"icoc-canfile-v1": "simulator/canfile/FORMAT.md: big-endian header and 21-byte records",
}

// validateBench checks the bench parts of a profile: the CAN interface
// exists, the bitrate is classic CAN, every stimulus names a DBC message and
// signals it has (or a command that exists), the decoder is known, and the
// center's listen address can be bound on this host.
func (p *Profile) validateBench(bad func(field, format string, args ...any) error) error {
	if p.CAN.Interface != "" {
		if _, err := net.InterfaceByName(p.CAN.Interface); err != nil {
			return bad("can.interface", "%q: no such network interface on this host (%v); a SocketCAN interface is e.g. can0 or vcan0 (see ip link)", p.CAN.Interface, err)
		}
	}
	if p.CAN.Bitrate < 0 || p.CAN.Bitrate > 1_000_000 {
		return bad("can.bitrate", "%d: classic CAN runs at most 1000000 bit/s", p.CAN.Bitrate)
	}
	if _, ok := Decoders[p.Decoder]; !ok {
		return bad("decoder", "%q: unknown; known decoders: %s", p.Decoder, strings.Join(sortedKeys(Decoders)[1:], ", "))
	}
	for _, port := range p.Center.Ports {
		if port <= 0 || port > 65535 {
			return bad("center.ports", "%d is not a TCP port", port)
		}
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
		db := bench.DB()
		if r.Profile.Bench.DBC != "" {
			b, err := os.ReadFile(r.Profile.Bench.DBC)
			if err != nil {
				return true, err
			}
			if db, err = bench.Parse(filepath.Base(r.Profile.Bench.DBC), b); err != nil {
				return true, err
			}
		}
		m, _ := db.Message(s.Message)
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
			return true, fmt.Errorf("stimulus %s: %w", action, err)
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
		fmt.Fprintf(os.Stderr, "\n*** operator: %s (%s); press Enter when done (timeout %v)\n", s.Prompt, StimulusActions[action], timeout)
		done := make(chan error, 1)
		go func() {
			_, err := bufio.NewReader(os.Stdin).ReadString('\n')
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				return true, fmt.Errorf("stimulus %s: operator prompt: no answer on standard input: %v", action, err)
			}
			return true, nil
		case <-time.After(timeout):
			return true, fmt.Errorf("stimulus %s: operator did not confirm %q within %v", action, s.Prompt, timeout)
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
}
