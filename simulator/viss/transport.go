package viss

// Transport carries VISS messages between clients and a server: the seam
// for message transports. A transport opens a session for each client
// (a WebSocket connection; for MQTT, each client's response topic, v3.0
// TRANSPORT 4.3.1), hands every request message to the session, and sends
// what the session gives back. The WebSocket transport is built into
// Server (ws.go); VISS over MQTT is the Transport MQTT (mqtt.go,
// register I-299), which the reference vehicle attaches.
type Transport interface {
	// Name is the Server tree's protocol name (ws, mqtt).
	Name() string
	// Run serves until the server closes.
	Run(h Sessions) error
	// Close stops the transport.
	Close() error
}

// Sessions is what a Server offers a Transport.
type Sessions interface {
	// Open starts a session whose messages leave through send, in order.
	Open(send func([]byte) error) Session
}

// Session is one client of a Transport.
type Session interface {
	// Receive handles one request message.
	Receive(raw []byte)
	// Close ends the session and its subscriptions.
	Close()
}

// Open implements Sessions.
func (srv *Server) Open(send func([]byte) error) Session { return sessionHandle{srv.newSession(send)} }

type sessionHandle struct{ s *session }

// Receive implements Session.
func (h sessionHandle) Receive(raw []byte) { h.s.srv.receive(h.s, raw) }

// Close implements Session.
func (h sessionHandle) Close() { h.s.close() }

// Attach runs an extra transport on the server until the server closes.
func (srv *Server) Attach(t Transport) {
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		if err := t.Run(srv); err != nil {
			srv.svc.logf("viss: %s transport: %v", t.Name(), err)
		}
	}()
}
