package capture

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"go.einride.tech/can"
)

// WritePCAPNG writes pkts as a pcapng file (one interface description per
// interface seen, Ethernet link type, nanosecond timestamps), with comment
// in the section header and filter in each interface's description.
func (s *Sniffer) WritePCAPNG(w io.Writer, pkts []Packet, comment string) error {
	ids := map[int]int{}
	var order []int
	for _, p := range pkts {
		if _, ok := ids[p.Ifindex]; !ok {
			ids[p.Ifindex] = len(order)
			order = append(order, p.Ifindex)
		}
	}
	filter := s.Filter()
	intf := func(ifindex int) pcapgo.NgInterface {
		return pcapgo.NgInterface{Name: s.Interface(ifindex), Filter: filter, OS: runtime.GOOS,
			LinkType: layers.LinkTypeEthernet, SnapLength: snapLen, TimestampResolution: 9}
	}
	first := 0
	if len(order) > 0 {
		first = order[0]
	}
	opts := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Hardware: runtime.GOARCH, OS: runtime.GOOS, Application: "icoc", Comment: comment}}
	nw, err := pcapgo.NewNgWriterInterface(w, intf(first), opts)
	if err != nil {
		return err
	}
	for _, ifi := range order[min(1, len(order)):] {
		if _, err := nw.AddInterface(intf(ifi)); err != nil {
			return err
		}
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.At, CaptureLength: len(p.Data), Length: max(p.Length, len(p.Data)), InterfaceIndex: ids[p.Ifindex]}
		if err := nw.WritePacket(ci, p.Data); err != nil {
			return err
		}
	}
	return nw.Flush()
}

// KeyLog is an io.Writer for crypto/tls's Config.KeyLogWriter that keeps
// each line (NSS key log format, what SSLKEYLOGFILE holds) with the time
// it was written. Safe for concurrent use.
type KeyLog struct {
	mu    sync.Mutex
	lines []keyLine
	part  []byte
}

type keyLine struct {
	at   time.Time
	text string
}

// Write takes one or more whole lines (crypto/tls writes one per call).
func (k *KeyLog) Write(p []byte) (int, error) {
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.part = append(k.part, p...)
	for {
		i := bytes.IndexByte(k.part, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(k.part[:i])); line != "" {
			k.lines = append(k.lines, keyLine{now, line})
		}
		k.part = k.part[i+1:]
	}
	return len(p), nil
}

// Between returns the lines written within [from, to], in the key log
// file format (a comment line first).
func (k *KeyLog) Between(from, to time.Time) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	var b bytes.Buffer
	b.WriteString("# TLS secrets of the harness's side (SSLKEYLOGFILE format): Wireshark, Preferences > Protocols > TLS > (Pre)-Master-Secret log filename\n")
	for _, l := range k.lines {
		if !l.at.Before(from) && !l.at.After(to) {
			b.WriteString(l.text)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// Len is the number of lines kept.
func (k *KeyLog) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.lines)
}

// Prune forgets the lines written before t.
func (k *KeyLog) Prune(t time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	i := 0
	for i < len(k.lines) && k.lines[i].at.Before(t) {
		i++
	}
	k.lines = append(k.lines[:0:0], k.lines[i:]...)
}

// CANFrame is one frame of the bus as the harness saw it.
type CANFrame struct {
	At    time.Time
	Frame can.Frame
	// Sent is true for a frame the harness put on the bus, false for one
	// it received from another node.
	Sent bool
}

// echoWindow is how long after sending a frame the harness may hear it
// back from a bus that echoes a node's own frames (the UDP emulator).
const echoWindow = 2 * time.Second

// CANLog keeps the frames the harness sent and received, in order. On a
// bus that echoes a node's own frames (the UDP multicast emulator), a
// received frame equal to one the harness sent within echoWindow and not
// yet heard back is taken as that echo and not logged twice. Safe for
// concurrent use.
type CANLog struct {
	mu      sync.Mutex
	frames  []CANFrame
	pending []CANFrame // sent, not heard back yet
}

// Sent logs a frame the harness put on the bus now.
func (l *CANLog) Sent(f can.Frame) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.frames = append(l.frames, CANFrame{At: now, Frame: f, Sent: true})
	l.pending = append(l.pending, CANFrame{At: now, Frame: f, Sent: true})
}

// Received logs a frame heard on the bus now, unless it is the echo of one
// the harness sent.
func (l *CANLog) Received(f can.Frame) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	i := 0
	for i < len(l.pending) && now.Sub(l.pending[i].At) > echoWindow {
		i++
	}
	l.pending = l.pending[i:]
	for j, p := range l.pending {
		if p.Frame == f {
			l.pending = append(l.pending[:j], l.pending[j+1:]...)
			return
		}
	}
	l.frames = append(l.frames, CANFrame{At: now, Frame: f})
}

// Between returns the frames logged within [from, to].
func (l *CANLog) Between(from, to time.Time) []CANFrame {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []CANFrame
	for _, f := range l.frames {
		if !f.At.Before(from) && !f.At.After(to) {
			out = append(out, f)
		}
	}
	return out
}

// Prune forgets the frames logged before t.
func (l *CANLog) Prune(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := 0
	for i < len(l.frames) && l.frames[i].At.Before(t) {
		i++
	}
	l.frames = append(l.frames[:0:0], l.frames[i:]...)
}

// WriteCandump writes frames in candump's log format, with iface as the
// interface field and bus naming the bus in the header (candump -l; what
// canplayer replays), one per line: "(seconds.micros) iface ID#DATA",
// followed by T for a frame the harness sent and R for one it received
// (canplayer reads the first three fields and ignores the rest). Lines
// starting with '#' before the frames say what the file is.
func WriteCandump(w io.Writer, iface, bus string, frames []CANFrame) error {
	b := bufio.NewWriter(w)
	if bus == "" {
		bus = iface
	}
	fmt.Fprintf(b, "# CAN frames on the bus (%s) during the spec, candump log format; T: sent by the harness, R: received\n", bus)
	name := candumpIface(iface)
	for _, f := range frames {
		dir := "R"
		if f.Sent {
			dir = "T"
		}
		us := f.At.UnixMicro()
		fmt.Fprintf(b, "(%d.%06d) %s %s %s\n", us/1e6, us%1e6, name, FormatFrame(f.Frame), dir)
	}
	return b.Flush()
}

// candumpIface makes a bus name usable as candump's interface field (no
// spaces, at most 15 characters like a Linux interface name).
func candumpIface(s string) string {
	s = strings.Map(func(r rune) rune {
		if r <= ' ' || r == '(' || r == ')' || r == '#' {
			return '_'
		}
		return r
	}, s)
	if s == "" {
		s = "can"
	}
	if len(s) > 15 {
		s = s[:15]
	}
	return s
}

// FormatFrame renders a classic CAN frame as candump does: a 3-digit
// standard or 8-digit extended ID, '#', the data bytes in hex (or R for a
// remote frame).
func FormatFrame(f can.Frame) string {
	id := fmt.Sprintf("%03X", f.ID)
	if f.IsExtended {
		id = fmt.Sprintf("%08X", f.ID)
	}
	if f.IsRemote {
		return id + "#R"
	}
	return fmt.Sprintf("%s#%X", id, f.Data[:min(int(f.Length), 8)])
}

// Protocols a captured port carries, as Wireshark's "decode as" names them.
const (
	TLS  = "tls"
	HTTP = "http"
	DNS  = "dns"
)

// Port is one port of the run whose traffic is captured, with what it
// carries (TLS, HTTP or DNS), so Wireshark can be told how to decode it
// when the port is not the protocol's usual one.
type Port struct {
	Number int
	Proto  string
	// What names the listener, e.g. "harness center" or "fault proxy".
	What string
}

// TsharkArgs are the arguments that make tshark read pcap with the TLS
// secrets in keyLog and decode each port as its protocol.
func TsharkArgs(pcap, keyLog string, ports []Port) []string {
	args := []string{"-r", pcap}
	if keyLog != "" {
		args = append(args, "-o", "tls.keylog_file:"+keyLog)
	}
	seen := map[string]bool{}
	for _, p := range ports {
		l4 := "tcp"
		if p.Proto == DNS {
			l4 = "udp"
		}
		d := fmt.Sprintf("%s.port==%d,%s", l4, p.Number, p.Proto)
		if p.Number > 0 && p.Proto != "" && !seen[d] {
			seen[d] = true
			args = append(args, "-d", d)
		}
	}
	return args
}
