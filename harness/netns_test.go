package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/simulator/bus"
	"go.einride.tech/can"
)

// envHubPeer makes this test binary a CAN peer inside a namespace
// (TestHelperHubPeer): it joins the hub named there and echoes every frame.
const envHubPeer = "ICOC_TEST_HUB_PEER"

// TestNetnsLinkCarriesCAN creates a namespace and veth pair as a run does,
// starts a CAN hub on the harness's end and a peer inside the namespace (this
// test binary again, under ip netns exec), and checks that frames cross the
// veth both ways, in order; then that the namespace and veth are gone.
func TestNetnsLinkCarriesCAN(t *testing.T) {
	if err := netnsAvailable(); err != nil {
		t.Skipf("needs network namespaces: %v", err)
	}
	l, err := newNetnsLink()
	if err != nil {
		t.Fatal(err)
	}
	defer l.remove()
	h, err := bus.NewHub(net.JoinHostPort(l.HostIP.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	me, err := bus.Open(ctx, h.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer me.Close()
	argv := l.Exec(os.Args[0], "-test.run=^TestHelperHubPeer$")
	peer := exec.CommandContext(ctx, argv[0], argv[1:]...)
	peer.Env = append(os.Environ(), envHubPeer+"="+h.Addr())
	out := &strings.Builder{}
	peer.Stdout, peer.Stderr = out, out
	if err := peer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = peer.Process.Kill(); _ = peer.Wait() }()
	for h.Peers() < 2 {
		if ctx.Err() != nil {
			t.Fatalf("the peer in namespace %s never joined the hub at %s; its output:\n%s", l.Name, h.Addr(), out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	const n = 300
	go func() {
		for i := 0; i < n; i++ {
			_ = me.TransmitFrame(ctx, can.Frame{ID: uint32(i % 0x800), Length: 2, Data: can.Data{byte(i), byte(i >> 8)}})
		}
	}()
	for i := 0; i < n; i++ {
		if !me.Receive() {
			t.Fatalf("echo %d: %v", i, me.Err())
		}
		if f := me.Frame(); f.ID != uint32(i%0x800) || f.Data[0] != byte(i) || f.Data[1] != byte(i>>8) {
			t.Fatalf("echo %d from inside the namespace: %v", i, f)
		}
	}
	l.remove()
	if err := exec.Command("ip", "netns", "pids", l.Name).Run(); err == nil {
		t.Errorf("namespace %s still there after remove", l.Name)
	}
	if _, err := net.InterfaceByName(l.HostVeth); err == nil {
		t.Errorf("veth %s still there after remove", l.HostVeth)
	}
}

// TestHelperHubPeer is the peer of TestNetnsLinkCarriesCAN; it does
// nothing unless started by it.
func TestHelperHubPeer(t *testing.T) {
	addr := os.Getenv(envHubPeer)
	if addr == "" {
		t.Skip("helper process only")
	}
	ctx := context.Background()
	c, err := bus.Open(ctx, bus.Config{Hub: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for c.Receive() {
		if err := c.TransmitFrame(ctx, c.Frame()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRemoveStaleNetns leaves a namespace of a live process alone and
// removes one whose process is gone.
func TestRemoveStaleNetns(t *testing.T) {
	if err := netnsAvailable(); err != nil {
		t.Skipf("needs network namespaces: %v", err)
	}
	dead := 0
	for pid := 4190000; pid > 4100000; pid-- {
		if !processAlive(fmt.Sprint(pid)) {
			dead = pid
			break
		}
	}
	stale := fmt.Sprintf("%s-%d-1", NetnsPrefix, dead)
	if err := ip("netns", "add", stale); err != nil {
		t.Skipf("cannot add a namespace: %v", err)
	}
	defer func() { _ = ip("netns", "del", stale) }()
	live, err := newNetnsLink() // removes stale ones first
	if err != nil {
		t.Fatal(err)
	}
	defer live.remove()
	list, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(list), stale) {
		t.Errorf("stale namespace %s (process %d is gone) not removed", stale, dead)
	}
	RemoveStaleNetns()
	list, _ = exec.Command("ip", "netns", "list").Output()
	if !strings.Contains(string(list), live.Name) {
		t.Errorf("namespace %s of this live process removed", live.Name)
	}
}
