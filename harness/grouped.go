package harness

// Grouped collects spec names under quirk or variant names, keeping the
// order in which each name was first added: the shape every suite's
// self-test table is built in. The zero value is ready to use.
type Grouped struct {
	order []string
	specs map[string][]string
}

// Add puts specs under name.
func (g *Grouped) Add(name string, specs ...string) {
	if g.specs == nil {
		g.specs = map[string][]string{}
	}
	if _, ok := g.specs[name]; !ok {
		g.order = append(g.order, name)
	}
	g.specs[name] = append(g.specs[name], specs...)
}

// Quirks returns one QuirkCase per name, in the order first added.
func (g *Grouped) Quirks() []QuirkCase {
	out := make([]QuirkCase, 0, len(g.order))
	for _, n := range g.order {
		out = append(out, QuirkCase{Quirk: n, Specs: g.specs[n]})
	}
	return out
}

// Variants returns one VariantCase per name, in the order first added.
func (g *Grouped) Variants() []VariantCase {
	out := make([]VariantCase, 0, len(g.order))
	for _, n := range g.order {
		out = append(out, VariantCase{Variant: n, Specs: g.specs[n]})
	}
	return out
}
