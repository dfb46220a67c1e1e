package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"go.einride.tech/can"
	"go.einride.tech/can/pkg/socketcan"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/nettest"
)

// The emulated bus's peers speak go.einride.tech/can's emulator protocol:
// every peer joins one IPv4 multicast group on the interface the library
// picks (MulticastInterface), sends its frames to the group with TTL 0 and
// multicast loop on, so they never leave this host, and hears every frame
// sent to the group, its own included; one 16-byte SocketCAN can_frame per
// datagram. This package opens the same group itself (rather than through
// socketcan.Dial) to give the receiving socket a large buffer: at full bus
// load a reader that falls behind for a few milliseconds would otherwise
// lose frames in the kernel's default 208 KB.

// MulticastInterface is the interface the emulated bus uses for its group,
// chosen as go.einride.tech/can's emulator chooses it: a loopback interface
// with multicast, else the first interface that is up, has multicast and a
// routable IPv4 address. A DUT without SocketCAN joins the group there.
func MulticastInterface() (*net.Interface, error) {
	ifi, err := nettest.RoutedInterface("ip4", net.FlagUp|net.FlagMulticast|net.FlagLoopback)
	if err == nil {
		return ifi, nil
	}
	ifi, err = nettest.RoutedInterface("ip4", net.FlagUp|net.FlagMulticast)
	if err != nil {
		return nil, errors.New("no interface that is up, multicast and has an IPv4 address carries the emulated CAN bus")
	}
	return ifi, nil
}

// mcastReadBuffer is the receive buffer asked for (the kernel caps it at
// net.core.rmem_max).
const mcastReadBuffer = 4 << 20

// mcastLink is one peer of the emulated bus.
type mcastLink struct {
	rx    *net.UDPConn
	tx    *ipv4.PacketConn
	txc   *net.UDPConn
	frame can.Frame
	err   error
}

func dialMulticast(group string) (*mcastLink, error) {
	ifi, err := MulticastInterface()
	if err != nil {
		return nil, err
	}
	gaddr, err := net.ResolveUDPAddr("udp4", group)
	if err != nil {
		return nil, fmt.Errorf("group %q: %w", group, err)
	}
	rx, err := net.ListenMulticastUDP("udp4", ifi, gaddr)
	if err != nil {
		return nil, fmt.Errorf("join group %s on %s: %w", group, ifi.Name, err)
	}
	_ = rx.SetReadBuffer(mcastReadBuffer)
	txc, err := net.DialUDP("udp4", nil, gaddr)
	if err != nil {
		_ = rx.Close()
		return nil, fmt.Errorf("group %s: %w", group, err)
	}
	tx := ipv4.NewPacketConn(txc)
	for _, set := range []func() error{
		func() error { return tx.SetMulticastInterface(ifi) },
		func() error { return tx.SetMulticastTTL(0) },
		func() error { return tx.SetMulticastLoopback(true) },
	} {
		if err := set(); err != nil {
			_ = rx.Close()
			_ = txc.Close()
			return nil, fmt.Errorf("group %s on %s: %w", group, ifi.Name, err)
		}
	}
	return &mcastLink{rx: rx, tx: tx, txc: txc}, nil
}

// Receive blocks for the next data frame of the group; it skips anything
// that is not a frame, and error frames.
func (l *mcastLink) Receive() bool {
	var b [64]byte
	for {
		n, _, err := l.rx.ReadFromUDP(b[:])
		if errors.Is(err, syscall.ECONNREFUSED) {
			continue
		}
		if err != nil {
			l.err = err
			return false
		}
		if n != hubFrameLen {
			continue
		}
		var sf socketcan.Frame
		sf.UnmarshalBinary(b[:hubFrameLen])
		if sf.IsError() {
			continue
		}
		l.frame = sf.DecodeFrame()
		return true
	}
}

func (l *mcastLink) Frame() can.Frame { return l.frame }
func (l *mcastLink) Err() error       { return l.err }

// TransmitFrame sends f to the group in SocketCAN's encoding.
func (l *mcastLink) TransmitFrame(ctx context.Context, f can.Frame) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var sf socketcan.Frame
	sf.EncodeFrame(f)
	var b [hubFrameLen]byte
	sf.MarshalBinary(b[:])
	if _, err := l.txc.Write(b[:]); err != nil {
		return fmt.Errorf("CAN emulator %s: %w", l.txc.RemoteAddr(), err)
	}
	return nil
}

// Close leaves the group; a blocked Receive returns false with a nil Err
// (see Conn.Err).
func (l *mcastLink) Close() error {
	err := l.rx.Close()
	if e := l.txc.Close(); err == nil {
		err = e
	}
	return err
}
