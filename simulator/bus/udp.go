package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"
)

// The hub is an emulated CAN bus over unicast UDP, for peers that the
// library's multicast emulator cannot reach: go.einride.tech/can's emulator
// joins its group on the loopback interface with multicast TTL 0, so its
// frames never leave the host's network namespace (a vehicle in its own
// namespace behind a veth pair hears nothing). Every peer sends its frames
// to the hub, which forwards each one, in the order it arrived, to every
// other peer that has joined, as a bus delivers a frame to every node but
// its sender.
//
// Wire format, one UDP datagram each:
//   - 16 bytes: one CAN frame in SocketCAN's encoding (struct can_frame,
//     marshalled by go.einride.tech/can/pkg/socketcan.Frame);
//   - 0 bytes, peer to hub: join (the hub answers with 0 bytes: joined);
//   - 1 byte 'L', peer to hub: leave.
//
// Anything else is ignored.
const hubFrameLen = 16

// hubLeave is the leave datagram.
var hubLeave = []byte{'L'}

// Hub is a running unicast UDP bus. Safe for concurrent use. Invariant:
// every frame a peer sends reaches every other joined peer once, in the
// order the hub received the frames (UDP may still lose a datagram when a
// peer's socket buffer overflows; peers ask for a large buffer).
type Hub struct {
	pc    *net.UDPConn
	mu    sync.Mutex
	peers []*net.UDPAddr
	done  chan struct{}
}

// NewHub starts a hub listening on addr (UDP host:port; port 0 picks a free
// one). Listen on an address every peer can reach: the host's end of a veth
// pair for a peer in another namespace.
func NewHub(addr string) (*Hub, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("CAN hub: address %q: %w", addr, err)
	}
	pc, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("CAN hub: listen on %s: %w", addr, err)
	}
	setReadBuffer(pc, 4<<20)
	_ = pc.SetWriteBuffer(4 << 20)
	h := &Hub{pc: pc, done: make(chan struct{})}
	go h.serve()
	return h, nil
}

// Addr is the UDP address the hub listens on.
func (h *Hub) Addr() string { return h.pc.LocalAddr().String() }

// Config returns the config that opens this bus from this host: the
// listen address, with loopback for an unspecified host (0.0.0.0, ::).
func (h *Hub) Config() Config {
	a := h.pc.LocalAddr().(*net.UDPAddr)
	if a.IP.IsUnspecified() {
		lo := net.IPv4(127, 0, 0, 1)
		if a.IP.To4() == nil {
			lo = net.IPv6loopback
		}
		return Config{Hub: (&net.UDPAddr{IP: lo, Port: a.Port}).String()}
	}
	return Config{Hub: h.Addr()}
}

// Peers returns how many peers have joined and not left.
func (h *Hub) Peers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.peers)
}

// Close stops the hub; peers hear nothing more.
func (h *Hub) Close() error {
	err := h.pc.Close()
	<-h.done
	return err
}

func (h *Hub) serve() {
	defer close(h.done)
	buf := make([]byte, 64)
	for {
		n, src, err := h.pc.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		switch {
		case n == 0:
			h.join(src)
			_, _ = h.pc.WriteToUDP(nil, src)
		case n == 1 && buf[0] == hubLeave[0]:
			h.leave(src)
		case n == hubFrameLen:
			h.join(src)
			h.mu.Lock()
			peers := h.peers
			h.mu.Unlock()
			for _, p := range peers {
				if !sameAddr(p, src) {
					_, _ = h.pc.WriteToUDP(buf[:n], p)
				}
			}
		}
	}
}

func sameAddr(a, b *net.UDPAddr) bool { return a.Port == b.Port && a.IP.Equal(b.IP) }

func (h *Hub) join(a *net.UDPAddr) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if slices.ContainsFunc(h.peers, func(p *net.UDPAddr) bool { return sameAddr(p, a) }) {
		return
	}
	// Copy on write: serve reads the slice without the lock.
	h.peers = append(slices.Clip(h.peers), a)
}

func (h *Hub) leave(a *net.UDPAddr) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.peers = slices.DeleteFunc(slices.Clone(h.peers), func(p *net.UDPAddr) bool { return sameAddr(p, a) })
}

// hubLink is one peer's connection to a hub: one socket, connected to
// the hub, both ways.
type hubLink struct{ datagramLink }

// dialHub joins the hub at addr: it sends join datagrams until the hub
// acknowledges one or ctx ends (at most 10 s).
func dialHub(ctx context.Context, addr string) (*hubLink, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("hub address %q: %w", addr, err)
	}
	c, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		return nil, fmt.Errorf("hub %s: %w", addr, err)
	}
	setReadBuffer(c, 4<<20)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var b [64]byte
	for {
		if _, err := c.Write(nil); err != nil && ctx.Err() != nil {
			_ = c.Close()
			return nil, fmt.Errorf("hub %s: join: %w", addr, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := c.Read(b[:])
		if err == nil && n == 0 {
			_ = c.SetReadDeadline(time.Time{})
			return &hubLink{datagramLink{rx: c, tx: c, peer: "CAN hub"}}, nil
		}
		if ctx.Err() != nil {
			_ = c.Close()
			return nil, fmt.Errorf("hub %s: no answer to join within 10 s: %w", addr, ctx.Err())
		}
	}
}

// Close leaves the hub and closes the socket; a blocked Receive returns
// false with a nil Err (see Conn.Err).
func (l *hubLink) Close() error {
	_, _ = l.tx.Write(hubLeave)
	return l.tx.Close()
}
