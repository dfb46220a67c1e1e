package viss

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

// peerScript is a WebSocket client nobody here wrote (the Python
// websockets library): it opens wss with the dialect's subprotocol, prints
// the subprotocol the server selected, sends one request and prints the
// answer.
const peerScript = `
import asyncio, json, ssl, sys
import websockets
async def main(url, proto, ca, host, req):
    ctx = ssl.create_default_context(cafile=ca)
    async with websockets.connect(url, subprotocols=[proto], ssl=ctx, server_hostname=host) as ws:
        print(ws.subprotocol)
        await ws.send(req)
        print(await ws.recv())
asyncio.run(main(*sys.argv[1:]))
`

// pythonWebsockets finds a python3 with the websockets library.
func pythonWebsockets(t *testing.T) string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if bin, err := exec.LookPath(p); err == nil && exec.Command(bin, "-c", "import websockets").Run() == nil {
			return bin
		}
	}
	t.Skip("no python3 with the websockets library: this test drives it as an outside WebSocket client (Debian package python3-websockets)")
	return ""
}

// TestPythonWebsockets talks to both reference servers with Python's
// websockets client.
func TestPythonWebsockets(t *testing.T) {
	py := pythonWebsockets(t)
	s := startService(t)
	s.OnFrame(speed(t, 12.5), time.Now())
	for i, tc := range []struct{ proto, req, want string }{
		{"VISSv3", `{"action":"get","path":"Vehicle.Speed","requestId":"1"}`, `"value":"12.5"`},
		{"gen21.0", `{"action":"get","path":"Vehicle/Speed","requestId":"1"}`, `"value":"12.5"`},
	} {
		ep := s.Endpoints()[i]
		out, err := exec.Command(py, "-c", peerScript, ep.WS, tc.proto, pki.Path(pki.Root.CertFile()), pki.VISSHost, tc.req).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.proto, err, out)
		}
		proto, answer, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		if proto != tc.proto || !strings.Contains(answer, tc.want) {
			t.Errorf("%s: subprotocol %q, answer %s", tc.proto, proto, answer)
		}
	}
}
