package bus

import (
	"errors"
	"fmt"
	"net"

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
// load a reader that falls behind for a few tens of milliseconds would
// otherwise lose frames in the kernel's default 208 KB.

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

// mcastReadBuffer is the receive buffer asked for: 4 MB, which the kernel
// accounts as room for about 10,000 frames, a second of a full 1 Mbit/s
// bus. Where net.core.rmem_max caps it (208 KB on a stock kernel, about
// 250 frames or 28 ms), SO_RCVBUFFORCE lifts the cap when the process may.
// Measured (README, "CAN ingest"): with the stock buffer one run in ten at
// 100% load lost 205 frames, every one of them dropped at the reader's
// full socket queue (RxStats.Drops); with 4 MB none in ten.
const mcastReadBuffer = 4 << 20

// mcastLink is one peer of the emulated bus: it reads the group on one
// socket and sends to it on another.
type mcastLink struct{ datagramLink }

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
	setReadBuffer(rx, mcastReadBuffer)
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
	return &mcastLink{datagramLink{rx: rx, tx: txc, peer: "CAN emulator"}}, nil
}

// Close leaves the group; a blocked Receive returns false with a nil Err
// (see Conn.Err).
func (l *mcastLink) Close() error {
	err := l.rx.Close()
	if e := l.tx.Close(); err == nil {
		err = e
	}
	return err
}
