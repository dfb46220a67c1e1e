package harness

import (
	"testing"
	"time"

	"github.com/icoc-dev/icoc/simulator/canfile"
	"github.com/icoc-dev/icoc/simulator/center"
)

// The oracle counts every delivery the center accepted (I-320): a file the
// DUT sent again after the center's 200 reached it is duplicated data; the
// same file sent again after the DUT abandoned the first attempt (it never
// saw the answer) is a retransmission and counts once.
func TestOracleCountsEveryDelivery(t *testing.T) {
	for _, c := range []struct {
		name      string
		abandoned bool
		dup       bool
	}{{"answered, then sent again", false, true}, {"abandoned, then sent again", true, false}} {
		t.Run(c.name, func(t *testing.T) {
			p, err := LoadProfile("")
			if err != nil {
				t.Fatal(err)
			}
			cc := center.NewDefaultConfig()
			cc.CertFile, cc.KeyFile, cc.ClientCAFile = p.Center.CertFile, p.Center.KeyFile, p.Center.ClientCAFile
			srv, err := center.New(cc)
			if err != nil {
				t.Fatal(err)
			}
			r := &Run{Profile: p, Clock: p.Clock, Center: srv, Recorder: NewRecorder()}
			frames := CANData(30, 99)
			t0 := time.Now()
			recs := make([]canfile.Record, len(frames))
			sent := make([]SentFrame, len(frames))
			for i, f := range frames {
				recs[i] = canfile.Record{Time: t0, Frame: f}
				sent[i] = SentFrame{Frame: f, At: t0}
			}
			data := canfile.Encode(recs)
			name := "20260601_120000_D24_001_00_0000000001_c.bin"
			for i, at := range []time.Time{t0.Add(time.Millisecond), t0.Add(2 * time.Millisecond)} {
				x := &center.Exchange{Seq: uint64(i + 1), ReceivedAt: at, Method: "POST", Path: "/files/" + name, Key: name}
				r.Recorder.OnRequest(x)
				srv.Store().Put(p.DUT.VIN, name, data, at)
				x.Abandoned = i == 0 && c.abandoned
				r.Recorder.OnAnswer(x, center.Answer{Status: 200}, at.Add(time.Millisecond))
			}
			got, err := r.ReceivedCANData(t0)
			if err != nil {
				t.Fatal(err)
			}
			d := JudgeDelivery(sent, got, r.Clock)
			if dup := len(d.Duplicated) > 0; dup != c.dup || len(d.Missing) > 0 {
				t.Errorf("delivery %s; want duplicated %v, nothing missing", d, c.dup)
			}
		})
	}
}
