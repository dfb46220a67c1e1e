package harness

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadProfile fuzzes the DUT and bench profile loader with whole
// profile files: every input loads or fails with a ProfileError that names
// the file, and a profile that loads has a usable clock. The seeds are the
// testdata profiles (their relative paths made absolute). Host names in
// addresses are not looked up: the fuzz process has a resolver that
// answers nothing.
func FuzzLoadProfile(f *testing.F) {
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS while fuzzing")
	}}
	seeds, _ := filepath.Glob("testdata/profiles/*.yaml")
	seeds = append(seeds, "profiles/sim.yaml", "../profiles/bench-dcm.example.yaml", "../profiles/software-dcm.example.yaml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		abs, _ := filepath.Abs(filepath.Dir(s))
		f.Add(strings.ReplaceAll(string(b), "../", abs+"/../"))
	}
	f.Fuzz(func(t *testing.T, yaml string) {
		file := filepath.Join(t.TempDir(), "p.yaml")
		if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := LoadProfile(file)
		if err != nil {
			var pe *ProfileError
			if !errors.As(err, &pe) || pe.File == "" {
				t.Fatalf("error %v (%T) does not name the profile file", err, err)
			}
			return
		}
		if p.Clock.Scale <= 0 || p.Clock.Scale > 1 {
			t.Fatalf("loaded with clock scale %v", p.Clock.Scale)
		}
	})
}
