package bench

import "testing"

func TestUploadTriggerRoundTrip(t *testing.T) {
	for _, in := range []UploadTrigger{{RealTime: true, Trigger: 'c', RequestID: 42}, {Trigger: 's'}} {
		f := in.Frame()
		if !IsControl(f) {
			t.Errorf("%v is not a control frame", f)
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
