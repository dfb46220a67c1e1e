package bench

import (
	"math"
	"testing"
)

// FuzzStimulusMessage fuzzes what a bench profile's stimulus map reads from
// outside: a DBC file (the DCM's own), the message a stimulus names and a
// signal value for it. Parsing must fail cleanly or give messages whose
// frames encode and decode without panicking, and a value that encodes
// decodes back within the signal's resolution.
func FuzzStimulusMessage(f *testing.F) {
	f.Add(DBCFile, "Ignition", "IgnitionState", 1.0)
	f.Add(DBCFile, "UploadTrigger", "TriggerIdentifier", 3.0)
	f.Add([]byte("VERSION \"\"\nBO_ 256 M: 8 ECU\n SG_ S : 0|8@1+ (1,0) [0|255] \"\" ECU\n"), "M", "S", 255.0)
	f.Add([]byte("BO_ 1 X: 2 E\n SG_ A : 7|16@0- (0.5,-3) [-100|100] \"\" E\n"), "X", "A", -1.5)
	f.Fuzz(func(t *testing.T, dbc []byte, message, signal string, value float64) {
		db, err := Parse("fuzz.dbc", dbc)
		if err != nil {
			return
		}
		for _, m := range db.Messages() {
			_ = m.SignalNames()
		}
		m, ok := db.Message(message)
		if !ok {
			return
		}
		if _, ok := m.Signal(signal); !ok {
			return
		}
		fr, err := m.Frame(map[string]float64{signal: value})
		if err != nil {
			return
		}
		got, err := m.Decode(fr)
		if err != nil {
			t.Fatalf("a frame %s encoded does not decode: %v", m.Name, err)
		}
		if math.IsNaN(value) || math.IsInf(value, 0) {
			return
		}
		if v, ok := got[signal]; !ok || math.IsNaN(v) {
			t.Fatalf("signal %s of %s: encoded %v, decoded %v", signal, m.Name, value, got)
		}
	})
}
