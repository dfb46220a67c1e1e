package harness

import (
	"slices"
	"testing"
)

// Grouped keeps first-added order and every spec under its name.
func TestGrouped(t *testing.T) {
	var g Grouped
	g.Add("b", "s1")
	g.Add("a", "s2", "s3")
	g.Add("b", "s4")
	q := g.Quirks()
	if len(q) != 2 || q[0].Quirk != "b" || !slices.Equal(q[0].Specs, []string{"s1", "s4"}) || q[1].Quirk != "a" || !slices.Equal(q[1].Specs, []string{"s2", "s3"}) {
		t.Errorf("Quirks() = %+v", q)
	}
	if v := g.Variants(); len(v) != 2 || v[1].Variant != "a" {
		t.Errorf("Variants() = %+v", v)
	}
}
