package vehicle

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/simulator/bench"
	"golang.org/x/net/http2"
)

func init() {
	registerQuirk(QuirkInfo{Name: "no-push-connection", Clause: "7.2.3.9.2, 6.1.2", Breaks: "keeps no push connection"})
	registerQuirk(QuirkInfo{Name: "push-refuse", Clause: "7.2.3.9.2", Breaks: "answers every push 500 ERROR"})
	registerQuirk(QuirkInfo{Name: "no-readout", Clause: "7.2.3.9.2, Appendix 1 §2", Breaks: "answers a readout push (app ID 2078) but uploads nothing for it"})
}

// pushALPN is the ALPN token of the push connection; it matches
// center.PushALPN (the vehicle does not import the center).
const pushALPN = "icoc-push/h2"

// Push is one push the vehicle received.
type Push struct {
	AppID, SubID uint32
	Body         []byte
	At           time.Time
}

type pushLog struct {
	mu     sync.Mutex
	pushes []Push
}

// Pushes returns every push received, in order.
func (v *Vehicle) Pushes() []Push {
	v.pushes.mu.Lock()
	defer v.pushes.mu.Unlock()
	return append([]Push(nil), v.pushes.pushes...)
}

// pushKeeper holds the push connection (7.2.3.9.2, register I-060) while
// the session preconditions hold: it dials the center offering only the
// push ALPN token, serves HTTP/2 on that connection (the center is the
// client), and dials again 3 s (spec) after it is lost.
func (v *Vehicle) pushKeeper(ctx context.Context) {
	if v.cfg.Uplink == UplinkGRPC {
		v.grpcPushKeeper(ctx) // on the gRPC channel (7.2.4.4.2)
		return
	}
	if !v.cfg.Push || !v.cfg.HTTP2 || v.quirks.Has("no-push-connection") {
		return
	}
	for ctx.Err() == nil {
		v.mu.Lock()
		pctx := v.power
		v.mu.Unlock()
		if pctx != nil && v.sessionReady(pctx) {
			if err := v.servePush(pctx); err != nil && ctx.Err() == nil {
				v.logf("vehicle: push connection: %v", err)
			}
		}
		if !v.sleep(ctx, 3*time.Second) {
			return
		}
	}
}

// servePush dials one push connection and serves it until it closes.
func (v *Vehicle) servePush(ctx context.Context) error {
	addr := v.base.Host
	if v.cfg.CenterAddr != "" {
		addr = v.cfg.CenterAddr
	}
	tc := v.tls.Clone()
	tc.NextProtos = []string{pushALPN}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: v.cfg.wall(5 * time.Second)}, Config: tc}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	conn := c.(*tls.Conn)
	if conn.ConnectionState().NegotiatedProtocol != pushALPN {
		_ = conn.Close()
		return errNoPush
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	(&http2.Server{}).ServeConn(conn, &http2.ServeConnOpts{Context: ctx, Handler: http.HandlerFunc(v.onPush)})
	return nil
}

var errNoPush = errors.New("the center does not offer the push connection")

// onPush answers one push: POST /push/{app_id}/{sub_id} with this vehicle's
// vehicle_id gets 200 SUCCESS; anything else 400 ERROR.
func (v *Vehicle) onPush(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	answer := func(status int, msg string) {
		res := map[string]any{"status": "SUCCESS", "messages": []string{msg}}
		if status != http.StatusOK {
			res["status"] = "ERROR"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(res)
	}
	if v.quirks.Has("push-refuse") {
		answer(http.StatusInternalServerError, "refused")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if r.Method != http.MethodPost || len(parts) != 3 || parts[0] != "push" {
		answer(http.StatusBadRequest, "want POST /push/{app_id}/{sub_id}")
		return
	}
	app, err1 := strconv.ParseUint(parts[1], 10, 32)
	sub, err2 := strconv.ParseUint(parts[2], 10, 32)
	if err1 != nil || err2 != nil {
		answer(http.StatusBadRequest, "app_id and sub_id are 32-bit integers")
		return
	}
	if r.Header.Get(v.cfg.VehicleIDHeader) != v.VIN() {
		answer(http.StatusBadRequest, "vehicle_id is not this vehicle's VIN")
		return
	}
	v.pushes.mu.Lock()
	v.pushes.pushes = append(v.pushes.pushes, Push{AppID: uint32(app), SubID: uint32(sub), Body: body, At: time.Now()})
	v.pushes.mu.Unlock()
	answer(http.StatusOK, "push received")
	if uint32(app) == bench.ReadoutAppID && !v.quirks.Has("no-readout") {
		// A readout: upload the CAN data now, named with the push's sub ID
		// as the request ID (Appendix 1 §2, trigger m: by the center).
		v.request(dataRequest{trigger: bench.UploadTrigger{RealTime: true, Trigger: 'm', RequestID: uint32(sub)}, at: time.Now().UTC()}, false)
	}
}
