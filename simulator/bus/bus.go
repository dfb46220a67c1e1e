// Package bus opens a CAN bus through go.einride.tech/can: SocketCAN when
// given an interface name (can0, vcan0), the library's UDP multicast
// emulator otherwise. The rest of the code sees only the two small
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

// Config says which bus to open: exactly one of Interface and UDP is set.
type Config struct {
	// Interface is a SocketCAN interface name such as can0 or vcan0.
	Interface string `yaml:"interface,omitempty" json:"interface,omitempty"`
	// UDP is the multicast group address (host:port) of an emulated bus.
	UDP string `yaml:"udp,omitempty" json:"udp,omitempty"`
}

// String names the bus for logs and reports.
func (c Config) String() string {
	if c.Interface != "" {
		return "socketcan:" + c.Interface
	}
	return "udp-emulator:" + c.UDP
}

// Validate reports a config that names no bus or two.
func (c Config) Validate() error {
	switch {
	case c.Interface == "" && c.UDP == "":
		return errors.New("bus: neither interface nor udp is set")
	case c.Interface != "" && c.UDP != "":
		return errors.New("bus: both interface and udp are set; choose one")
	case c.UDP != "":
		if _, _, err := net.SplitHostPort(c.UDP); err != nil {
			return fmt.Errorf("bus: udp %q: %v", c.UDP, err)
		}
	}
	return nil
}

// Conn is one open connection to a bus. Close ends Receive.
type Conn struct {
	conn net.Conn
	rx   *socketcan.Receiver
	tx   *socketcan.Transmitter
	cfg  Config
}

// Open connects to the bus cfg names.
func Open(ctx context.Context, cfg Config) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	network, addr := "udp", cfg.UDP
	if cfg.Interface != "" {
		network, addr = "can", cfg.Interface
	}
	c, err := socketcan.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("open CAN bus %s: %w", cfg, err)
	}
	return &Conn{conn: c, rx: socketcan.NewReceiver(c), tx: socketcan.NewTransmitter(c), cfg: cfg}, nil
}

// Receive implements FrameReceiver; it skips error frames.
func (c *Conn) Receive() bool {
	for c.rx.Receive() {
		if !c.rx.HasErrorFrame() {
			return true
		}
	}
	return false
}

// Frame implements FrameReceiver.
func (c *Conn) Frame() can.Frame { return c.rx.Frame() }

// Err implements FrameReceiver: nil when the bus was closed on purpose.
func (c *Conn) Err() error {
	err := c.rx.Err()
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
	return c.tx.TransmitFrame(ctx, f)
}

// Config returns the bus this connection was opened on.
func (c *Conn) Config() Config { return c.cfg }

// Close closes the connection; a blocked Receive returns false.
func (c *Conn) Close() error { return c.conn.Close() }

// Emulator is an emulated bus for runs without SocketCAN: a UDP multicast
// group on this host. Its Config is what the peers open.
type Emulator struct {
	emu    *socketcan.Emulator
	cancel context.CancelFunc
}

// NewEmulator starts an emulated bus on a free port of the library's
// default multicast group.
func NewEmulator() (*Emulator, error) {
	e, err := socketcan.NewEmulator(socketcan.NoLogger)
	if err != nil {
		return nil, fmt.Errorf("CAN emulator: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = e.Run(ctx) }()
	return &Emulator{emu: e, cancel: cancel}, nil
}

// Config returns the config that opens this bus.
func (e *Emulator) Config() Config { return Config{UDP: e.emu.Addr().String()} }

// Close stops the emulator.
func (e *Emulator) Close() { e.cancel() }
