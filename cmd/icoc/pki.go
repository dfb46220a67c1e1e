package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

func init() {
	register("pki", "regenerate the test PKI (or -check it)", runPKI)
}

// runPKI regenerates fixtures/pki of the enclosing module (found by walking
// up from the working directory to go.mod), removing fixture files the
// generator no longer writes; with -check it changes nothing and fails,
// naming each stale, missing or unexpected file, unless the directory is up
// to date.
func runPKI(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("pki", flag.ContinueOnError)
	fset.SetOutput(stderr)
	check := fset.Bool("check", false, "do not write; fail if the committed files differ from what the generator writes")
	dirFlag := fset.String("dir", "", "fixtures directory (default: fixtures/pki under the module root)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fset.Args(), " "))
	}
	dir := *dirFlag
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		dir = filepath.Join(root, "fixtures", "pki")
	}

	if *check {
		probs, err := pki.Check(dir)
		if err != nil {
			return err
		}
		for _, p := range probs {
			fmt.Fprintf(stderr, "%s: %s\n", p.Kind, filepath.Join(dir, p.File))
		}
		if len(probs) > 0 {
			return fmt.Errorf("%d file(s) out of date in %s; run `go run ./cmd/icoc pki` to regenerate", len(probs), dir)
		}
		fmt.Fprintf(stdout, "%s is up to date\n", dir)
		return nil
	}

	before, err := pki.Check(dir)
	if err != nil {
		return err
	}
	if err := pki.Generate(dir); err != nil {
		return err
	}
	for _, p := range before {
		switch p.Kind {
		case "unexpected":
			if err := os.Remove(filepath.Join(dir, p.File)); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "removed %s\n", p.File)
		default:
			fmt.Fprintf(stdout, "wrote %s (%s)\n", p.File, p.Kind)
		}
	}
	fmt.Fprintf(stdout, "%s: %d file(s) changed\n", dir, len(before))
	return nil
}

// moduleRoot returns the nearest directory at or above the working directory
// that holds a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above")
		}
		dir = parent
	}
}
