// Package bench defines the bench messages: the CAN frames by which a test
// bench (or the harness) stimulates an in-car unit and the reference vehicle
// obeys, as the bench DBC (bench.dbc, embedded; parsed with
// go.einride.tech/can/pkg/dbc) defines them: the ignition state, the VIN
// broadcast, and the triggers (upload now, API call, download request, push
// acknowledgement). Every other frame on the bus is ordinary CAN data that
// the vehicle records and uploads; the DBC also defines a few ordinary
// signals (vehicle speed, odometer, engine data) to make such data from.
// Every frame here is encoded and decoded through the DBC.
package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"

	"go.einride.tech/can"
)

// Names of the bench messages in the DBC.
const (
	MsgIgnition        = "Ignition"
	MsgVIN             = "VINBroadcast"
	MsgUploadTrigger   = "UploadTrigger"
	MsgAPICallTrigger  = "APICallTrigger"
	MsgDownloadRequest = "DownloadRequest"
	MsgPushAck         = "PushAck"
	MsgBulkUpload      = "BulkUploadTrigger"
)

// Frame identifiers of the bench messages (standard 11-bit IDs); a test
// checks them against the DBC.
const (
	// IDIgnition carries the ignition state (see Ignition).
	IDIgnition uint32 = 0x100
	// IDVIN carries the VIN in three multiplexed frames (see VINFrames).
	IDVIN uint32 = 0x101
	// IDUploadTrigger asks for a data upload now; see UploadTrigger.
	IDUploadTrigger uint32 = 0x110
	// IDAPICallTrigger asks for an API call to the center; see APICall.
	IDAPICallTrigger uint32 = 0x111
	// IDDownloadRequest asks for a data download; see DownloadRequest.
	IDDownloadRequest uint32 = 0x112
	// IDPushAck acknowledges a push from the center; see PushAck.
	IDPushAck uint32 = 0x113
	// IDBulkUpload asks for the upload of a bulk file; see BulkUpload.
	IDBulkUpload uint32 = 0x114
)

var controlIDs = map[uint32]bool{
	IDIgnition: true, IDVIN: true, IDUploadTrigger: true,
	IDAPICallTrigger: true, IDDownloadRequest: true, IDPushAck: true, IDBulkUpload: true,
}

func mustMessage(name string) *Message {
	m, ok := DB().Message(name)
	if !ok {
		panic("bench: the DBC has no message " + name)
	}
	return m
}

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

// IgnitionFrame encodes an ignition state (message Ignition).
func IgnitionFrame(i Ignition) can.Frame {
	f, err := mustMessage(MsgIgnition).FrameRaw(map[string]uint64{"IgnitionState": uint64(i)})
	if err != nil {
		panic(err)
	}
	return f
}

// DecodeIgnition decodes an Ignition frame; an unknown state is an error.
func DecodeIgnition(f can.Frame) (Ignition, error) {
	raw, err := mustMessage(MsgIgnition).DecodeRaw(f, "IgnitionState")
	if err != nil {
		return 0, err
	}
	if raw > uint64(BOff) {
		return 0, fmt.Errorf("ignition frame: state %d is none of IG-OFF (0), IG-ON (1), +B OFF (2)", raw)
	}
	return Ignition(raw), nil
}

// vinChunk is how many VIN characters one VINBroadcast frame carries.
const vinChunk = 7

// VINFrameCount is the number of frames of one VIN broadcast.
const VINFrameCount = 3

// VINFrames encodes a 17-character VIN as the three VINBroadcast frames
// (index 0..2, seven ASCII characters each, zero padded).
func VINFrames(vin string) ([]can.Frame, error) {
	if len(vin) != 17 {
		return nil, fmt.Errorf("VIN %q: %d characters, a VIN has 17", vin, len(vin))
	}
	m := mustMessage(MsgVIN)
	out := make([]can.Frame, VINFrameCount)
	for k := range out {
		var chunk uint64
		for j := 0; j < vinChunk; j++ {
			chunk <<= 8
			if i := k*vinChunk + j; i < len(vin) {
				chunk |= uint64(vin[i])
			}
		}
		f, err := m.FrameRaw(map[string]uint64{"VINFrameIndex": uint64(k), fmt.Sprintf("VINChars%d", k): chunk})
		if err != nil {
			return nil, err
		}
		out[k] = f
	}
	return out, nil
}

// VINAssembler collects VINBroadcast frames until it has all three parts of
// one VIN. The zero value is ready to use; not safe for concurrent use.
type VINAssembler struct {
	parts [VINFrameCount][vinChunk]byte
	have  [VINFrameCount]bool
}

// Add takes one VINBroadcast frame; it returns the VIN once every part has
// been seen (and again for each later frame), or "" while parts are missing.
// A bad frame is an error; a VIN whose characters are not printable ASCII is
// an error too, and the assembler starts over.
func (a *VINAssembler) Add(f can.Frame) (string, error) {
	m := mustMessage(MsgVIN)
	idx, err := m.DecodeRaw(f, "VINFrameIndex")
	if err != nil {
		return "", err
	}
	if idx >= VINFrameCount {
		return "", fmt.Errorf("VIN frame index %d: want 0..%d", idx, VINFrameCount-1)
	}
	chunk, _ := m.DecodeRaw(f, fmt.Sprintf("VINChars%d", idx))
	for j := vinChunk - 1; j >= 0; j-- {
		a.parts[idx][j] = byte(chunk)
		chunk >>= 8
	}
	a.have[idx] = true
	for _, h := range a.have {
		if !h {
			return "", nil
		}
	}
	vin := make([]byte, 0, 17)
	for _, p := range a.parts {
		vin = append(vin, p[:]...)
	}
	vin = vin[:17]
	for _, c := range vin {
		if c < 0x21 || c > 0x7E {
			*a = VINAssembler{}
			return "", fmt.Errorf("VIN broadcast %q: not 17 printable ASCII characters", vin)
		}
	}
	return string(vin), nil
}

// UploadTrigger asks the vehicle to upload the CAN data it holds (message
// UploadTrigger): real-time response required or not (7.2.2.6), the
// trigger identifier of Appendix 1 §2 (ASCII, e.g. 'c'; 0 means 'c'), and
// the request ID (0: none).
type UploadTrigger struct {
	RealTime  bool
	Trigger   byte
	RequestID uint32
}

// Frame encodes t.
func (t UploadTrigger) Frame() can.Frame {
	rt := uint64(0)
	if t.RealTime {
		rt = 1
	}
	f, err := mustMessage(MsgUploadTrigger).FrameRaw(map[string]uint64{
		"UploadRealTime": rt, "TriggerIdentifier": uint64(t.Trigger), "UploadRequestID": uint64(t.RequestID),
	})
	if err != nil {
		panic(err)
	}
	return f
}

// DecodeUploadTrigger decodes an upload trigger frame.
func DecodeUploadTrigger(f can.Frame) (UploadTrigger, error) {
	m := mustMessage(MsgUploadTrigger)
	v, err := m.Decode(f)
	if err != nil {
		return UploadTrigger{}, fmt.Errorf("not an upload trigger: %w", err)
	}
	return UploadTrigger{
		RealTime:  v["UploadRealTime"] != 0,
		Trigger:   byte(v["TriggerIdentifier"]),
		RequestID: uint32(v["UploadRequestID"]),
	}, nil
}

// APICall asks the vehicle to call API APIID of the center (message
// APICallTrigger; Table 5-1 "API call from vehicle to the center").
type APICall struct {
	APIID     uint16
	RequestID uint32
}

// Frame encodes c.
func (c APICall) Frame() can.Frame {
	f, err := mustMessage(MsgAPICallTrigger).FrameRaw(map[string]uint64{"APIID": uint64(c.APIID), "APIRequestID": uint64(c.RequestID)})
	if err != nil {
		panic(err)
	}
	return f
}

// DownloadRequest asks the vehicle to download file FileID from the center
// (message DownloadRequest; Table 5-1 "Data download").
type DownloadRequest struct {
	FileID    uint16
	RequestID uint32
}

// Frame encodes d.
func (d DownloadRequest) Frame() can.Frame {
	f, err := mustMessage(MsgDownloadRequest).FrameRaw(map[string]uint64{"DownloadFileID": uint64(d.FileID), "DownloadRequestID": uint64(d.RequestID)})
	if err != nil {
		panic(err)
	}
	return f
}

// DownloadFileName is the bench's convention for the file a DownloadRequest
// asks for: fileID as five decimal digits, "dl_00042.bin". A real DCM's
// mapping belongs in its profile's stimulus map.
func DownloadFileName(fileID uint16) string { return fmt.Sprintf("dl_%05d.bin", fileID) }

// PushAck acknowledges push MessageID from the center with Result (message
// PushAck; Table 5-1 "Push from the center").
type PushAck struct {
	MessageID uint32
	Result    uint8
}

// Frame encodes p.
func (p PushAck) Frame() can.Frame {
	f, err := mustMessage(MsgPushAck).FrameRaw(map[string]uint64{"PushMessageID": uint64(p.MessageID), "PushResult": uint64(p.Result)})
	if err != nil {
		panic(err)
	}
	return f
}

// BulkUpload asks the vehicle to upload a bulk file of SizeKiB KiB (message
// BulkUploadTrigger; 7.2.4.1: "binary files exceeding MB, such as video",
// which gRPC splits into messages of about 1 MB). The content is
// BulkData(RequestID, SizeKiB*1024), so the receiver can check it; the
// file name carries RequestID like an upload trigger's.
type BulkUpload struct {
	SizeKiB   uint16
	RequestID uint32
}

// Frame encodes b.
func (b BulkUpload) Frame() can.Frame {
	f, err := mustMessage(MsgBulkUpload).FrameRaw(map[string]uint64{"BulkSizeKiB": uint64(b.SizeKiB), "BulkRequestID": uint64(b.RequestID)})
	if err != nil {
		panic(err)
	}
	return f
}

// DecodeBulkUpload decodes a BulkUploadTrigger frame.
func DecodeBulkUpload(f can.Frame) (BulkUpload, error) {
	v, err := mustMessage(MsgBulkUpload).Decode(f)
	if err != nil {
		return BulkUpload{}, fmt.Errorf("not a bulk upload trigger: %w", err)
	}
	return BulkUpload{SizeKiB: uint16(v["BulkSizeKiB"]), RequestID: uint32(v["BulkRequestID"])}, nil
}

// BulkData is the content of the bulk file of request id: n bytes of a
// PCG stream seeded by id (incompressible, like video), the same on every
// call.
func BulkData(id uint32, n int) []byte {
	r := rand.New(rand.NewPCG(uint64(id), 0x1c0c))
	b := make([]byte, n)
	var w [8]byte
	for i := 0; i < n; i += 8 {
		binary.BigEndian.PutUint64(w[:], r.Uint64())
		copy(b[i:], w[:])
	}
	return b
}

// ReadoutAppID is the push application ID (7.2.3.9.2 app_id) by which a
// center asks the vehicle for a readout of its CAN data now: the vehicle
// answers the push and uploads its CAN data in real time (trigger
// identifier m, "triggered by the center") with the push's sub_id as the
// request ID of the file name (Appendix 1 §2). The ExVe offering party's
// asynchronous readouts use it (register I-229).
const ReadoutAppID uint32 = 2078

// IsControl reports whether f is a bench message rather than CAN data.
func IsControl(f can.Frame) bool {
	return !f.IsExtended && controlIDs[f.ID]
}

// ErrUnknownMessage is returned by Encode for a name the DBC lacks.
var ErrUnknownMessage = errors.New("no such message in the DBC")

// Encode encodes the bench DBC's message name with physical signal values;
// the error names the message or signal at fault.
func Encode(name string, values map[string]float64) (can.Frame, error) {
	m, ok := DB().Message(name)
	if !ok {
		return can.Frame{}, fmt.Errorf("message %q: %w %s", name, ErrUnknownMessage, DB().Source)
	}
	return m.Frame(values)
}
