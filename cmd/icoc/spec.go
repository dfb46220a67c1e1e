package main

import (
	"encoding/json"
	"flag"
	"io"

	"github.com/icoc-dev/icoc/spec"
	exvespec "github.com/icoc-dev/icoc/spec/exve"
)

func init() {
	register("spec", "print every spec table as JSON", runSpec)
}

// runSpec prints spec.All() (every table of the core seed, each row with
// its clause and row ID) as indented JSON on stdout. Flags: -register prints
// the register of interpretations (Markdown) instead; -exve prints ISO
// 20078-2's requirements and tables (spec/exve).
func runSpec(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("spec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reg := fs.Bool("register", false, "print the register of interpretations (INTERPRETATIONS.md) instead of JSON")
	exve := fs.Bool("exve", false, "print ISO 20078-2 (seeds 003/004) instead: every requirement with its clause, strength, party and testability, and the tables")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	if *reg {
		_, err := io.WriteString(stdout, spec.Register())
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if *exve {
		return enc.Encode(struct {
			Requirements []exvespec.Requirement `json:"requirements"`
			Tables       exvespec.Tables        `json:"tables"`
		}{exvespec.Requirements(), exvespec.AllTables()})
	}
	return enc.Encode(spec.All())
}
