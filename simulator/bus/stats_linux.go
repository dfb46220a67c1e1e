package bus

import (
	"fmt"
	"syscall"
	"unsafe"
)

// soMeminfo is Linux's SO_MEMINFO socket option (include/uapi/asm-generic/
// socket.h): an array of u32 counters, SK_MEMINFO_DROPS at index 8 (the
// datagrams the kernel dropped because the receive queue was full).
const (
	soMeminfo       = 55
	skMeminfoRcvbuf = 1
	skMeminfoDrops  = 8
	skMeminfoVars   = 9
)

// setReadBuffer asks for a receive buffer of size bytes. The kernel caps
// SO_RCVBUF at net.core.rmem_max (208 KB on a stock kernel, about 250 CAN
// frames of 16-byte datagrams: 28 ms of a full 1 Mbit/s bus); where the
// process may (CAP_NET_ADMIN), SO_RCVBUFFORCE lifts the cap. It returns the
// buffer the kernel granted (which counts its own bookkeeping, twice what
// was asked).
func setReadBuffer(c interface {
	syscall.Conn
	SetReadBuffer(int) error
}, size int) int {
	_ = c.SetReadBuffer(size)
	raw, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	got := 0
	_ = raw.Control(func(fd uintptr) {
		got, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		if got < size {
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size) == nil {
				got, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
			}
		}
	})
	return got
}

// socketStats reads the receive buffer size and the drop counter of the
// socket behind sc.
func socketStats(sc syscall.Conn) (RxStats, error) {
	raw, err := sc.SyscallConn()
	if err != nil {
		return RxStats{}, err
	}
	var mem [skMeminfoVars]uint32
	var serr error
	err = raw.Control(func(fd uintptr) {
		l := uint32(unsafe.Sizeof(mem))
		_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.SOL_SOCKET, soMeminfo,
			uintptr(unsafe.Pointer(&mem[0])), uintptr(unsafe.Pointer(&l)), 0)
		if e != 0 {
			serr = fmt.Errorf("getsockopt SO_MEMINFO: %w", e)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return RxStats{}, err
	}
	return RxStats{Buffer: int(mem[skMeminfoRcvbuf]), Drops: uint64(mem[skMeminfoDrops])}, nil
}
