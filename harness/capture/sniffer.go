// Package capture keeps the wire evidence of a conformance run: the DUT's
// IP traffic as it crossed this host's interfaces (an AF_PACKET capture
// filtered in the kernel by the run's ports, written as pcapng), the TLS
// secrets of the harness's side in the SSLKEYLOGFILE format (so Wireshark
// decrypts the capture), and the CAN frames of the bus in candump's log
// format. It knows nothing of specs or verdicts: the harness asks it for
// the evidence of a time window.
package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MaxBytes bounds the packet bytes a Sniffer keeps in memory; beyond it
// the oldest packets are dropped and Truncated says so.
const MaxBytes = 256 << 20

// snapLen is the most bytes kept of one packet (loopback frames reach 64 KB).
const snapLen = 1 << 18

// Packet is one frame as captured: the link-layer frame (Ethernet framing
// on Ethernet, veth and loopback interfaces), where and when it was seen.
type Packet struct {
	At      time.Time
	Ifindex int
	Data    []byte
	// Length is the frame's length on the wire (Data may be shorter).
	Length int
	flow   flowKey
	ends   bool // a TCP FIN or RST, or any UDP datagram
}

// flowKey names a TCP connection or a UDP exchange, the same both ways.
type flowKey struct {
	proto  uint8
	a, b   string // "ip:port", a < b
	pa, pb uint16 // the ports of a and b
}

// Sniffer captures, on every interface of this network namespace, the TCP
// and UDP packets from or to its ports (SetPorts). Safe for concurrent use.
//
// Invariant: packets are kept in arrival order; a packet whose ports were
// not in the set when it arrived is never kept.
type Sniffer struct {
	fd   int
	done chan struct{}
	wg   sync.WaitGroup

	mu        sync.Mutex
	ports     map[uint16]bool
	packets   []Packet
	bytes     int
	truncated bool
	ifaces    map[int]string
	flows     map[flowKey]*flowState
	err       error
}

type flowState struct {
	first, last time.Time
	ended       bool
}

// Open starts a capture on every interface (AF_PACKET, which needs root or
// CAP_NET_RAW); it keeps nothing until SetPorts names ports. The error
// says why a capture is impossible here.
func Open() (*Sniffer, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("AF_PACKET socket: %w (a capture needs root or CAP_NET_RAW)", err)
	}
	s := &Sniffer{fd: fd, done: make(chan struct{}), ports: map[uint16]bool{}, ifaces: map[int]string{}, flows: map[flowKey]*flowState{}}
	// Nothing passes until the ports are known: attach before bind.
	if err := s.attach(nil); err != nil {
		unix.Close(fd)
		return nil, err
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("AF_PACKET receive timeout: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL)}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("AF_PACKET bind: %w", err)
	}
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// SetPorts makes the capture keep the TCP and UDP packets from or to any
// of ports (IPv4 and IPv6), from now on; it replaces the earlier set.
func (s *Sniffer) SetPorts(ports []int) error {
	set := map[uint16]bool{}
	var list []uint16
	for _, p := range ports {
		if p <= 0 || p > 65535 || set[uint16(p)] {
			continue
		}
		set[uint16(p)] = true
		list = append(list, uint16(p))
	}
	slices.Sort(list)
	s.mu.Lock()
	defer s.mu.Unlock()
	if maps(s.ports, set) {
		return nil
	}
	if err := s.attach(list); err != nil {
		return err
	}
	s.ports = set
	return nil
}

func maps(a, b map[uint16]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// Ports returns the ports captured now, in ascending order.
func (s *Sniffer) Ports() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for p := range s.ports {
		out = append(out, int(p))
	}
	sort.Ints(out)
	return out
}

// Filter describes the capture filter in tcpdump's words (for the
// pcapng's interface description).
func (s *Sniffer) Filter() string {
	var ps []string
	for _, p := range s.Ports() {
		ps = append(ps, "port "+strconv.Itoa(p))
	}
	if len(ps) == 0 {
		return "nothing (no port set)"
	}
	return "(tcp or udp) and (" + strings.Join(ps, " or ") + ")"
}

func (s *Sniffer) loop() {
	defer s.wg.Done()
	buf := make([]byte, snapLen)
	oob := make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))+64)
	for {
		select {
		case <-s.done:
			return
		default:
		}
		n, oobn, flags, from, err := unix.Recvmsg(s.fd, buf, oob, unix.MSG_TRUNC)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			select {
			case <-s.done:
				return
			default:
			}
			s.mu.Lock()
			s.err = fmt.Errorf("capture stopped: %w", err)
			s.mu.Unlock()
			return
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok {
			continue
		}
		// On loopback every packet passes twice (out, then in): keep one.
		if ll.Pkttype == unix.PACKET_OUTGOING && ll.Hatype == unix.ARPHRD_LOOPBACK {
			continue
		}
		at := time.Now()
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= 16 {
					sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
					nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
					at = time.Unix(sec, nsec)
				}
			}
		}
		length := n
		capLen := min(n, len(buf))
		_ = flags
		s.keep(at, ll.Ifindex, buf[:capLen], length)
	}
}

// keep stores a packet whose ports are in the set.
func (s *Sniffer) keep(at time.Time, ifindex int, frame []byte, length int) {
	key, ends, ok := parseFlow(frame)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ports[key.pa] && !s.ports[key.pb] {
		return
	}
	if _, known := s.ifaces[ifindex]; !known {
		name := "if" + strconv.Itoa(ifindex)
		if ifi, err := net.InterfaceByIndex(ifindex); err == nil {
			name = ifi.Name
		}
		s.ifaces[ifindex] = name
	}
	p := Packet{At: at, Ifindex: ifindex, Data: slices.Clone(frame), Length: length, flow: key, ends: ends}
	s.packets = append(s.packets, p)
	s.bytes += len(p.Data)
	f := s.flows[key]
	if f == nil {
		f = &flowState{first: at}
		s.flows[key] = f
	}
	f.last = at
	if ends {
		f.ended = true
	}
	for s.bytes > MaxBytes && len(s.packets) > 0 {
		s.bytes -= len(s.packets[0].Data)
		s.packets = s.packets[1:]
		s.truncated = true
	}
}

// parseFlow reads the flow of an Ethernet-framed IPv4 or IPv6 TCP or UDP
// packet; ok is false for anything else.
func parseFlow(f []byte) (k flowKey, ends bool, ok bool) {
	if len(f) < 14 {
		return k, false, false
	}
	var src, dst net.IP
	var proto uint8
	var l4 []byte
	switch binary.BigEndian.Uint16(f[12:14]) {
	case 0x0800:
		ip := f[14:]
		if len(ip) < 20 {
			return k, false, false
		}
		ihl := int(ip[0]&0x0f) * 4
		if ihl < 20 || len(ip) < ihl {
			return k, false, false
		}
		proto, src, dst, l4 = ip[9], net.IP(ip[12:16]), net.IP(ip[16:20]), ip[ihl:]
	case 0x86dd:
		ip := f[14:]
		if len(ip) < 40 {
			return k, false, false
		}
		proto, src, dst, l4 = ip[6], net.IP(ip[8:24]), net.IP(ip[24:40]), ip[40:]
	default:
		return k, false, false
	}
	if (proto != 6 && proto != 17) || len(l4) < 8 {
		return k, false, false
	}
	sp, dp := binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
	a := net.JoinHostPort(src.String(), strconv.Itoa(int(sp)))
	b := net.JoinHostPort(dst.String(), strconv.Itoa(int(dp)))
	pa, pb := sp, dp
	if b < a {
		a, b, pa, pb = b, a, dp, sp
	}
	k = flowKey{proto: proto, a: a, b: b, pa: pa, pb: pb}
	if proto == 17 {
		return k, true, true
	}
	if len(l4) < 14 {
		return k, false, true
	}
	flags := l4[13]
	return k, flags&0x01 != 0 || flags&0x04 != 0, true
}

// Window returns the evidence of the time window [from, to]: every packet,
// up to to, of each connection that carried a packet within the window,
// from the connection's first packet kept (so a TLS connection opened
// before the window can still be decrypted). Truncated is true when the
// memory bound dropped packets.
func (s *Sniffer) Window(from, to time.Time) (pkts []Packet, truncated bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	active := map[flowKey]bool{}
	for _, p := range s.packets {
		if !p.At.Before(from) && !p.At.After(to) {
			active[p.flow] = true
		}
	}
	for _, p := range s.packets {
		if active[p.flow] && !p.At.After(to) {
			pkts = append(pkts, p)
		}
	}
	return pkts, s.truncated
}

// Prune forgets the packets of connections that ended before t (and UDP
// datagrams older than t): they cannot belong to a later window. Open
// connections are kept whole.
func (s *Sniffer) Prune(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gone := map[flowKey]bool{}
	for k, f := range s.flows {
		if f.ended && f.last.Before(t) {
			gone[k] = true
			delete(s.flows, k)
		}
	}
	if len(gone) == 0 {
		return
	}
	kept := s.packets[:0]
	s.bytes = 0
	for _, p := range s.packets {
		if !gone[p.flow] {
			kept = append(kept, p)
			s.bytes += len(p.Data)
		}
	}
	clear(s.packets[len(kept):])
	s.packets = kept
}

// Oldest is the time of the oldest packet kept (zero when none is).
func (s *Sniffer) Oldest() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.packets) == 0 {
		return time.Time{}
	}
	return s.packets[0].At
}

// Interface names an interface index seen in the capture.
func (s *Sniffer) Interface(ifindex int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.ifaces[ifindex]; ok {
		return n
	}
	return "if" + strconv.Itoa(ifindex)
}

// Err says why the capture stopped early, or nil.
func (s *Sniffer) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close stops the capture; the packets kept stay readable.
func (s *Sniffer) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	close(s.done)
	s.wg.Wait()
	return unix.Close(s.fd)
}
