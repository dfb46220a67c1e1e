package bus

import (
	"context"
	"testing"
	"time"

	"go.einride.tech/can"
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
