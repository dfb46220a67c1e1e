package main

import (
	"encoding/json"
	"flag"
	"io"

	"github.com/icoc-dev/icoc/spec"
)

func init() {
	register("spec", "print every spec table as JSON", runSpec)
}

// runSpec prints spec.All() (every table of the core seed, each row with
// its clause and row ID) as indented JSON on stdout. Flags: -register prints
// the register of interpretations (Markdown) instead.
func runSpec(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("spec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reg := fs.Bool("register", false, "print the register of interpretations (INTERPRETATIONS.md) instead of JSON")
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
	return enc.Encode(spec.All())
}
