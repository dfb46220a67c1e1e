package exve

import "github.com/icoc-dev/icoc/simulator/quirk"

// QuirkInfo describes one quirk or variant of the reference offering party.
type QuirkInfo = quirk.Info

// Quirks is a parsed set of the offering party's quirks.
type Quirks = quirk.Set

// quirks holds every quirk and variant of the offering party; each file
// registers what it implements.
var quirks = quirk.NewRegistry("exve-op")

func registerQuirk(q QuirkInfo) { quirks.Register(q) }

// KnownQuirks returns every quirk and variant, by name.
func KnownQuirks() map[string]QuirkInfo { return quirks.Known() }

// QuirkNames returns the quirk and variant names, sorted.
func QuirkNames() []string { return quirks.Names() }

// ParseQuirks parses quirks ("name" or "name=value").
func ParseQuirks(list []string) (Quirks, error) { return quirks.Parse(list) }

// IsVariant reports whether name is a variant (an allowed choice) rather
// than a quirk.
func IsVariant(name string) bool { return quirks.IsVariant(name) }

// q registers a quirk of clause c (a REQ ID of ISO 20078-2).
func q(name, c, breaks string) {
	registerQuirk(QuirkInfo{Name: name, Clause: "ISO 20078-2 " + c, Breaks: breaks})
}

// variant registers a variant of clause c.
func variant(name, c, choice string) {
	registerQuirk(QuirkInfo{Name: name, Clause: "ISO 20078-2 " + c, Breaks: choice, Variant: true})
}
