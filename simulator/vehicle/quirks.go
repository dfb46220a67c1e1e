package vehicle

import "github.com/icoc-dev/icoc/simulator/quirk"

// QuirkInfo describes one quirk of the reference vehicle.
type QuirkInfo = quirk.Info

// Quirks is a parsed set of the vehicle's quirks.
type Quirks = quirk.Set

// quirks holds every quirk the vehicle has; each file registers its own.
var quirks = quirk.NewRegistry("vehicle")

func registerQuirk(q QuirkInfo) { quirks.Register(q) }

// KnownQuirks returns every quirk the vehicle has, by name.
func KnownQuirks() map[string]QuirkInfo { return quirks.Known() }

// QuirkNames returns the vehicle's quirk names, sorted.
func QuirkNames() []string { return quirks.Names() }

// ParseQuirks parses the vehicle's quirks ("name" or "name=value").
func ParseQuirks(list []string) (Quirks, error) { return quirks.Parse(list) }

// IsVariant reports whether name ("name" or "name=value") is a variant of
// the vehicle (an allowed choice) rather than a quirk.
func IsVariant(name string) bool { return quirks.IsVariant(name) }
