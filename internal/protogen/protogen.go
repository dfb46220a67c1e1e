// Package protogen generates the Go code of the gRPC protos of 7.2.4.4
// (spec/grpcpb/*.proto) without protoc: bufbuild/protocompile parses and
// links the protos in process, protoc-gen-go's generator
// (google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo) writes the
// messages in process, and protoc-gen-go-grpc, pinned by go.mod's tool
// directive, writes the service stubs from the same CodeGeneratorRequest
// on its standard input (`go tool protoc-gen-go-grpc`). `icoc proto`
// writes the files; `icoc proto -check` fails when the committed ones are
// stale.
package protogen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile"
	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// GoPackage is the Go import path of the generated code. The seed's protos
// have no go_package option (register I-100), so every file is mapped here
// with protoc's M parameter.
const GoPackage = "github.com/icoc-dev/icoc/spec/grpcpb"

// Protos lists the proto files of 7.2.4.4, in the order of the seed.
var Protos = []string{"can.proto", "push.proto", "api.proto", "dl.proto"}

// Request compiles the protos in dir and returns the CodeGeneratorRequest a
// protoc plugin would receive for them (no compiler version: the files
// read "protoc (unknown)").
func Request(dir string) (*pluginpb.CodeGeneratorRequest, error) {
	c := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{dir}}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	files, err := c.Compile(context.Background(), Protos...)
	if err != nil {
		return nil, fmt.Errorf("compiling the protos in %s: %w", dir, err)
	}
	var params []string
	for _, p := range Protos {
		params = append(params, "M"+p+"="+GoPackage+";grpcpb")
	}
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: Protos,
		Parameter:      proto.String(strings.Join(params, ",")),
	}
	for _, f := range files {
		req.ProtoFile = append(req.ProtoFile, protodesc.ToFileDescriptorProto(f))
	}
	return req, nil
}

// Generate returns the generated files (name -> content) for the protos in
// dir: <name>.pb.go from protoc-gen-go and <name>_grpc.pb.go from
// protoc-gen-go-grpc. moduleRoot is where `go tool` runs.
func Generate(dir, moduleRoot string) (map[string][]byte, error) {
	req, err := Request(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	if err := genMessages(req, out); err != nil {
		return nil, err
	}
	if err := genServices(req, moduleRoot, out); err != nil {
		return nil, err
	}
	return out, nil
}

func genMessages(req *pluginpb.CodeGeneratorRequest, out map[string][]byte) error {
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		return fmt.Errorf("protoc-gen-go: %w", err)
	}
	for _, f := range gen.Files {
		if f.Generate {
			gengo.GenerateFile(gen, f)
		}
	}
	gen.SupportedFeatures = gengo.SupportedFeatures
	resp := gen.Response()
	return collect("protoc-gen-go", resp, out)
}

func genServices(req *pluginpb.CodeGeneratorRequest, moduleRoot string, out map[string][]byte) error {
	in, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	cmd := exec.Command(goCommand(), "tool", "protoc-gen-go-grpc")
	cmd.Dir = moduleRoot
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go tool protoc-gen-go-grpc (in %s): %v: %s", moduleRoot, err, strings.TrimSpace(stderr.String()))
	}
	var resp pluginpb.CodeGeneratorResponse
	if err := proto.Unmarshal(stdout.Bytes(), &resp); err != nil {
		return fmt.Errorf("protoc-gen-go-grpc: unreadable response: %w", err)
	}
	return collect("protoc-gen-go-grpc", &resp, out)
}

func collect(plugin string, resp *pluginpb.CodeGeneratorResponse, out map[string][]byte) error {
	if resp.Error != nil {
		return fmt.Errorf("%s: %s", plugin, resp.GetError())
	}
	for _, f := range resp.File {
		name := filepath.Base(f.GetName()) // the M mapping puts every file in one package
		out[name] = []byte(f.GetContent())
	}
	return nil
}

func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// Problem is one generated file that differs from what is committed:
// Kind is "stale", "missing" or "unexpected".
type Problem struct {
	Kind string
	File string
}

// Check compares the generated files with those in dir (every *.pb.go) and
// returns what differs, sorted by file name; nothing when up to date.
func Check(dir, moduleRoot string) ([]Problem, error) {
	want, err := Generate(dir, moduleRoot)
	if err != nil {
		return nil, err
	}
	var probs []Problem
	for name, b := range want {
		have, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case os.IsNotExist(err):
			probs = append(probs, Problem{"missing", name})
		case err != nil:
			return nil, err
		case !bytes.Equal(have, b):
			probs = append(probs, Problem{"stale", name})
		}
	}
	have, _ := filepath.Glob(filepath.Join(dir, "*.pb.go"))
	for _, p := range have {
		if _, ok := want[filepath.Base(p)]; !ok {
			probs = append(probs, Problem{"unexpected", filepath.Base(p)})
		}
	}
	sort.Slice(probs, func(i, j int) bool { return probs[i].File < probs[j].File })
	return probs, nil
}

// Write writes the generated files into dir and removes *.pb.go files the
// generator no longer writes; it returns what changed.
func Write(dir, moduleRoot string) ([]Problem, error) {
	probs, err := Check(dir, moduleRoot)
	if err != nil {
		return nil, err
	}
	files, err := Generate(dir, moduleRoot)
	if err != nil {
		return nil, err
	}
	for _, p := range probs {
		path := filepath.Join(dir, p.File)
		if p.Kind == "unexpected" {
			if err := os.Remove(path); err != nil {
				return nil, err
			}
			continue
		}
		if err := os.WriteFile(path, files[p.File], 0o644); err != nil {
			return nil, err
		}
	}
	return probs, nil
}

// Descriptors returns the linked descriptors of the protos in dir as a
// FileDescriptorSet (for tools such as grpcurl's -protoset).
func Descriptors(dir string) (*descriptorpb.FileDescriptorSet, error) {
	req, err := Request(dir)
	if err != nil {
		return nil, err
	}
	return &descriptorpb.FileDescriptorSet{File: req.ProtoFile}, nil
}
