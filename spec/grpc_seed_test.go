package spec

// Transcription tests of 7.2.4 (gRPC) beyond Table 7-20: the repaired proto
// listings in grpcpb/ against the seed's listings, the application status
// enum, the services, the size limits and the split size. Each checker
// returns its problems so that TestSeedGRPCCheckersCatchMutations can prove
// it fails on a transcription error.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// protoListings returns the seed's proto listings (the fenced blocks that
// declare proto3), in seed order.
func protoListings(s *seed) [][]string {
	var out [][]string
	var cur []string
	in := false
	for _, l := range s.lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			if in && slices.ContainsFunc(cur, func(x string) bool { return strings.Contains(x, `syntax = "proto3"`) }) {
				out = append(out, cur)
			}
			in, cur = !in, nil
			continue
		}
		if in {
			cur = append(cur, l)
		}
	}
	return out
}

var protoToken = regexp.MustCompile(`//[^\n]*|"[^"]*"|[A-Za-z_][A-Za-z0-9_.]*|\d+|[{}();=\[\],<>]`)

// tokens splits proto text into tokens, comments folded to one token each
// with their spacing normalised.
func tokens(lines []string) []string {
	var out []string
	for _, t := range protoToken.FindAllString(strings.Join(lines, "\n"), -1) {
		if strings.HasPrefix(t, "//") {
			t = "// " + strings.Join(strings.Fields(strings.TrimPrefix(t, "//")), " ")
		}
		out = append(out, t)
	}
	return out
}

// protoRepairs are the repairs of register I-100 besides the braces.
var protoRepairs = map[string]string{"api_i": "api_id"}

// checkProtoListing compares one seed listing with a repaired file: the
// token sequences must be equal once every "}" is dropped (the lost braces)
// and the repairs are applied; the file's leading comment (before
// `syntax`) is its own.
func checkProtoListing(name string, listing []string, file string) []string {
	lines := strings.Split(file, "\n")
	for len(lines) > 0 && !strings.HasPrefix(lines[0], "syntax") {
		lines = lines[1:]
	}
	drop := func(ts []string, repair bool) []string {
		var out []string
		for _, t := range ts {
			if t == "}" {
				continue
			}
			if r, ok := protoRepairs[t]; ok && repair {
				t = r
			}
			out = append(out, t)
		}
		return out
	}
	seedT, fileT := drop(tokens(listing), true), drop(tokens(lines), false)
	if !slices.Equal(seedT, fileT) {
		for i := range min(len(seedT), len(fileT)) {
			if seedT[i] != fileT[i] {
				return []string{fmt.Sprintf("%s: token %d is %q, the seed's listing has %q (only braces and %v may differ, I-100)", name, i, fileT[i], seedT[i], protoRepairs)}
			}
		}
		return []string{fmt.Sprintf("%s: %d tokens, the seed's listing %d (only braces and %v may differ, I-100)", name, len(fileT), len(seedT), protoRepairs)}
	}
	if o, c := strings.Count(strings.Join(lines, "\n"), "{"), strings.Count(strings.Join(lines, "\n"), "}"); o != c {
		return []string{fmt.Sprintf("%s: %d '{' and %d '}'", name, o, c)}
	}
	return nil
}

func readProtos(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, sv := range All().GRPC.Services {
		b, err := os.ReadFile(filepath.Join("grpcpb", sv.Proto))
		if err != nil {
			t.Fatal(err)
		}
		out[sv.Proto] = string(b)
	}
	return out
}

func TestSeedGRPCProtos(t *testing.T) {
	s := loadSeed(t)
	ls := protoListings(s)
	svcs := All().GRPC.Services
	if len(ls) != len(svcs) {
		t.Fatalf("the seed has %d proto listings, the data %d services", len(ls), len(svcs))
	}
	files := readProtos(t)
	for i, sv := range svcs {
		report(t, checkProtoListing(sv.Proto, ls[i], files[sv.Proto]))
	}
}

var (
	rpcRe     = regexp.MustCompile(`rpc (\w+)\((stream )?(\w+)\) returns \((stream )?(\w+)\)`)
	serviceRe = regexp.MustCompile(`service (\w+) \{`)
	packageRe = regexp.MustCompile(`^package ([\w.]+);`)
	enumValRe = regexp.MustCompile(`^\s*([A-Z]+) = (\d+);`)
)

// checkGRPCServices derives each RPC from a listing (package, service, rpc
// line) and compares it with the data.
func checkGRPCServices(ls [][]string, svcs []GRPCService) (problems []string) {
	if len(ls) != len(svcs) {
		return []string{fmt.Sprintf("%d listings, %d services", len(ls), len(svcs))}
	}
	for i, l := range ls {
		text := strings.Join(l, "\n")
		var pkg string
		for _, line := range l {
			if m := packageRe.FindStringSubmatch(line); m != nil {
				pkg = m[1] + "."
			}
		}
		sm, rm := serviceRe.FindStringSubmatch(text), rpcRe.FindStringSubmatch(text)
		if sm == nil || rm == nil {
			problems = append(problems, fmt.Sprintf("listing %d: no service/rpc line", i+1))
			continue
		}
		streaming := "unary"
		switch {
		case rm[2] != "" && rm[4] == "":
			streaming = "client"
		case rm[2] == "" && rm[4] != "":
			streaming = "server"
		case rm[2] != "":
			streaming = "bidi"
		}
		got := GRPCService{Service: pkg + sm[1], Method: rm[1], Path: "/" + pkg + sm[1] + "/" + rm[1], Streaming: streaming, Request: rm[3], Response: rm[5]}
		d := svcs[i]
		want := GRPCService{Service: d.Service, Method: d.Method, Path: d.Path, Streaming: d.Streaming, Request: d.Request, Response: d.Response}
		if got.Service != want.Service || got.Method != want.Method || got.Path != want.Path || got.Streaming != want.Streaming || got.Request != want.Request || got.Response != want.Response {
			problems = append(problems, fmt.Sprintf("listing %d: seed %+v, data %+v", i+1, got, want))
		}
	}
	return problems
}

// checkGRPCAppStatus checks every listing's statuscodes enum and the
// tables' wording of each value against the data.
func checkGRPCAppStatus(s *seed, ls [][]string, st []GRPCAppStatus) (problems []string) {
	for i, l := range ls {
		var vals []GRPCAppStatus
		for _, line := range l {
			if m := enumValRe.FindStringSubmatch(line); m != nil {
				var v int
				fmt.Sscan(m[2], &v)
				vals = append(vals, GRPCAppStatus{Value: v, Name: m[1]})
			}
		}
		if len(vals) != len(st) {
			problems = append(problems, fmt.Sprintf("listing %d: %d enum values, data %d", i+1, len(vals), len(st)))
			continue
		}
		for j, v := range vals {
			if v.Value != st[j].Value || v.Name != st[j].Name {
				problems = append(problems, fmt.Sprintf("listing %d: %s = %d, data %s = %d", i+1, v.Name, v.Value, st[j].Name, st[j].Value))
			}
		}
	}
	for _, a := range st {
		want := fmt.Sprintf("%s (%d): %s", a.Name, a.Value, a.Meaning)
		if n := strings.Count(s.text, want); n < 4 {
			problems = append(problems, fmt.Sprintf("%q: in %d of the 4 response tables", want, n))
		}
	}
	return problems
}

func TestSeedGRPCRules(t *testing.T) {
	s := loadSeed(t)
	ls := protoListings(s)
	g := All().GRPC
	report(t, checkGRPCServices(ls, g.Services))
	report(t, checkGRPCAppStatus(s, ls, g.AppStatus))
	if n := strings.Count(strings.ToLower(s.text), strings.ToLower(g.RetryAfterRule)); n != 4 {
		t.Errorf("the RETRYAFTER sentence is in %d of the 4 response tables", n)
	}
	if n := strings.Count(s.text, "It shall be less than 2048 bytes."); n != len(g.SizeLimits) {
		t.Errorf("the seed has %d \"less than 2048 bytes\" rules, the data %d", n, len(g.SizeLimits))
	}
	for _, l := range g.SizeLimits {
		if l.MaxBytes != 2047 || l.MaxBytes != g.AppDataMaxBytes {
			t.Errorf("%s: max %d, want 2047 (less than 2048)", l.Row, l.MaxBytes)
		}
	}
	for _, w := range []string{"required bytes\tapp_data\t4\tArbitrary data for each application. It shall be less than 2048 bytes.", "Any data in the API response.", "It shall be less than 2048 bytes."} {
		if !strings.Contains(s.text, w) {
			t.Errorf("seed lacks %q", w)
		}
	}
	if !strings.Contains(s.text, "the preferred split size should be about 1MB") || g.SplitSizeBytes != 1<<20 {
		t.Errorf("7.2.4.1 split: data %d bytes, seed \"about 1MB\"", g.SplitSizeBytes)
	}
	if !strings.Contains(s.text, "The gRPC version to be supported is v"+g.MinVersion+" or later.") {
		t.Errorf("7.2.4.1: min version %s not in the seed", g.MinVersion)
	}
}

func TestSeedGRPCCheckersCatchMutations(t *testing.T) {
	s := loadSeed(t)
	ls := protoListings(s)
	files := readProtos(t)
	mustFail := func(name string, problems []string) {
		t.Helper()
		if len(problems) == 0 {
			t.Errorf("%s: the seed check did not catch the mutation", name)
		}
	}
	can := files["can.proto"]
	mustFail("field number", checkProtoListing("can.proto", ls[0], strings.Replace(can, "bytes data = 2;", "bytes data = 3;", 1)))
	mustFail("field name", checkProtoListing("can.proto", ls[0], strings.Replace(can, "retry_after_sec", "retry_after_s", 1)))
	mustFail("extra field", checkProtoListing("can.proto", ls[0], strings.Replace(can, " bytes data = 2;", " bytes data = 2;\n int32 x = 3;", 1)))
	mustFail("unbalanced", checkProtoListing("can.proto", ls[0], can+"}\n"))
	mustFail("api_i kept", checkProtoListing("api.proto", ls[2], strings.Replace(files["api.proto"], "fixed32 api_id", "fixed32 api_i", 1)))
	mustFail("DlService", checkProtoListing("dl.proto", ls[3], strings.Replace(files["dl.proto"], "service DIService", "service DlService", 1)))

	g := All().GRPC
	svc := slices.Clone(g.Services)
	svc[1].Service = "PushService"
	mustFail("push without package", checkGRPCServices(ls, svc))
	svc = slices.Clone(g.Services)
	svc[0].Streaming = "unary"
	mustFail("streaming", checkGRPCServices(ls, svc))
	mustFail("service missing", checkGRPCServices(ls, g.Services[:3]))
	st := slices.Clone(g.AppStatus)
	st[2].Value = 3
	mustFail("enum value", checkGRPCAppStatus(s, ls, st))
	st = slices.Clone(g.AppStatus)
	st[1].Meaning = "Wait."
	mustFail("meaning", checkGRPCAppStatus(s, ls, st))
}
