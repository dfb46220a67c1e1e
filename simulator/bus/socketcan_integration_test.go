//go:build integration

package bus

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"go.einride.tech/can"
)

// TestSocketCANInterfaceCarriesFrames needs a real SocketCAN interface
// (hardware): ICOC_CAN_INTERFACE, else can0, else vcan0. It opens the
// interface twice and checks that 500 classic frames (standard and
// extended IDs, 0 to 8 bytes) sent on one arrive on the other in order,
// intact. Run it with `go test -tags integration ./simulator/bus`; where no
// such interface exists it skips and says which names it tried.
func TestSocketCANInterfaceCarriesFrames(t *testing.T) {
	names := []string{"can0", "vcan0"}
	if n := os.Getenv("ICOC_CAN_INTERFACE"); n != "" {
		names = []string{n}
	}
	var name string
	for _, n := range names {
		if i, err := net.InterfaceByName(n); err == nil && i.Flags&net.FlagUp != 0 {
			name = n
			break
		}
	}
	if name == "" {
		t.Skipf("hardware: no SocketCAN interface that is up among %v (set ICOC_CAN_INTERFACE, or `ip link add vcan0 type vcan && ip link set vcan0 up` where the kernel has vcan)", names)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rx, err := Open(ctx, Config{Interface: name})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := Open(ctx, Config{Interface: name})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	want := func(i int) can.Frame {
		f := can.Frame{ID: uint32(0x100 + i%0x600), Length: uint8(i % 9)}
		for k := 0; k < int(f.Length); k++ {
			f.Data[k] = byte(i + k)
		}
		if i%5 == 0 {
			f.ID, f.IsExtended = 0x1000000|uint32(i), true
		}
		return f
	}
	const n = 500
	go func() {
		for i := 0; i < n; i++ {
			if err := tx.TransmitFrame(ctx, want(i)); err != nil {
				t.Errorf("transmit %d on %s: %v", i, name, err)
				return
			}
		}
	}()
	for i := 0; i < n; i++ {
		if !rx.Receive() {
			t.Fatalf("%s: receive %d: %v", name, i, rx.Err())
		}
		if got := rx.Frame(); got != want(i) {
			t.Fatalf("%s: frame %d: got %v, want %v", name, i, got, want(i))
		}
	}
}
