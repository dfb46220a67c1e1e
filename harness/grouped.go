package harness

import "slices"

// Grouped collects spec names under quirk or variant names, keeping the
// order in which each name was first added: the shape every suite's
// self-test table is built in. The zero value is ready to use.
type Grouped struct {
	order []string
	specs map[string][]string
	say   map[string][]string
	cites map[string][]string
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

// Say adds words that every failure of name's specs must contain
// (QuirkCase.MustSay), each once, in the order first given.
func (g *Grouped) Say(name string, words ...string) {
	if g.say == nil {
		g.say = map[string][]string{}
	}
	for _, w := range words {
		if !slices.Contains(g.say[name], w) {
			g.say[name] = append(g.say[name], w)
		}
	}
}

// Cite records that a spec under name cites clause in its failures (its
// Requirement's clause). Quirks adds the clause to name's MustSay when
// every Cite of name gave the same one; specs of several clauses under one
// name share no clause, and none is required.
func (g *Grouped) Cite(name, clause string) {
	if g.cites == nil {
		g.cites = map[string][]string{}
	}
	if !slices.Contains(g.cites[name], clause) {
		g.cites[name] = append(g.cites[name], clause)
	}
}

// Quirks returns one QuirkCase per name, in the order first added, each
// with the words Say gave its name, and its one cited clause, as MustSay.
func (g *Grouped) Quirks() []QuirkCase {
	out := make([]QuirkCase, 0, len(g.order))
	for _, n := range g.order {
		say := slices.Clone(g.say[n])
		if c := g.cites[n]; len(c) == 1 && !slices.Contains(say, c[0]) {
			say = append(say, c[0])
		}
		out = append(out, QuirkCase{Quirk: n, Specs: g.specs[n], MustSay: say})
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
