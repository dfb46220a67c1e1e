package spec

import (
	"errors"
	"regexp"
	"testing"
	"time"
)

func TestParseFileNameValid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want FileName
	}{
		{"20240131_235959_C19_001_03_00000000_s.json", FileName{
			Time: time.Date(2024, 1, 31, 23, 59, 59, 0, time.UTC), Generation: "C19", Function: 1, Counter: 3,
			RequestID: "00000000", Trigger: "s", Extension: "json"}},
		{"00000000_000000_D24_123_99_FFFFFFFF_n.bin", FileName{
			Generation: "D24", Function: 123, Counter: 99, RequestID: "FFFFFFFF", Trigger: "n", Extension: "bin"}},
		{"20240229_000000_m21_999_00_42_cpart_2.tar.gz", FileName{
			Time: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), Generation: "m21", Function: 999, Counter: 0,
			RequestID: "42", Trigger: "c", Extra: "part_2", Extension: "tar.gz"}},
		{"19991231_120000_119_000_01_1234567890_f-x.mp4", FileName{
			Time: time.Date(1999, 12, 31, 12, 0, 0, 0, time.UTC), Generation: "119", Counter: 1,
			RequestID: "1234567890", Trigger: "f", Extra: "-x", Extension: "mp4"}},
	} {
		got, err := ParseFileName(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !got.Time.Equal(tc.want.Time) || got.withoutTime() != tc.want.withoutTime() {
			t.Errorf("%s: got %+v, want %+v", tc.in, got, tc.want)
		}
		if got.String() != tc.in {
			t.Errorf("String() = %s, want %s", got.String(), tc.in)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", tc.in, err)
		}
	}
	f, _ := ParseFileName("00000000_000000_D24_123_99_FFFFFFFF_n.bin")
	if !f.Unknown() || f.HasRequestID() {
		t.Errorf("unknown time / invalid request id not reported: %+v", f)
	}
	if InvalidRequestID(true) != "FFFFFFFF" || InvalidRequestID(false) != "00000000" {
		t.Errorf("InvalidRequestID: %s %s", InvalidRequestID(true), InvalidRequestID(false))
	}
}

func TestParseFileNameInvalid(t *testing.T) {
	for _, tc := range []struct{ in, field string }{
		{"20241331_000000_C19_001_03_1_s.json", "month"},
		{"20240001_000000_C19_001_03_1_s.json", "month"},
		{"20240132_000000_C19_001_03_1_s.json", "day"},
		{"20230229_000000_C19_001_03_1_s.json", "day"},
		{"20240100_000000_C19_001_03_1_s.json", "day"},
		{"00000101_000000_C19_001_03_1_s.json", "year"},
		{"20240101_240000_C19_001_03_1_s.json", "hour"},
		{"20240101_006000_C19_001_03_1_s.json", "minute"},
		{"20240101_000060_C19_001_03_1_s.json", "second"},
		{"00000000_000001_C19_001_03_1_s.json", "time"},
		{"2024011_000000_C19_001_03_1_s.json", "date"},
		{"20240101_0000_C19_001_03_1_s.json", "time"},
		{"20240101_000000_CC9_001_03_1_s.json", "generation"},
		{"20240101_000000_C1_001_03_1_s.json", "generation"},
		{"20240101_000000_-19_001_03_1_s.json", "generation"},
		{"20240101_000000_C19_01_03_1_s.json", "function"},
		{"20240101_000000_C19_0a1_03_1_s.json", "function"},
		{"20240101_000000_C19_001_3_1_s.json", "counter"},
		{"20240101_000000_C19_001_003_1_s.json", "counter"},
		{"20240101_000000_C19_001_03__s.json", "request_id"},
		{"20240101_000000_C19_001_03_12a_s.json", "request_id"},
		{"20240101_000000_C19_001_03_FFF_s.json", "request_id"},
		{"20240101_000000_C19_001_03_1_x.json", "trigger"},
		{"20240101_000000_C19_001_03_1_S.json", "trigger"},
		{"20240101_000000_C19_001_03_1_.json", "trigger"},
		{"20240101_000000_C19_001_03_1_s.JSON", "extension"},
		{"20240101_000000_C19_001_03_1_s.Json", "extension"},
		{"20240101_000000_C19_001_03_1_s", "extension"},
		{"20240101_000000_C19_001_03_1_s.", "extension"},
		{"20240101_000000_C19_001_03_1_s.tar..gz", "extension"},
		{"20240101_000000_C19_001_03_1_s!x.json", "extra"},
		{"20240101_000000_C19_001_03", "request_id"},
		{"20240101_000000_C19_001_03_1", "trigger"},
		{"", "date"},
	} {
		_, err := ParseFileName(tc.in)
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%q: want a *FieldError on %s, got %v", tc.in, tc.field, err)
			continue
		}
		if fe.Field != tc.field {
			t.Errorf("%q: error names %q, want %q (%v)", tc.in, fe.Field, tc.field, err)
		}
	}
}

func TestFileNameRulesOptions(t *testing.T) {
	o := DefaultOptions()
	o.Triggers = "*"
	o.RequestIDInvalidLength = 4
	d, err := Resolve(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.FileName.Parse("20240101_000000_C19_001_03_FFFF_x.bin"); err != nil {
		t.Errorf("any trigger / 4-F request id: %v", err)
	}
	if _, err := d.FileName.Parse("20240101_000000_C19_001_03_FFFFFFFF_x.bin"); err == nil {
		t.Errorf("8-F request id accepted with length 4")
	}
	o.Triggers = "nq"
	d, _ = Resolve(o)
	if _, err := d.FileName.Parse("20240101_000000_C19_001_03_1_q.bin"); err != nil {
		t.Errorf("profile trigger q: %v", err)
	}
	if _, err := d.FileName.Parse("20240101_000000_C19_001_03_1_s.bin"); err == nil {
		t.Errorf("trigger s accepted though not listed")
	}
	bad := FileName{Time: time.Date(2024, 1, 1, 0, 0, 0, 5, time.UTC), Generation: "C19", RequestID: "1", Trigger: "s", Extension: "bin"}
	if err := bad.Validate(); err == nil {
		t.Errorf("sub-second time validated")
	}
	bad.Time = time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("JST", 9*3600))
	if err := bad.Validate(); err == nil {
		t.Errorf("non-UTC time validated")
	}
}

// oracle patterns, written independently of the parser.
var (
	genRe   = regexp.MustCompile(`^[0-9A-Za-z][0-9]{2}$`)
	ridRe   = regexp.MustCompile(`^([0-9]+|FFFFFFFF)$`)
	trigRe  = regexp.MustCompile(`^[nfmsc]$`)
	extraRe = regexp.MustCompile(`^[0-9A-Za-z_-]*$`)
	extRe   = regexp.MustCompile(`^[a-z0-9]+(\.[a-z0-9]+)*$`)
)

// FuzzParseFileName: ParseFileName never panics; whatever it accepts is in
// canonical form (String gives the input back); and a FileName built from
// fields the independent oracle calls valid formats to a string that parses
// back to the same FileName.
func FuzzParseFileName(f *testing.F) {
	f.Add("20240131_235959_C19_001_03_00000000_s.json", int64(1706745599), "C19", 1, 3, "00000000", "s", "", "json")
	f.Add("00000000_000000_D24_123_99_FFFFFFFF_n.bin", int64(0), "D24", 123, 99, "FFFFFFFF", "n", "x_1", "tar.gz")
	f.Add("20241331_000000_C19_001_03_1_s.JSON", int64(-62135596800), "c1x", 1000, -1, "F", "q", "!", "JSON")
	f.Fuzz(func(t *testing.T, s string, sec int64, gen string, fn, counter int, rid, trig, extra, ext string) {
		if got, err := ParseFileName(s); err == nil {
			if got.String() != s {
				t.Fatalf("accepted %q but formats to %q", s, got.String())
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("accepted %q but Validate: %v", s, err)
			}
		} else {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("%q: error without field: %v", s, err)
			}
		}
		var tm time.Time
		if sec != 0 {
			tm = time.Unix(sec, 0).UTC()
		}
		x := FileName{Time: tm, Generation: gen, Function: fn, Counter: counter, RequestID: rid, Trigger: trig, Extra: extra, Extension: ext}
		valid := (tm.IsZero() || tm.Year() >= 1 && tm.Year() <= 9999) && genRe.MatchString(gen) &&
			fn >= 0 && fn <= 999 && counter >= 0 && counter <= 99 && ridRe.MatchString(rid) &&
			trigRe.MatchString(trig) && extraRe.MatchString(extra) && extRe.MatchString(ext)
		got, err := ParseFileName(x.String())
		same := err == nil && got.Time.Equal(x.Time) && got.withoutTime() == x.withoutTime()
		if valid && !same {
			t.Fatalf("round trip: %+v -> %s -> %+v (%v)", x, x.String(), got, err)
		}
		if !valid && same {
			t.Fatalf("%+v is invalid by the oracle but round-trips through %s", x, x.String())
		}
		if valid != (x.Validate() == nil) {
			t.Fatalf("%s: Validate disagrees with the oracle (%v)", x.String(), x.Validate())
		}
	})
}
