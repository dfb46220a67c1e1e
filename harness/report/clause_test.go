package report

import (
	"math/rand"
	"slices"
	"testing"
)

func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		text, id, clause, item string
		ok                     bool
	}{
		{"[7.2.2.4 T7-8 503] HTTP/1.1 ... retried twice", "7.2.2.4 T7-8 503", "7.2.2.4", "T7-8 503", true},
		{"[7.1.1.7] TLS 1.3 only", "7.1.1.7", "7.1.1.7", "", true},
		{"  [ 7.2.3   T7-4\tA ]  CRL expired", "7.2.3 T7-4 A", "7.2.3", "T7-4 A", true},
		{"[7.2.2.4 T7-8 504] header <X> [extra]", "7.2.2.4 T7-8 504", "7.2.2.4", "T7-8 504", true},
		{"[T7-4 B] no clause number", "T7-4 B", "T7-4", "B", true},
		{"HTTP/1.1 [7.2.2.4] not leading", "", "", "", false},
		{"[] empty", "", "", "", false},
		{"[   ] blank", "", "", "", false},
		{"[7.2.2.4 unterminated", "", "", "", false},
		{"", "", "", "", false},
	} {
		id, clause, item, ok := ParseID(tc.text)
		if id != tc.id || clause != tc.clause || item != tc.item || ok != tc.ok {
			t.Errorf("ParseID(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tc.text, id, clause, item, ok, tc.id, tc.clause, tc.item, tc.ok)
		}
		if ok && NormalizeID(id) != id {
			t.Errorf("ParseID(%q): id %q is not normalized", tc.text, id)
		}
	}
}

func TestCompareNatural(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"7.1.1.7", "7.2.2.4", -1},
		{"7.2.2.4", "7.2.2.10", -1},
		{"7.2.2.10", "7.2.2.4", 1},
		{"7.2.2", "7.2.2.4", -1},
		{"T7-4 A", "T7-4 B", -1},
		{"T7-4 B", "T7-10 A", -1},
		{"T7-8 503", "T7-8 504", -1},
		{"T7-9 400", "T7-10 400", -1},
		{"7", "07", 1}, // equal numbers: the byte order decides, never 0
		{"007", "7", -1},
		{"x", "x", 0},
		{"", "", 0},
		{"", "1", -1},
		{"a10", "a9b", 1},
		{"99999999999999999999999", "100000000000000000000000", -1}, // beyond int64
	} {
		if got := CompareNatural(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareNatural(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := CompareNatural(tc.b, tc.a); got != -tc.want {
			t.Errorf("CompareNatural(%q, %q) = %d, want %d (antisymmetry)", tc.b, tc.a, got, -tc.want)
		}
	}
}

func TestNaturalSortOfClauses(t *testing.T) {
	want := []string{
		"5.1", "6", "6.3.2", "7.1.1.7", "7.1.1.10", "7.2.2", "7.2.2.4", "7.2.2.4 T7-8 503",
		"7.2.2.4 T7-8 504", "7.2.2.10", "7.2.3 T7-4 A", "7.2.3 T7-4 B", "7.2.3 T7-4 M",
		"7.10", "A.1", "T7-4 A", "T7-4 B", "T7-10 A",
	}
	r := rand.New(rand.NewSource(1))
	for range 50 {
		got := slices.Clone(want)
		r.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
		slices.SortFunc(got, CompareNatural)
		if !slices.Equal(got, want) {
			t.Fatalf("sorted:\n%q\nwant:\n%q", got, want)
		}
	}
	// Transitivity over all triples of the set.
	for _, a := range want {
		for _, b := range want {
			for _, c := range want {
				if CompareNatural(a, b) < 0 && CompareNatural(b, c) < 0 && CompareNatural(a, c) >= 0 {
					t.Errorf("not transitive: %q < %q < %q", a, b, c)
				}
			}
		}
	}
}
