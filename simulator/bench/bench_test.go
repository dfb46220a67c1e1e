package bench

import (
	"strings"
	"testing"

	"go.einride.tech/can"
)

func TestIDsMatchDBC(t *testing.T) {
	for name, id := range map[string]uint32{
		MsgIgnition: IDIgnition, MsgVIN: IDVIN, MsgUploadTrigger: IDUploadTrigger,
		MsgAPICallTrigger: IDAPICallTrigger, MsgDownloadRequest: IDDownloadRequest, MsgPushAck: IDPushAck,
		MsgBulkUpload: IDBulkUpload,
	} {
		m, ok := DB().Message(name)
		if !ok || m.ID != id {
			t.Errorf("message %s: DBC %+v, constant 0x%X", name, m, id)
		}
		f, _ := m.FrameRaw(nil)
		if !IsControl(f) {
			t.Errorf("%s is not a control message", name)
		}
	}
	for _, name := range []string{"VehicleSpeed", "Odometer", "EngineData", "DTCStatus"} {
		m, ok := DB().Message(name)
		if !ok {
			t.Fatalf("no ordinary message %s", name)
		}
		f, _ := m.FrameRaw(nil)
		if IsControl(f) {
			t.Errorf("%s is a control message; it should be CAN data", name)
		}
	}
}

func TestUploadTriggerRoundTrip(t *testing.T) {
	for _, in := range []UploadTrigger{{RealTime: true, Trigger: 'c', RequestID: 42}, {Trigger: 's', RequestID: 0xFFFFFFFE}} {
		f := in.Frame()
		if !IsControl(f) || f.Length != 6 {
			t.Errorf("%v is not a 6-byte control frame", f)
		}
		got, err := DecodeUploadTrigger(f)
		if err != nil || got != in {
			t.Errorf("round trip %+v -> %+v, %v", in, got, err)
		}
	}
	if _, err := DecodeUploadTrigger(IgnitionFrame(IGOn)); err == nil {
		t.Error("ignition frame decoded as a trigger")
	}
}

// The layout is the one of the spec's big-endian rule: request ID in bytes
// 2..5, most significant byte first.
func TestUploadTriggerLayoutIsBigEndian(t *testing.T) {
	f := UploadTrigger{RealTime: true, Trigger: 'c', RequestID: 0x01020304}.Frame()
	want := can.Data{1, 'c', 1, 2, 3, 4}
	if f.Data != want {
		t.Errorf("data % X, want % X", f.Data[:], want[:])
	}
}

func TestIgnitionRoundTrip(t *testing.T) {
	for _, i := range []Ignition{IGOff, IGOn, BOff} {
		got, err := DecodeIgnition(IgnitionFrame(i))
		if err != nil || got != i {
			t.Errorf("%s -> %s, %v", i, got, err)
		}
	}
	if _, err := DecodeIgnition(can.Frame{ID: IDIgnition, Length: 1, Data: can.Data{7}}); err == nil {
		t.Error("state 7 accepted")
	}
}

func TestVINRoundTrip(t *testing.T) {
	const vin = "JT1TESTVH00000001"
	frames, err := VINFrames(vin)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != VINFrameCount {
		t.Fatalf("%d frames", len(frames))
	}
	var a VINAssembler
	// Out of order, as a receiver that wakes up mid-broadcast sees them.
	for i, k := range []int{2, 0, 1} {
		got, err := a.Add(frames[k])
		if err != nil {
			t.Fatal(err)
		}
		if (i < 2) != (got == "") {
			t.Errorf("after %d frames: %q", i+1, got)
		}
		if i == 2 && got != vin {
			t.Errorf("VIN %q, want %q", got, vin)
		}
	}
	if _, err := VINFrames("SHORT"); err == nil {
		t.Error("short VIN encoded")
	}
	var b VINAssembler
	bad, _ := DB().messages[1].FrameRaw(map[string]uint64{"VINFrameIndex": 0})
	b.Add(bad)
	b.Add(frames[1])
	if _, err := b.Add(frames[2]); err == nil {
		t.Error("VIN with NUL characters accepted")
	}
}

func TestOtherTriggersEncode(t *testing.T) {
	for _, f := range []can.Frame{APICall{APIID: 7, RequestID: 9}.Frame(), DownloadRequest{FileID: 3, RequestID: 4}.Frame(), PushAck{MessageID: 5, Result: 1}.Frame()} {
		if !IsControl(f) || f.Validate() != nil {
			t.Errorf("%v", f)
		}
	}
	m, _ := DB().MessageByID(IDAPICallTrigger)
	v, err := m.Decode(APICall{APIID: 7, RequestID: 9}.Frame())
	if err != nil || v["APIID"] != 7 || v["APIRequestID"] != 9 {
		t.Errorf("%v %v", v, err)
	}
}

func TestBulkUpload(t *testing.T) {
	f := BulkUpload{SizeKiB: 1500, RequestID: 77}.Frame()
	b, err := DecodeBulkUpload(f)
	if err != nil || b.SizeKiB != 1500 || b.RequestID != 77 || !IsControl(f) {
		t.Fatalf("%+v %v", b, err)
	}
	d := BulkData(77, 1001)
	if len(d) != 1001 || string(d) != string(BulkData(77, 1001)) || string(d[:8]) == string(BulkData(78, 8)) {
		t.Fatal("BulkData is not a deterministic stream per request ID")
	}
}

func TestPhysicalSignals(t *testing.T) {
	f, err := Encode("VehicleSpeed", map[string]float64{"VehicleSpeed": 123.45, "SpeedCounter": 9})
	if err != nil {
		t.Fatal(err)
	}
	if f.Data[0] != 0x30 || f.Data[1] != 0x39 { // 12345 big endian
		t.Errorf("VehicleSpeed 123.45 km/h: % X", f.Data[:2])
	}
	m, _ := DB().Message("VehicleSpeed")
	v, err := m.Decode(f)
	if err != nil || v["VehicleSpeed"] < 123.449 || v["VehicleSpeed"] > 123.451 || v["SpeedCounter"] != 9 {
		t.Errorf("decoded %v, %v", v, err)
	}
	f, err = Encode("EngineData", map[string]float64{"CoolantTemp": -10})
	if err != nil || f.Data[2] != 30 {
		t.Errorf("CoolantTemp -10 degC: raw %d, %v", f.Data[2], err)
	}
	for _, c := range []struct {
		msg  string
		vals map[string]float64
		want string
	}{
		{"NoSuch", nil, `message "NoSuch"`},
		{"VehicleSpeed", map[string]float64{"Speed": 1}, `no signal "Speed"`},
		{"VehicleSpeed", map[string]float64{"VehicleSpeed": 700}, "outside"},
	} {
		if _, err := Encode(c.msg, c.vals); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Encode(%s, %v): %v, want %q", c.msg, c.vals, err, c.want)
		}
	}
}

func TestParseErrorNamesLine(t *testing.T) {
	_, err := Parse("bad.dbc", []byte("VERSION \"\"\n\nBO_ 256 Broken 1 X\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.dbc:3") {
		t.Errorf("error %v should name bad.dbc:3", err)
	}
}
