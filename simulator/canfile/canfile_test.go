package canfile

import (
	"bytes"
	"testing"
	"time"

	"go.einride.tech/can"
)

func sample() []Record {
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 123456789, time.UTC)
	return []Record{
		{Time: t0, Frame: can.Frame{ID: 0x123, Length: 2, Data: can.Data{1, 2}}},
		{Time: t0.Add(time.Millisecond), Frame: can.Frame{ID: 0x1ABCDEF0, IsExtended: true, Length: 8, Data: can.Data{1, 2, 3, 4, 5, 6, 7, 8}}},
		{Time: t0.Add(2 * time.Millisecond), Frame: can.Frame{ID: 0x7FF, IsRemote: true, Length: 0}},
	}
}

func TestRoundTrip(t *testing.T) {
	in := sample()
	got, err := Decode(Encode(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("%d records, want %d", len(got), len(in))
	}
	for i := range in {
		if !got[i].Time.Equal(in[i].Time) || got[i].Frame != in[i].Frame {
			t.Errorf("record %d: %+v, want %+v", i, got[i], in[i])
		}
	}
}

// Appendix 1 §1: binary items are big endian.
func TestBigEndian(t *testing.T) {
	b := Encode(sample()[:1])
	if !bytes.Equal(b[12:16], []byte{0, 0, 0, 1}) {
		t.Errorf("count field % x is not big endian 1", b[12:16])
	}
	if !bytes.Equal(b[16+8:16+12], []byte{0, 0, 0x01, 0x23}) {
		t.Errorf("id field % x is not big endian 0x123", b[16+8:16+12])
	}
}

func TestDecodeErrors(t *testing.T) {
	good := Encode(sample())
	for name, b := range map[string][]byte{
		"short":     good[:5],
		"magic":     append([]byte("XXXXXXXX"), good[8:]...),
		"truncated": good[:len(good)-1],
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	bad := append([]byte(nil), good...)
	bad[16+12] = 9 // length 9 is not a classic CAN frame
	if _, err := Decode(bad); err == nil {
		t.Error("length 9 decoded")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(sample()))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := Decode(b)
		if err != nil {
			return
		}
		if again := Encode(recs); !bytes.Equal(again, b) {
			// Only the reserved header bytes and padding may differ.
			if _, err := Decode(again); err != nil {
				t.Fatalf("re-encoding a decoded file broke it: %v", err)
			}
		}
	})
}
