package center

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// PushALPN is the ALPN token of the push connection (7.2.3.9.2, register
// I-060): the vehicle opens a TLS connection to the center offering only
// this token and keeps it (6.1.2: the push connection is always on); on it
// the roles of HTTP/2 are reversed, so the center is the HTTP/2 client and
// sends the push as POST /push/{app_id}/{sub_id} with the vehicle_id header,
// exactly as the push API document describes, and the vehicle answers with
// a Result.
const PushALPN = "icoc-push/h2"

// PushResult is the vehicle's answer to one push.
type PushResult struct {
	Status int
	Body   []byte
	// Result is the decoded Result body, when it is one.
	Result *Result
}

type pushConn struct {
	vin string
	cc  *http2.ClientConn
	at  time.Time
}

// pushHub keeps the push connection of each vehicle, by VIN.
type pushHub struct {
	mu    sync.Mutex
	conns map[string]*pushConn
}

// attachPush takes over a finished handshake that negotiated PushALPN.
func (s *Server) attachPush(tc *tls.Conn, hs HandshakeInfo) {
	vin := ""
	if len(hs.PeerCertificates) > 0 {
		vin = hs.PeerCertificates[0].Subject.CommonName
	}
	cc, err := (&http2.Transport{}).NewClientConn(tc)
	if err != nil {
		s.logf("center: push connection from %s: %v", vin, err)
		_ = tc.Close()
		return
	}
	s.push.mu.Lock()
	if s.push.conns == nil {
		s.push.conns = map[string]*pushConn{}
	}
	if old := s.push.conns[vin]; old != nil {
		_ = old.cc.Close()
	}
	s.push.conns[vin] = &pushConn{vin: vin, cc: cc, at: time.Now()}
	s.push.mu.Unlock()
	s.logf("center: push connection from %s kept", vin)
}

// PushConnected reports whether the vehicle vin holds a push connection.
func (s *Server) PushConnected(vin string) bool {
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	pc := s.push.conns[vin]
	return pc != nil && pc.cc.CanTakeNewRequest()
}

// ErrNoPushConnection says the vehicle holds no push connection.
var ErrNoPushConnection = errors.New("the vehicle holds no push connection")

// Push sends one push to vehicle vin over its push connection: POST
// /push/{appID}/{subID} with the vehicle_id header and body.
func (s *Server) Push(ctx context.Context, vin string, appID, subID uint32, body []byte) (PushResult, error) {
	path := fmt.Sprintf("/push/%d/%d", appID, subID)
	switch a := s.Outbound(&Outbound{Kind: "vehicle-push", Peer: vin, Method: http.MethodPost, Path: path}); {
	case a.Drop:
		return PushResult{}, fmt.Errorf("%w (%s)", ErrNoPushConnection, a.By)
	case a.Status != 0:
		return PushResult{Status: a.Status}, nil
	}
	s.push.mu.Lock()
	pc := s.push.conns[vin]
	s.push.mu.Unlock()
	if pc == nil || !pc.cc.CanTakeNewRequest() {
		return PushResult{}, ErrNoPushConnection
	}
	url := "https://" + vin + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return PushResult{}, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(s.cfg.VehicleIDHeader, vin)
	resp, err := pc.cc.RoundTrip(req)
	if err != nil {
		return PushResult{}, fmt.Errorf("push to %s: %w", vin, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	out := PushResult{Status: resp.StatusCode, Body: b}
	var r Result
	if json.Unmarshal(b, &r) == nil && r.Status != "" {
		out.Result = &r
	}
	return out, nil
}
