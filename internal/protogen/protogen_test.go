package protogen

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The committed code is what the generator writes, and Check names each
// stale, missing and unexpected file of a damaged copy.
func TestCheck(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(root, "spec", "grpcpb")
	probs, err := Check(src, root)
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) > 0 {
		t.Fatalf("spec/grpcpb is stale: %v (run go run ./cmd/icoc proto)", probs)
	}

	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(src, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(dir, "can.pb.go"), []byte("package grpcpb\n"), 0o644)
	_ = os.Remove(filepath.Join(dir, "api_grpc.pb.go"))
	_ = os.WriteFile(filepath.Join(dir, "old.pb.go"), []byte("package grpcpb\n"), 0o644)
	probs, err = Check(dir, root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Problem{{"missing", "api_grpc.pb.go"}, {"stale", "can.pb.go"}, {"unexpected", "old.pb.go"}}
	if !slices.Equal(probs, want) {
		t.Fatalf("problems %v, want %v", probs, want)
	}
	if _, err := Write(dir, root); err != nil {
		t.Fatal(err)
	}
	if probs, _ := Check(dir, root); len(probs) > 0 {
		t.Fatalf("after Write: %v", probs)
	}
}
