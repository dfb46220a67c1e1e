package harness

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// A network namespace for the reference vehicle, joined to the harness's
// namespace by a veth pair with a /30 from 198.18.0.0/15 (RFC 2544
// benchmarking space, never routed). Every name carries the prefix "icoc",
// the harness's process ID and a counter, so a later run can tell a stale
// namespace (its process is gone: killed before it could clean up) from one
// in use, and remove only the stale ones.

// NetnsPrefix starts the name of every namespace and veth the harness
// creates; nothing else is ever touched.
const NetnsPrefix = "icoc"

var (
	netnsSeq    atomic.Int32
	nsNameRE    = regexp.MustCompile(`^` + NetnsPrefix + `-(\d+)-(\d+)$`)
	vethNameRE  = regexp.MustCompile(`^` + NetnsPrefix + `(\d+)-(\d+)[hv]$`)
	benchNet    = net.IPNet{IP: net.IPv4(198, 18, 0, 0).To4(), Mask: net.CIDRMask(15, 32)}
	errNoNetns  = errors.New("network namespaces unavailable")
	netnsLockFn = filepath.Join(os.TempDir(), "icoc-netns.lock")
)

// netnsLink is one namespace and its veth pair. Invariant: once
// newNetnsLink returned it, remove deletes the namespace and both veth
// ends, and it is safe to call more than once.
type netnsLink struct {
	Name     string // the namespace
	HostVeth string
	HostIP   net.IP // the harness's end
	PeerIP   net.IP // the vehicle's end
	// Spares are two more addresses of the harness (/32s on its veth end,
	// from another free /30), which the vehicle reaches by its default
	// route through HostIP: the "other addresses" of Tables 7-4/7-5 rows
	// G and H.
	Spares  []net.IP
	removed atomic.Bool
}

// ip runs the ip command and returns an error carrying its output.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// netnsAvailable says why network namespaces cannot be used, or nil.
func netnsAvailable() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not root (euid %d)", errNoNetns, os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w: no ip command (iproute2): %v", errNoNetns, err)
	}
	return nil
}

// newNetnsLink removes stale namespaces and veths of dead harness
// processes, then creates a namespace, a veth pair into it and the
// addresses of a free /30. Any failure undoes what was done and returns an
// error wrapping errNoNetns when namespaces do not work here at all.
func newNetnsLink() (*netnsLink, error) {
	if err := netnsAvailable(); err != nil {
		return nil, err
	}
	unlock, err := lockFile(netnsLockFn)
	if err != nil {
		return nil, fmt.Errorf("netns: %w", err)
	}
	defer unlock()
	RemoveStaleNetns()
	pid, n := os.Getpid(), netnsSeq.Add(1)
	l := &netnsLink{
		Name:     fmt.Sprintf("%s-%d-%d", NetnsPrefix, pid, n),
		HostVeth: fmt.Sprintf("%s%d-%dh", NetnsPrefix, pid, n),
	}
	peerVeth := fmt.Sprintf("%s%d-%dv", NetnsPrefix, pid, n)
	blocks, err := freeSubnets(2)
	if err != nil {
		return nil, fmt.Errorf("netns: %w", err)
	}
	hostIP, peerIP := blocks[0][0], blocks[0][1]
	l.HostIP, l.PeerIP, l.Spares = hostIP, peerIP, blocks[1]
	if err := ip("netns", "add", l.Name); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoNetns, err)
	}
	steps := [][]string{
		{"link", "add", l.HostVeth, "type", "veth", "peer", "name", peerVeth, "netns", l.Name},
		{"addr", "add", hostIP.String() + "/30", "dev", l.HostVeth},
		{"link", "set", l.HostVeth, "up"},
		{"-n", l.Name, "addr", "add", peerIP.String() + "/30", "dev", peerVeth},
		{"-n", l.Name, "link", "set", peerVeth, "up"},
		{"-n", l.Name, "link", "set", "lo", "up"},
		{"addr", "add", l.Spares[0].String() + "/32", "dev", l.HostVeth},
		{"addr", "add", l.Spares[1].String() + "/32", "dev", l.HostVeth},
		{"-n", l.Name, "route", "add", "default", "via", hostIP.String()},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			l.remove()
			return nil, fmt.Errorf("%w: %v", errNoNetns, err)
		}
	}
	return l, nil
}

// remove deletes the namespace (which takes the veth pair with it) and the
// host's veth end in case it was never moved.
func (l *netnsLink) remove() {
	if l == nil || l.removed.Swap(true) {
		return
	}
	_ = ip("netns", "del", l.Name)
	if _, err := net.InterfaceByName(l.HostVeth); err == nil {
		_ = ip("link", "del", l.HostVeth)
	}
}

// Exec returns the command line that runs argv inside the namespace.
func (l *netnsLink) Exec(argv ...string) []string {
	return append([]string{"ip", "netns", "exec", l.Name}, argv...)
}

// RemoveStaleNetns deletes the namespaces and veths named by NetnsPrefix
// whose harness process no longer exists (a run killed before it could
// clean up). Those of live processes, and every other name, are left alone.
// Errors are ignored: a stale namespace costs nothing but a name.
func RemoveStaleNetns() {
	if netnsAvailable() != nil {
		return
	}
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			if m := nsNameRE.FindStringSubmatch(f[0]); m != nil && !processAlive(m[1]) {
				_ = ip("netns", "del", f[0])
			}
		}
	}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if m := vethNameRE.FindStringSubmatch(i.Name); m != nil && !processAlive(m[1]) {
			_ = ip("link", "del", i.Name)
		}
	}
}

// processAlive reports whether the process with the given ID exists.
func processAlive(pid string) bool {
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return false
	}
	err = syscall.Kill(n, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// freeSubnets picks the first n /30s of 198.18.0.0/15 that no interface of
// this namespace uses; for each it returns its first (harness) and second
// (vehicle) address. The caller holds the netns lock.
func freeSubnets(n int) ([][]net.IP, error) {
	used := map[uint32]bool{}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if in, ok := a.(*net.IPNet); ok && benchNet.Contains(in.IP) {
				used[ipv4u(in.IP)&^3] = true
			}
		}
	}
	base := ipv4u(benchNet.IP)
	var out [][]net.IP
	for off := uint32(0); off < 1<<17 && len(out) < n; off += 4 {
		if !used[base+off] {
			out = append(out, []net.IP{u2ip(base + off + 1), u2ip(base + off + 2)})
		}
	}
	if len(out) < n {
		return nil, errors.New("no free /30 left in 198.18.0.0/15")
	}
	return out, nil
}

func ipv4u(ip net.IP) uint32 {
	b := ip.To4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func u2ip(u uint32) net.IP { return net.IPv4(byte(u>>24), byte(u>>16), byte(u>>8), byte(u)).To4() }

// lockFile takes an exclusive lock on path (created if missing) and returns
// its release.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
