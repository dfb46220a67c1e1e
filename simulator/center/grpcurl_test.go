package center

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// grpcurl runs the grpcurl command line the README shows (grpcurl, pinned
// by tools/grpcurl.mod, built by the go command from the module proxy)
// against the center's gRPC port, with the vehicle's client certificate
// and the repaired protos; it returns what grpcurl printed and whether it
// succeeded.
func grpcurl(t *testing.T, s *Server, stdin string, args ...string) (string, bool) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: this test builds grpcurl with it (go tool -modfile=tools/grpcurl.mod grpcurl)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "grpcurl.mod")); err != nil {
		t.Fatal(err)
	}
	base := []string{"tool", "-modfile=tools/grpcurl.mod", "grpcurl",
		"-cacert", pki.Path(pki.Root.CertFile()),
		"-cert", pki.Path(pki.Vehicle.ChainFile()), "-key", pki.Path(pki.Vehicle.KeyFile()),
		"-servername", pki.CenterHost,
		"-import-path", filepath.Join(root, "spec", "grpcpb"),
		"-proto", "can.proto", "-proto", "push.proto", "-proto", "api.proto", "-proto", "dl.proto",
	}
	cmd := exec.Command(goCmd, append(base, args...)...)
	cmd.Dir = root
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok || strings.Contains(string(out), "go: ") && strings.Contains(string(out), "proxy") {
			t.Skipf("grpcurl could not be built or run (module proxy unreachable?): %v\n%s", err, out)
		}
	}
	return string(out), err == nil
}

// The center answers an outside gRPC client (grpcurl, with the vehicle's
// client certificate): a good API call is OK, one without vehicle_id is
// refused INVALID_ARGUMENT, a client-streaming upload and a
// server-streaming download work.
func TestGRPCurl(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: grpcurl is built from the module proxy")
	}
	s, _, _ := startGRPCCenter(t)
	addr := s.GRPCAddr()

	out, ok := grpcurl(t, s, "", "-H", "vehicle_id: "+pki.TestVIN, "-d", `{"apiId": 42, "data": "aGVsbG8="}`, addr, "ApiService/CallApi")
	want := base64.StdEncoding.EncodeToString([]byte("API 42 called"))
	if !ok || !strings.Contains(out, want) {
		t.Errorf("CallApi: ok %v\n%s", ok, out)
	}
	if calls := s.Calls(); len(calls) != 1 || string(calls[0].Body) != "hello" {
		t.Errorf("calls %+v", calls)
	}

	out, ok = grpcurl(t, s, "", "-d", `{"apiId": 42}`, addr, "ApiService/CallApi")
	if ok || !strings.Contains(out, "InvalidArgument") || !strings.Contains(out, "vehicle_id") {
		t.Errorf("CallApi without vehicle_id: ok %v\n%s", ok, out)
	}

	out, ok = grpcurl(t, s, `{"data": "Y2FuIDE="} {"data": "Y2FuIDI="}`, "-H", "vehicle_id: "+pki.TestVIN, "-d", "@", addr, "CanService/SendCans")
	if !ok || len(s.Store().Files()) != 1 || string(s.Store().Files()[0].Data) != "can 1can 2" {
		t.Errorf("SendCans: ok %v, %d files\n%s", ok, len(s.Store().Files()), out)
	}

	s.Offer("dl_00001.bin", []byte("downloaded"))
	name := base64.StdEncoding.EncodeToString([]byte("dl_00001.bin"))
	out, ok = grpcurl(t, s, "", "-H", "vehicle_id: "+pki.TestVIN, "-d", `{"data": "`+name+`"}`, addr, "DIService/Download")
	if !ok || !strings.Contains(out, base64.StdEncoding.EncodeToString([]byte("downloaded"))) {
		t.Errorf("Download: ok %v\n%s", ok, out)
	}
}
