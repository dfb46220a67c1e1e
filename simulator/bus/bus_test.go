package bus

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.einride.tech/can"
	"go.einride.tech/can/pkg/socketcan"
)

func TestEmulatorCarriesFramesInOrder(t *testing.T) {
	e, err := NewEmulator()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rx, err := Open(ctx, e.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := Open(ctx, e.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	const n = 100
	go func() {
		for i := 0; i < n; i++ {
			_ = tx.TransmitFrame(ctx, can.Frame{ID: uint32(i), Length: 1, Data: can.Data{byte(i)}})
		}
	}()
	for i := 0; i < n; i++ {
		if !rx.Receive() {
			t.Fatalf("receive %d: %v", i, rx.Err())
		}
		if f := rx.Frame(); f.ID != uint32(i) || f.Data[0] != byte(i) {
			t.Fatalf("frame %d: %v", i, f)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {Interface: "can0", UDP: "239.1.1.1:1"}, {UDP: "nohost"}, {Hub: "nohost"}, {UDP: "239.1.1.1:1", Hub: "127.0.0.1:1"}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (Config{Interface: "vcan0"}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestTransmitRefusesBadFrame(t *testing.T) {
	e, err := NewEmulator()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c, err := Open(context.Background(), e.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.TransmitFrame(context.Background(), can.Frame{ID: 0x800, Length: 1}); err == nil {
		t.Error("11-bit frame with ID 0x800 transmitted")
	}
}

// A peer that joins the emulated bus through go.einride.tech/can itself
// (socketcan.Dial "udp", as a DCM written in Go would) and a Conn of this
// package hear each other, on a group and port the caller chose.
func TestEmulatorInteroperatesWithTheLibrary(t *testing.T) {
	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	group := net.JoinHostPort(DefaultGroup, strconv.Itoa(probe.LocalAddr().(*net.UDPAddr).Port))
	probe.Close()
	e, err := NewEmulatorOn(group)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Config().UDP != group {
		t.Fatalf("emulator on %s, asked for %s", e.Config().UDP, group)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ours, err := Open(ctx, e.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	lc, err := socketcan.DialContext(ctx, "udp", group)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	theirs := socketcan.NewReceiver(lc)
	want := can.Frame{ID: 0x123, Length: 2, Data: can.Data{0xCA, 0xFE}}
	go func() { _ = ours.TransmitFrame(ctx, want) }()
	for {
		if !theirs.Receive() {
			t.Fatalf("the library's peer heard nothing: %v", theirs.Err())
		}
		if theirs.Frame() == want {
			break
		}
	}
	back := can.Frame{ID: 0x456, Length: 1, Data: can.Data{7}}
	go func() { _ = socketcan.NewTransmitter(lc).TransmitFrame(ctx, back) }()
	for {
		if !ours.Receive() {
			t.Fatalf("this package's peer heard nothing: %v", ours.Err())
		}
		if ours.Frame() == back {
			break
		}
	}
	if !strings.Contains(e.Config().HowToJoin(), group) {
		t.Errorf("HowToJoin %q does not name the group", e.Config().HowToJoin())
	}
}
