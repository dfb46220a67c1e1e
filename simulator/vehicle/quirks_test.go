package vehicle

import (
	"strings"
	"testing"
)

func TestParseQuirks(t *testing.T) {
	q, err := ParseQuirks([]string{"no-retry=503", "retries=3", "interval-factor=0.5", "corrupt-upload"})
	if err != nil {
		t.Fatal(err)
	}
	if !q.HasValue("no-retry", "503") || q.Int("retries", 2) != 3 || q.Float("interval-factor", 1) != 0.5 || !q.Has("corrupt-upload") || q.Has("upper-extension") {
		t.Errorf("parsed %+v", q)
	}
	for _, bad := range []string{"nonsense", "retries=-1", "retries", "corrupt-upload=1", "interval-factor=0", "no-retry=abc"} {
		if _, err := ParseQuirks([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	_, err = ParseQuirks([]string{"nonsense"})
	if !strings.Contains(err.Error(), "corrupt-upload") {
		t.Errorf("error does not list the known quirks: %v", err)
	}
	if q, _ := ParseQuirks(nil); q.Names() != "none" || q.Int("retries", 2) != 2 || q.Float("interval-factor", 1) != 1 {
		t.Errorf("zero quirks: %+v", q)
	}
}

func TestRequestIDText(t *testing.T) {
	if got := RequestIDText(7); got != "0000000007" {
		t.Errorf("RequestIDText(7) = %q", got)
	}
	if got := RequestIDText(0); strings.Trim(got, "F") != "" || got == "" {
		t.Errorf("RequestIDText(0) = %q, want the binary invalid value FFF...", got)
	}
}
