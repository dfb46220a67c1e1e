package vissclient

import (
	"slices"
	"testing"

	"github.com/icoc-dev/icoc/simulator/viss/vssmap"
)

func caps(vs ...float64) []Capture {
	out := make([]Capture, len(vs))
	for i, v := range vs {
		out[i] = Capture{Value: vssmap.Value{Kind: "number", Num: v}}
	}
	return out
}

func nums(cs []Capture) []float64 {
	var out []float64
	for _, c := range cs {
		out = append(out, c.Value.Num)
	}
	return out
}

func TestExpectations(t *testing.T) {
	zero := vssmap.Value{Kind: "number", Num: 0}
	series := caps(4, 8, 12, 30, 33, 36, 50)
	for _, tc := range []struct {
		name string
		got  []Capture
		want []float64
	}{
		{"v3 change gt 5 (previous capture)", ExpectChangeV3(zero, series, "gt", 5), []float64{30, 50}},
		{"gen2 change GT 5 (last notified)", ExpectChangeGen2(zero, series, "GT", 5), []float64{8, 30, 36, 50}},
		{"gen2 change NEQ 0", ExpectChangeGen2(zero, caps(0, 1, 1, 2), "NEQ", 0), []float64{1, 2}},
		{"v3 range gt 50", ExpectRangeV3(caps(40, 60, 70, 45, 80), []Bound{{"gt", 50}}, false), []float64{60, 70, 80}},
		{"v3 range lt 20 OR gt 80", ExpectRangeV3(caps(50, 10, 90, 50, 15), []Bound{{"lt", 20}, {"gt", 80}}, true), []float64{10, 90, 15}},
		{"gen2 range enter/exit", ExpectRangeGen2(zero, caps(50, 55, 70, 45, 30), []Bound{{"gt", 40}, {"lt", 60}}), []float64{50, 70, 45, 30}},
	} {
		if !slices.Equal(nums(tc.got), tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, nums(tc.got), tc.want)
		}
	}
	f := vssmap.Value{Kind: "boolean", Bool: false}
	b := func(v bool) Capture { return Capture{Value: vssmap.Value{Kind: "boolean", Bool: v}} }
	got := ExpectChangeV3(f, []Capture{b(true), b(true), b(false), b(true), b(false)}, "gt", 0)
	if len(got) != 2 {
		t.Errorf("boolean gt 0: %d events, want 2 (false->true twice)", len(got))
	}
}
