// Package bus opens a CAN bus through go.einride.tech/can: SocketCAN when
// given an interface name (can0, vcan0), the library's UDP multicast
// emulator on this host, or a unicast UDP hub (udp.go) that reaches peers in
// other network namespaces or on other hosts. The rest of the code sees only the two small
// interfaces below, so the reference vehicle and the harness run unchanged
// on a bench and in CI.
package bus

import (
	"context"
	"errors"
	"fmt"
	"net"

	"go.einride.tech/can"
	"go.einride.tech/can/pkg/socketcan"
)

// FrameReceiver yields frames from the bus in the order they arrived.
// Receive blocks until a frame is there (true) or the bus is closed or
// broken (false, and Err says why; nil after Close).
type FrameReceiver interface {
	Receive() bool
	Frame() can.Frame
	Err() error
}

// FrameTransmitter puts frames on the bus.
type FrameTransmitter interface {
	TransmitFrame(ctx context.Context, f can.Frame) error
}

// Config says which bus to open: exactly one of Interface, UDP and Hub is
// set.
type Config struct {
	// Interface is a SocketCAN interface name such as can0 or vcan0.
	Interface string `yaml:"interface,omitempty" json:"interface,omitempty"`
	// UDP is the multicast group address (host:port) of an emulated bus.
	UDP string `yaml:"udp,omitempty" json:"udp,omitempty"`
	// Hub is the unicast address (host:port) of a Hub, the emulated bus
	// that crosses network namespaces (udp.go).
	Hub string `yaml:"hub,omitempty" json:"hub,omitempty"`
}

// String names the bus for logs and reports.
func (c Config) String() string {
	switch {
	case c.Interface != "":
		return "socketcan:" + c.Interface
	case c.Hub != "":
		return "udp-hub:" + c.Hub
	}
	return "udp-emulator:" + c.UDP
}

// HowToJoin tells a device under test how to join this bus: for a DUT
// with no SocketCAN, the emulator's group or the hub's address and what
// travels on it.
func (c Config) HowToJoin() string {
	switch {
	case c.Interface != "":
		return "SocketCAN interface " + c.Interface
	case c.Hub != "":
		return "CAN hub at udp://" + c.Hub + ": send an empty UDP datagram to join (the hub answers with an empty one), then one 16-byte SocketCAN can_frame per datagram each way; a 1-byte \"L\" leaves"
	}
	on := "this host"
	if ifi, err := MulticastInterface(); err == nil {
		on = "interface " + ifi.Name + " of this host"
	}
	return "UDP multicast emulator, group udp://" + c.UDP + " on " + on + ": join the group there (TTL 0, multicast loop on) and send and receive one 16-byte SocketCAN can_frame per datagram"
}

// Validate reports a config that names no bus or more than one.
func (c Config) Validate() error {
	n := 0
	for _, s := range []string{c.Interface, c.UDP, c.Hub} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return errors.New("bus: none of interface, udp and hub is set")
	case n > 1:
		return fmt.Errorf("bus: more than one of interface %q, udp %q and hub %q is set; choose one", c.Interface, c.UDP, c.Hub)
	case c.UDP != "":
		if _, _, err := net.SplitHostPort(c.UDP); err != nil {
			return fmt.Errorf("bus: udp %q: %v", c.UDP, err)
		}
	case c.Hub != "":
		if _, _, err := net.SplitHostPort(c.Hub); err != nil {
			return fmt.Errorf("bus: hub %q: %v", c.Hub, err)
		}
	}
	return nil
}

// link is one transport under a Conn.
type link interface {
	FrameReceiver
	FrameTransmitter
	Close() error
}

// Conn is one open connection to a bus. Close ends Receive.
type Conn struct {
	l   link
	cfg Config
}

// Open connects to the bus cfg names. On a hub it returns once the hub has
// acknowledged the connection, so no frame sent afterwards is missed.
func Open(ctx context.Context, cfg Config) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Hub != "" {
		h, err := dialHub(ctx, cfg.Hub)
		if err != nil {
			return nil, fmt.Errorf("open CAN bus %s: %w", cfg, err)
		}
		return &Conn{l: h, cfg: cfg}, nil
	}
	if cfg.UDP != "" {
		m, err := dialMulticast(cfg.UDP)
		if err != nil {
			return nil, fmt.Errorf("open CAN bus %s: %w", cfg, err)
		}
		return &Conn{l: m, cfg: cfg}, nil
	}
	c, err := socketcan.DialContext(ctx, "can", cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("open CAN bus %s: %w", cfg, err)
	}
	return &Conn{l: &scLink{conn: c, rx: socketcan.NewReceiver(c), tx: socketcan.NewTransmitter(c)}, cfg: cfg}, nil
}

// Receive implements FrameReceiver; it skips error frames.
func (c *Conn) Receive() bool { return c.l.Receive() }

// Frame implements FrameReceiver.
func (c *Conn) Frame() can.Frame { return c.l.Frame() }

// Err implements FrameReceiver: nil when the bus was closed on purpose.
func (c *Conn) Err() error {
	err := c.l.Err()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// TransmitFrame implements FrameTransmitter.
func (c *Conn) TransmitFrame(ctx context.Context, f can.Frame) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("CAN frame %v: %w", f, err)
	}
	return c.l.TransmitFrame(ctx, f)
}

// Config returns the bus this connection was opened on.
func (c *Conn) Config() Config { return c.cfg }

// Close closes the connection; a blocked Receive returns false.
func (c *Conn) Close() error { return c.l.Close() }

// scLink is a SocketCAN interface.
type scLink struct {
	conn net.Conn
	rx   *socketcan.Receiver
	tx   *socketcan.Transmitter
}

func (s *scLink) Receive() bool {
	for s.rx.Receive() {
		if !s.rx.HasErrorFrame() {
			return true
		}
	}
	return false
}

func (s *scLink) Frame() can.Frame { return s.rx.Frame() }
func (s *scLink) Err() error       { return s.rx.Err() }
func (s *scLink) TransmitFrame(ctx context.Context, f can.Frame) error {
	return s.tx.TransmitFrame(ctx, f)
}
func (s *scLink) Close() error { return s.conn.Close() }

// Emulator is an emulated bus for runs without SocketCAN: a UDP multicast
// group on this host. Its Config is what the peers open.
type Emulator struct {
	emu    *socketcan.Emulator
	cancel context.CancelFunc
}

// DefaultGroup is the multicast group of go.einride.tech/can's emulator,
// used when no group is given.
const DefaultGroup = "239.64.142.206"

// NewEmulator starts an emulated bus on a free port of DefaultGroup.
func NewEmulator() (*Emulator, error) { return NewEmulatorOn("") }

// NewEmulatorOn starts an emulated bus on group, an IPv4 multicast
// group:port of this host (port 0: a free one); "" means DefaultGroup on a
// free port. Several processes may open the same group: each gets every
// frame the others send.
func NewEmulatorOn(group string) (*Emulator, error) {
	if group == "" {
		group = net.JoinHostPort(DefaultGroup, "0")
	}
	host, _, err := net.SplitHostPort(group)
	if err != nil {
		return nil, fmt.Errorf("CAN emulator: group %q: %w", group, err)
	}
	if ip := net.ParseIP(host); ip == nil || ip.To4() == nil || !ip.IsMulticast() {
		return nil, fmt.Errorf("CAN emulator: group %q: %s is not an IPv4 multicast group", group, host)
	}
	e, err := socketcan.NewEmulator(socketcan.NoLogger, socketcan.WithMulticastAddress(group))
	if err != nil {
		return nil, fmt.Errorf("CAN emulator on %s: %w", group, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = e.Run(ctx) }()
	return &Emulator{emu: e, cancel: cancel}, nil
}

// Config returns the config that opens this bus.
func (e *Emulator) Config() Config { return Config{UDP: e.emu.Addr().String()} }

// Close stops the emulator.
func (e *Emulator) Close() { e.cancel() }
