// Package bench defines the bench messages: the CAN frames by which a test
// bench (or the harness) stimulates an in-car unit and the reference vehicle
// obeys. Every other frame on the bus is ordinary CAN data that the vehicle
// records and uploads.
package bench

import (
	"encoding/binary"
	"fmt"

	"go.einride.tech/can"
)

// Frame identifiers of the bench messages (standard 11-bit IDs).
const (
	// IDIgnition carries the ignition state in byte 0 (see Ignition).
	IDIgnition uint32 = 0x100
	// IDUploadTrigger asks for a data upload now; see UploadTrigger.
	IDUploadTrigger uint32 = 0x110
)

// Ignition is the power state a vehicle is in.
type Ignition uint8

const (
	// IGOff is ignition off with +B still present.
	IGOff Ignition = 0
	// IGOn is ignition on.
	IGOn Ignition = 1
	// BOff is +B off: the unit loses power (caches are dropped, 7.1.1.5).
	BOff Ignition = 2
)

func (i Ignition) String() string {
	switch i {
	case IGOff:
		return "IG-OFF"
	case IGOn:
		return "IG-ON"
	case BOff:
		return "+B OFF"
	}
	return fmt.Sprintf("ignition(%d)", uint8(i))
}

// IgnitionFrame encodes an ignition state.
func IgnitionFrame(i Ignition) can.Frame {
	return can.Frame{ID: IDIgnition, Length: 1, Data: can.Data{byte(i)}}
}

// UploadTrigger asks the vehicle to upload the CAN data it holds.
//
//	byte 0: bit 0 set when real-time response is required (7.2.2.6)
//	byte 1: trigger identifier of Appendix 1 §2 (ASCII, e.g. 'c')
//	bytes 2-5: request ID, big endian; 0 means none
type UploadTrigger struct {
	RealTime  bool
	Trigger   byte
	RequestID uint32
}

// Frame encodes t.
func (t UploadTrigger) Frame() can.Frame {
	f := can.Frame{ID: IDUploadTrigger, Length: 6}
	if t.RealTime {
		f.Data[0] = 1
	}
	f.Data[1] = t.Trigger
	binary.BigEndian.PutUint32(f.Data[2:6], t.RequestID)
	return f
}

// DecodeUploadTrigger decodes an upload trigger frame.
func DecodeUploadTrigger(f can.Frame) (UploadTrigger, error) {
	if f.ID != IDUploadTrigger || f.Length < 6 {
		return UploadTrigger{}, fmt.Errorf("frame %v is not an upload trigger (ID 0x%X, length 6)", f, IDUploadTrigger)
	}
	return UploadTrigger{
		RealTime:  f.Data[0]&1 != 0,
		Trigger:   f.Data[1],
		RequestID: binary.BigEndian.Uint32(f.Data[2:6]),
	}, nil
}

// IsControl reports whether f is a bench message rather than CAN data.
func IsControl(f can.Frame) bool {
	return !f.IsExtended && (f.ID == IDIgnition || f.ID == IDUploadTrigger)
}
