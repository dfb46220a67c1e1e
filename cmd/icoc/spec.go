package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/icoc-dev/icoc/spec"
	exvespec "github.com/icoc-dev/icoc/spec/exve"
	"github.com/icoc-dev/icoc/spec/viss"
)

func init() {
	register("spec", "print every spec table as JSON", runSpec)
}

// runSpec prints spec.All() (every table of the core seed, each row with
// its clause and row ID) as indented JSON on stdout. Flags: -register prints
// the register of interpretations (Markdown) instead; -exve prints ISO
// 20078-2's requirements and tables (spec/exve); -viss prints the VISS
// dialects' tables (spec/viss): vissTables.
func runSpec(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("spec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reg := fs.Bool("register", false, "print the register of interpretations (INTERPRETATIONS.md) instead of JSON")
	exve := fs.Bool("exve", false, "print ISO 20078-2 (seeds 003/004) instead: every requirement with its clause, strength, party and testability, and the tables")
	vissFlag := fs.Bool("viss", false, "print the VISS dialects (seeds 001/002) instead: per dialect and v3 revision the message tables, error tables and situations, filter variants, access control and server features")
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
	if *exve && *vissFlag {
		fs.Usage()
		return fmt.Errorf("-exve and -viss: give one")
	}
	if *vissFlag {
		t, err := vissTables()
		if err != nil {
			return err
		}
		return enc.Encode(t)
	}
	if *exve {
		return enc.Encode(struct {
			Requirements []exvespec.Requirement `json:"requirements"`
			Tables       exvespec.Tables        `json:"tables"`
		}{exvespec.Requirements(), exvespec.AllTables()})
	}
	return enc.Encode(spec.All())
}

// vissDialects are the dialects `icoc spec -viss` prints: v3 under each
// revision (register I-260), then gen2, each under the register's default
// options otherwise.
type vissDialects struct {
	Dialects []vissspec.Dialect `json:"dialects"`
}

// vissTables loads the VISS dialects for `icoc spec -viss`.
func vissTables() (vissDialects, error) {
	var out vissDialects
	for _, rev := range []string{vissspec.RevisionRC0, vissspec.RevisionPublished} {
		o := vissspec.DefaultOptions()
		o.Revision = rev
		d, err := vissspec.Load(vissspec.V3, o)
		if err != nil {
			return out, err
		}
		out.Dialects = append(out.Dialects, d)
	}
	d, err := vissspec.Load(vissspec.Gen2, vissspec.DefaultOptions())
	if err != nil {
		return out, err
	}
	out.Dialects = append(out.Dialects, d)
	return out, nil
}
