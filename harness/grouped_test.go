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

// Say gives a name's quirk case its MustSay, each word once; names
// without words have none.
func TestGroupedSay(t *testing.T) {
	var g Grouped
	g.Add("a", "s1")
	g.Add("b", "s2")
	g.Say("a", "Expected:", "Actual:")
	g.Say("a", "Actual:", "7.1.1")
	q := g.Quirks()
	if !slices.Equal(q[0].MustSay, []string{"Expected:", "Actual:", "7.1.1"}) || q[1].MustSay != nil {
		t.Errorf("Quirks() = %+v", q)
	}
}

// Cite adds the clause to MustSay only where every spec under the name
// cites the same one.
func TestGroupedCite(t *testing.T) {
	var g Grouped
	g.Add("one", "s1", "s2")
	g.Cite("one", "7.1.1.4")
	g.Cite("one", "7.1.1.4")
	g.Add("two", "s3", "s4")
	g.Cite("two", "7.1.1.1")
	g.Cite("two", "6.2.3")
	g.Say("two", "Expected:")
	q := g.Quirks()
	if !slices.Equal(q[0].MustSay, []string{"7.1.1.4"}) || !slices.Equal(q[1].MustSay, []string{"Expected:"}) {
		t.Errorf("Quirks() = %+v", q)
	}
}
