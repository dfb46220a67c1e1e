package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/icoc-dev/icoc/internal/protogen"
)

func init() {
	register("proto", "regenerate the Go code of the gRPC protos in spec/grpcpb (or -check it)", runProto)
}

// runProto regenerates spec/grpcpb/*.pb.go from spec/grpcpb/*.proto without
// protoc (internal/protogen); with -check it changes nothing and fails,
// naming each stale, missing or unexpected file, unless the committed code
// is what the generator writes.
func runProto(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("proto", flag.ContinueOnError)
	fset.SetOutput(stderr)
	check := fset.Bool("check", false, "do not write; fail if the committed files differ from what the generator writes")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fset.Args(), " "))
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "spec", "grpcpb")
	if *check {
		probs, err := protogen.Check(dir, root)
		if err != nil {
			return err
		}
		for _, p := range probs {
			fmt.Fprintf(stderr, "%s: %s\n", p.Kind, filepath.Join(dir, p.File))
		}
		if len(probs) > 0 {
			return fmt.Errorf("%d file(s) out of date in %s; run `go run ./cmd/icoc proto` to regenerate", len(probs), dir)
		}
		fmt.Fprintf(stdout, "%s is up to date\n", dir)
		return nil
	}
	probs, err := protogen.Write(dir, root)
	if err != nil {
		return err
	}
	for _, p := range probs {
		fmt.Fprintf(stdout, "%s %s\n", map[string]string{"unexpected": "removed", "stale": "rewrote", "missing": "wrote"}[p.Kind], p.File)
	}
	fmt.Fprintf(stdout, "%s: %d file(s) changed\n", dir, len(probs))
	return nil
}
