package capture

import (
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Link-layer types (ARPHRD_*) whose frames carry an Ethernet header as
// AF_PACKET delivers them: Ethernet and veth, and loopback.
const (
	arphrdEther    = 1
	arphrdLoopback = 772
)

// acceptLen is what the filter keeps of an accepted packet.
const acceptLen = snapLen

// filterProgram is a classic BPF program that accepts the Ethernet-framed
// IPv4 (unfragmented) and IPv6 TCP and UDP packets whose source or
// destination port is one of ports, and drops everything else; with no
// ports it drops everything. The kernel runs it, so packets of other
// programs on this host never reach the harness.
func filterProgram(ports []uint16) ([]bpf.RawInstruction, error) {
	if len(ports) > 100 {
		return nil, fmt.Errorf("capture filter: %d ports, at most 100", len(ports))
	}
	if len(ports) == 0 {
		return bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	}
	var a asm
	a.emit(bpf.LoadExtension{Num: bpf.ExtLinkLayerType}, "", "")
	a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: arphrdEther}, "eth", "")
	a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: arphrdLoopback}, "eth", "drop")
	a.label("eth")
	a.emit(bpf.LoadAbsolute{Off: 12, Size: 2}, "", "")
	a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x0800}, "ip4", "")
	a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x86dd}, "ip6", "drop")
	// IPv4: TCP or UDP, not a later fragment; X = header length.
	a.label("ip4")
	a.emit(bpf.LoadAbsolute{Off: 23, Size: 1}, "", "")
	a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: 6}, "ip4ok", "")
	a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: 17}, "ip4ok", "drop")
	a.label("ip4ok")
	a.emit(bpf.LoadAbsolute{Off: 20, Size: 2}, "", "")
	a.emit(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff}, "drop", "")
	a.emit(bpf.LoadMemShift{Off: 14}, "", "")
	a.jump("ports")
	// IPv6: TCP or UDP right after the fixed header; X = 40.
	a.label("ip6")
	a.emit(bpf.LoadAbsolute{Off: 20, Size: 1}, "", "")
	a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: 6}, "ip6ok", "")
	a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: 17}, "ip6ok", "drop")
	a.label("ip6ok")
	a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: 40}, "", "")
	// Ports: the source port at X+14, the destination port at X+16.
	a.label("ports")
	for _, off := range []uint32{14, 16} {
		a.emit(bpf.LoadIndirect{Off: off, Size: 2}, "", "")
		for _, p := range ports {
			a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(p)}, "accept", "")
		}
	}
	a.label("drop")
	a.emit(bpf.RetConstant{Val: 0}, "", "")
	a.label("accept")
	a.emit(bpf.RetConstant{Val: acceptLen}, "", "")
	prog, err := a.resolve()
	if err != nil {
		return nil, err
	}
	return bpf.Assemble(prog)
}

// asm is a tiny assembler with labels for the filter's jumps.
type asm struct {
	ins    []bpf.Instruction
	jt, jf []string
	jmp    []string
	labels map[string]int
}

func (a *asm) emit(i bpf.Instruction, jt, jf string) {
	a.ins = append(a.ins, i)
	a.jt, a.jf, a.jmp = append(a.jt, jt), append(a.jf, jf), append(a.jmp, "")
}

func (a *asm) jump(to string) {
	a.emit(bpf.Jump{}, "", "")
	a.jmp[len(a.jmp)-1] = to
}

func (a *asm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.ins)
}

func (a *asm) resolve() ([]bpf.Instruction, error) {
	skip := func(from int, to string) (uint8, error) {
		if to == "" {
			return 0, nil
		}
		at, ok := a.labels[to]
		if !ok {
			return 0, fmt.Errorf("capture filter: no label %q", to)
		}
		d := at - from - 1
		if d < 0 || d > 255 {
			return 0, fmt.Errorf("capture filter: jump from %d to %q out of range", from, to)
		}
		return uint8(d), nil
	}
	out := make([]bpf.Instruction, len(a.ins))
	for i, in := range a.ins {
		switch v := in.(type) {
		case bpf.JumpIf:
			t, err := skip(i, a.jt[i])
			if err != nil {
				return nil, err
			}
			f, err := skip(i, a.jf[i])
			if err != nil {
				return nil, err
			}
			v.SkipTrue, v.SkipFalse = t, f
			out[i] = v
		case bpf.Jump:
			at, ok := a.labels[a.jmp[i]]
			if !ok {
				return nil, fmt.Errorf("capture filter: no label %q", a.jmp[i])
			}
			v.Skip = uint32(at - i - 1)
			out[i] = v
		default:
			out[i] = in
		}
	}
	return out, nil
}

// attach sets the kernel filter of the socket to the given ports.
func (s *Sniffer) attach(ports []uint16) error {
	prog, err := filterProgram(ports)
	if err != nil {
		return err
	}
	f := make([]unix.SockFilter, len(prog))
	for i, r := range prog {
		f[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fp := unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
	if err := unix.SetsockoptSockFprog(s.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp); err != nil {
		return fmt.Errorf("capture filter: %w", err)
	}
	return nil
}
