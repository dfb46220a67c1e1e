package harness

import (
	"strings"

	exveop "github.com/icoc-dev/icoc/simulator/exve"
	"github.com/icoc-dev/icoc/simulator/exveap"
)

// Quirk prefixes of the simulators other than the reference vehicle and
// center: "exve-op.tls10" is quirk tls10 of the reference ExVe offering
// party, "exve-ap.poll-fast" quirk poll-fast of the reference accessing
// party (ICOC_QUIRKS, the self-tests).
const (
	ExVeOPQuirkPrefix = "exve-op."
	ExVeAPQuirkPrefix = "exve-ap."
)

// quirkOwners maps each such prefix to its simulator's variant check.
var quirkOwners = map[string]func(string) bool{
	ExVeOPQuirkPrefix: exveop.IsVariant,
	ExVeAPQuirkPrefix: exveap.IsVariant,
}

// ownedQuirk reports whether q belongs to a simulator of quirkOwners, and
// whether it is a variant there.
func ownedQuirk(q string) (owned, variant bool) {
	for p, isVariant := range quirkOwners {
		if name, ok := strings.CutPrefix(q, p); ok {
			return true, isVariant(name)
		}
	}
	return false, false
}

// QuirksOf returns the run's quirks with prefix, without the prefix.
func (r *Run) QuirksOf(prefix string) []string {
	var out []string
	for _, q := range r.Quirks {
		if name, ok := strings.CutPrefix(q, prefix); ok {
			out = append(out, name)
		}
	}
	return out
}
