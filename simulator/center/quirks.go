package center

import "github.com/icoc-dev/icoc/simulator/quirk"

// QuirkInfo describes one quirk of the reference center.
type QuirkInfo = quirk.Info

// Quirks is a parsed set of the center's quirks.
type Quirks = quirk.Set

// quirks holds every quirk the center has; each file registers its own.
var quirks = quirk.NewRegistry("center")

func registerQuirk(q QuirkInfo) { quirks.Register(q) }

// KnownQuirks returns every quirk the center has, by name.
func KnownQuirks() map[string]QuirkInfo { return quirks.Known() }

// QuirkNames returns the center's quirk names, sorted.
func QuirkNames() []string { return quirks.Names() }

// ParseQuirks parses the center's quirks ("name" or "name=value").
func ParseQuirks(list []string) (Quirks, error) { return quirks.Parse(list) }

// IsVariant reports whether name ("name" or "name=value") is a variant of
// the center (an allowed choice) rather than a quirk.
func IsVariant(name string) bool { return quirks.IsVariant(name) }
