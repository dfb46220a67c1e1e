package vissspec

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVISSMessage fuzzes the checks the harness runs on every VISS message
// off the wire (both dialects, v3 under both revisions): the JSON Schema of
// the dialect (Schema.Validate) and the timestamp format (CheckTimestamp,
// I-274).
//
//   - Validate never panics, and refuses a message that is not JSON, and
//     only such a message, with an error saying "not JSON".
//   - a timestamp CheckTimestamp accepts (the message's "ts" or
//     "timestamp", or the fuzzed string) parses, and the dialect's own
//     format of it (FormatTimestamp) is the same instant and passes again;
//     one it refuses gets an error that quotes it.
func FuzzVISSMessage(f *testing.F) {
	for _, m := range []string{
		`{"action":"get","path":"Vehicle.Speed","requestId":"8756"}`,
		`{"action":"get","requestId":"8756","data":{"path":"Vehicle.Speed","dp":{"value":"50","ts":"2020-04-15T13:37:00Z"}},"ts":"2020-04-15T13:37:05.123Z"}`,
		`{"action":"subscribe","path":"Vehicle.Speed","filter":{"variant":"timebased","parameter":{"period":"500"}},"requestId":"6578"}`,
		`{"action":"get","requestId":"8756","error":{"number":"404","reason":"unavailable_data","description":"not found"},"ts":"2020-04-15T13:37:00Z"}`,
		`{"action":"get","requestId":"8756","value":"2372","timestamp":"2020-04-15T13:37:00.000001Z"}`,
		`{"action":"subscribe","path":"Vehicle/Speed","filter":"$intervalEQ2","requestId":"6578"}`,
		`{"action":"get","ts":"2020-02-30T13:37:00Z"}`,
		`{"action":"get","ts":"2020-04-15T13:37:00+09:00"}`,
		`{"action":"get"} trailing`,
		`[1, 2`,
		``,
	} {
		f.Add([]byte(m), "2020-04-15T13:37:00.1234567Z")
	}
	f.Add([]byte(`null`), "9999-12-31T23:59:59.999999Z")
	f.Add([]byte(`"x"`), "2020-04-15t13:37:00z")
	var dialects []Dialect
	for _, n := range Dialects() {
		dialects = append(dialects, MustLoad(n, DefaultOptions()))
	}
	pub := DefaultOptions()
	pub.Revision = RevisionPublished
	dialects = append(dialects, MustLoad(V3, pub))
	for _, d := range dialects {
		d.MustSchema() // compiled before fuzzing
	}
	f.Fuzz(func(t *testing.T, raw []byte, ts string) {
		valid := json.Valid(raw)
		stamps := []string{ts}
		var top map[string]any
		if json.Unmarshal(raw, &top) == nil {
			for _, k := range []string{"ts", "timestamp"} {
				if s, ok := top[k].(string); ok {
					stamps = append(stamps, s)
				}
			}
		}
		for _, d := range dialects {
			err := d.MustSchema().Validate(raw)
			notJSON := err != nil && strings.HasPrefix(err.Error(), "not JSON")
			if notJSON == valid {
				t.Fatalf("%s/%s: message %q (valid JSON: %v): %v", d.Name, d.Revision, raw, valid, err)
			}
			for _, s := range stamps {
				checkStamp(t, d, s)
			}
		}
	})
}

// checkStamp holds CheckTimestamp to its round trip on s.
func checkStamp(t *testing.T, d Dialect, s string) {
	t.Helper()
	err := d.CheckTimestamp(s)
	if err != nil {
		if !strings.Contains(err.Error(), strconv.Quote(s)) {
			t.Fatalf("%s: timestamp %q refused without quoting it: %v", d.Name, s, err)
		}
		return
	}
	at, perr := ParseTimestamp(s)
	if perr != nil {
		t.Fatalf("%s: timestamp %q accepted but does not parse: %v", d.Name, s, perr)
	}
	back := FormatTimestamp(at)
	if err := d.CheckTimestamp(back); err != nil {
		t.Fatalf("%s: %q formats as %q, which is refused: %v", d.Name, s, back, err)
	}
	if again, _ := ParseTimestamp(back); !again.Equal(at) || at.Location() != time.UTC {
		t.Fatalf("%s: %q is %v, formatted %q is %v", d.Name, s, at, back, again)
	}
}
