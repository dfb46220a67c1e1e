package visscases

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"
	"github.com/icoc-dev/icoc/spec/viss"
)

// v3.0 TRANSPORT 4.1.1.1 / Gen2 TRANSPORT 5.2.1.1 (Initialization) and
// 002 6.1 (Transport security).
func init() {
	add(&specDef{
		topic: "subprotocol",
		// "The sub-protocol name SHALL be 'VISSv3' with the digit 3 being the version number."
		v3: &clause{"T4.1.1.1", "The sub-protocol name SHALL be 'VISSv3' with the digit 3 being the version number."},
		// "The sub-protocol name SHALL be 'gen2' with a version number suffix, e.g. gen21.0."
		gen2:     &clause{"T5.2.1.1", "The sub-protocol name SHALL be 'gen2' with a version number suffix, e.g. gen21.0."},
		text:     "a WebSocket that offers the subprotocol VISSv3 gets it selected in the handshake",
		gen2Text: "a WebSocket that offers the subprotocol gen21.0 gets it selected in the handshake",
		quirks:   []string{"subprotocol-ignored"},
		body: func(t *T) {
			c := t.dial()
			t.check(c.Subprotocol == t.d.Subprotocol, "Sec-WebSocket-Protocol: "+t.d.Subprotocol+" in the server's handshake answer (register I-287)",
				"Sec-WebSocket-Protocol: "+quoteEmpty(c.Subprotocol))
		},
	}, &specDef{
		topic: "ws-refused",
		// "All WebSocket communications between the client and server MUST use 'wss' (WebSocket Secure). Non encrypted communication is not supported, hence the server MUST reject 'ws' connection requests."
		v3: &clause{"T4.1.1.1", "All WebSocket communications between the client and server MUST use 'wss' (WebSocket Secure). Non encrypted communication is not supported, hence the server MUST reject 'ws' connection requests."},
		// "All WebSocket communications between the client and server MUST be over 'wss'. Non encrypted communication is not supported, hence the server MUST refuse 'ws' connection requests."
		gen2:   &clause{"T5.2.1.1", "All WebSocket communications between the client and server MUST be over 'wss'. Non encrypted communication is not supported, hence the server MUST refuse 'ws' connection requests."},
		text:   "a plain-text ws:// WebSocket to the wss endpoint is refused",
		quirks: []string{"plain-ws-accepted"},
		body: func(t *T) {
			u, err := url.Parse(t.ep.WS)
			if err != nil {
				t.fail("a wss:// endpoint in the profile", err.Error())
			}
			u.Scheme = "ws"
			ctx, cancel := context.WithTimeout(t.ctx, t.s.answerTimeout())
			defer cancel()
			c, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{Subprotocols: []string{t.d.Subprotocol}, HTTPClient: &http.Client{}})
			if err == nil {
				c.CloseNow()
				t.fail("no WebSocket over plain text (no 101 Switching Protocols; register I-288)", "101 Switching Protocols to "+u.String()+", subprotocol "+quoteEmpty(resp.Header.Get("Sec-WebSocket-Protocol")))
			}
		},
	}, &specDef{
		topic: "tls",
		// "Transport protocols supported by this specification MUST make use of TLS v1.2 as defined in [[RFC5246]]."
		v3:     &clause{"6.1", "Transport protocols supported by this specification MUST make use of TLS v1.2 as defined in [[RFC5246]]."},
		text:   "a client that offers only TLS 1.0 and 1.1 is refused",
		quirks: []string{"tls-1.1"},
		body: func(t *T) {
			u, _ := url.Parse(t.ep.WS)
			cfg := t.run().VISS.TLS.Clone()
			cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
			d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: t.s.answerTimeout()}, Config: cfg}
			c, err := d.DialContext(t.ctx, "tcp", u.Host)
			if err == nil {
				v := c.(*tls.Conn).ConnectionState().Version
				c.Close()
				t.fail("the handshake refused: TLS 1.2 or later only (register I-268)", "a "+tls.VersionName(v)+" session with "+u.Host)
			}
		},
	})
}

func quoteEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(none)"
	}
	return s
}

var _ = vissspec.V3
