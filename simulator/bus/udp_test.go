package bus

import (
	"context"
	"testing"
	"time"

	"go.einride.tech/can"
)

func openHub(t *testing.T, ctx context.Context, h *Hub) *Conn {
	t.Helper()
	c, err := Open(ctx, h.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// The hub delivers every frame to every other peer, in order, with its
// data, and never back to its sender.
func TestHubCarriesFramesInOrderToOtherPeers(t *testing.T) {
	h, err := NewHub("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tx := openHub(t, ctx, h)
	rx1 := openHub(t, ctx, h)
	rx2 := openHub(t, ctx, h)
	if h.Peers() != 3 {
		t.Fatalf("hub has %d peers; want 3", h.Peers())
	}
	const n = 2000
	want := func(i int) can.Frame {
		f := can.Frame{ID: uint32(i % 0x7ff), Length: 8, Data: can.Data{byte(i), byte(i >> 8), 1, 2, 3, 4, 5, 6}}
		if i%7 == 0 {
			f.ID, f.IsExtended = uint32(i)|0x1000000, true
		}
		return f
	}
	go func() {
		for i := 0; i < n; i++ {
			_ = tx.TransmitFrame(ctx, want(i))
			if i%100 == 99 {
				time.Sleep(time.Millisecond) // a paced bus, not a flood
			}
		}
		// The sender's own frame must not come back: send one marker from
		// rx1 that tx would see first if it heard itself.
		_ = rx1.TransmitFrame(ctx, can.Frame{ID: 0x7ff, Length: 1, Data: can.Data{0xee}})
	}()
	for _, rx := range []*Conn{rx1, rx2} {
		for i := 0; i < n; i++ {
			if !rx.Receive() {
				t.Fatalf("receive %d: %v", i, rx.Err())
			}
			if got := rx.Frame(); got != want(i) {
				t.Fatalf("frame %d: got %v, want %v", i, got, want(i))
			}
		}
	}
	if !tx.Receive() {
		t.Fatalf("sender: %v", tx.Err())
	}
	if got := tx.Frame(); got.ID != 0x7ff || got.Data[0] != 0xee {
		t.Fatalf("sender heard %v first; want the other peer's marker (its own frames must not come back)", got)
	}
}

// A peer that closes leaves the hub, and its Receive ends without error.
func TestHubPeerLeaves(t *testing.T) {
	h, err := NewHub("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx := context.Background()
	c, err := Open(ctx, h.Config())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	go func() { done <- c.Receive() }()
	_ = c.Close()
	if <-done {
		t.Fatal("Receive returned a frame after Close")
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err after Close: %v; want nil", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for h.Peers() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if h.Peers() != 0 {
		t.Fatalf("hub still has %d peers after the only one closed", h.Peers())
	}
}

// Joining a hub that does not answer fails with the address in the error.
func TestHubJoinWithoutHubFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := Open(ctx, Config{Hub: "127.0.0.1:9"})
	if err == nil {
		t.Fatal("joined a hub that does not exist")
	}
	t.Log(err)
}
