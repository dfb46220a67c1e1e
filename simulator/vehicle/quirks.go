package vehicle

import (
	"strings"

	"github.com/icoc-dev/icoc/simulator/quirk"
	"github.com/icoc-dev/icoc/simulator/viss"
)

// QuirkInfo describes one quirk of the reference vehicle.
type QuirkInfo = quirk.Info

// Quirks is a parsed set of the vehicle's quirks.
type Quirks = quirk.Set

// quirks holds every quirk the vehicle has; each file registers its own.
var quirks = quirk.NewRegistry("vehicle")

func registerQuirk(q QuirkInfo) { quirks.Register(q) }

// KnownQuirks returns every quirk the vehicle has, by name, including its
// VISS servers' (with the prefix viss.QuirkPrefix).
func KnownQuirks() map[string]QuirkInfo {
	out := quirks.Known()
	for n, q := range viss.KnownQuirks() {
		out[viss.QuirkPrefix+n] = q
	}
	return out
}

// QuirkNames returns the vehicle's quirk names, sorted, the VISS servers'
// last.
func QuirkNames() []string {
	out := quirks.Names()
	for _, n := range viss.QuirkNames() {
		out = append(out, viss.QuirkPrefix+n)
	}
	return out
}

// ParseQuirks parses the vehicle's quirks ("name" or "name=value"); those
// with the prefix viss.QuirkPrefix belong to its VISS servers and are
// checked there.
func ParseQuirks(list []string) (Quirks, error) {
	own, vq := splitVISSQuirks(list)
	if _, err := viss.ParseQuirks(vq); err != nil {
		return Quirks{}, err
	}
	return quirks.Parse(own)
}

// splitVISSQuirks separates the VISS servers' quirks (prefix removed).
func splitVISSQuirks(list []string) (own, vq []string) {
	for _, q := range list {
		if v, ok := strings.CutPrefix(strings.TrimSpace(q), viss.QuirkPrefix); ok {
			vq = append(vq, v)
		} else {
			own = append(own, q)
		}
	}
	return own, vq
}

// IsVariant reports whether name ("name" or "name=value") is a variant of
// the vehicle or of its VISS servers (an allowed choice) rather than a quirk.
func IsVariant(name string) bool {
	if v, ok := strings.CutPrefix(name, viss.QuirkPrefix); ok {
		return viss.IsVariant(v)
	}
	return quirks.IsVariant(name)
}
