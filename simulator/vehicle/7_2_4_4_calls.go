package vehicle

import (
	"context"
	"crypto/sha256"
	"io"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/icoc-dev/icoc/spec/grpcpb"
)

// The calls of 7.2.4.4 as the reference vehicle makes them over its gRPC
// channel (7_2_4_grpc.go).

func init() {
	registerQuirk(QuirkInfo{Name: "grpc-no-push", Clause: "7.2.4.4.2, Table A2-1", Breaks: "keeps no gRPC push stream"})
	registerQuirk(QuirkInfo{Name: "grpc-push-no-vehicle-id", Clause: "7.2.4.4, 7.2.4.4.2", Breaks: "opens the push stream without vehicle_id metadata"})
	registerQuirk(QuirkInfo{Name: "grpc-push-end-on-notification", Clause: "7.2.4.4.2 (I-105)", Breaks: "cancels the push stream when a notification arrives (and opens it again 3 s later)"})
	registerQuirk(QuirkInfo{Name: "grpc-push-ignore-retryafter", Clause: "7.2.4.4.2 Table 7-15 RETRYAFTER", Breaks: "re-opens the push stream 3 s after a RETRYAFTER status instead of retry_after_sec"})
	registerQuirk(QuirkInfo{Name: "grpc-download-first-only", Clause: "7.2.4.4.4, 7.2.4.1", Breaks: "cancels a streamed download after its first message"})
}

const pushMethod = "/service.push.PushService/GetPushNotifications"

// responseTimeout is how long the vehicle waits for an answer once its
// request is sent (7.2.2.5 by I-110; quirk response-timeout).
func (v *Vehicle) responseTimeout() time.Duration {
	return v.cfg.wall(time.Duration(v.quirks.Int("response-timeout", int(v.doc.HTTPResponseTimeout()/time.Second))) * time.Second)
}

// sendCans makes one SendCans call (7.2.4.4.1): the data in messages of
// about 1 MB (7.2.4.1, I-106), the whole call compressed when a message
// reaches 2048 bytes (I-107); the answer is awaited 60 s (spec) after the
// last message (I-110).
func (v *Vehicle) sendCans(ctx context.Context, data []byte) grpcResult {
	cc, gen, err := v.grpc.conn()
	if err != nil {
		return grpcResult{code: 14, msg: err.Error()}
	}
	split := v.quirks.Int("grpc-split", v.doc.GRPC.SplitSizeBytes)
	var msgs []*grpcpb.CanRequest
	largest := 0
	for off := 0; off == 0 || off < len(data); off += split {
		m := &grpcpb.CanRequest{Data: data[off:min(off+split, len(data))]}
		if v.quirks.Has("grpc-proto-vehicle-id") {
			m.VehicleId = v.VIN()
		}
		largest = max(largest, proto.Size(m))
		msgs = append(msgs, m)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := grpcpb.NewCanServiceClient(cc).SendCans(ctx, compressor(v.compress(largest))...)
	if err != nil {
		return v.result(err, gen)
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break // the status comes with CloseAndRecv
		}
	}
	t := time.AfterFunc(v.responseTimeout(), cancel)
	defer t.Stop()
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return v.result(err, gen)
	}
	st := resp.GetStatus()
	return grpcResult{app: int(st.GetStatus()), retryAfter: st.GetRetryAfterSec()}
}

// grpcAPICall is ApiService.CallApi (7.2.4.4.3) with api_id number; the
// data carries the request ID, as over HTTP. It is retried by the
// real-time rule (I-110).
func (v *Vehicle) grpcAPICall(number int, requestID uint32) exchange {
	req := &grpcpb.ApiRequest{ApiId: uint32(number), Data: []byte("request " + RequestIDText(requestID))}
	return exchange{name: "gRPC API call " + strconv.Itoa(number), ruleID: "upload-realtime", grpcSend: func(ctx context.Context) grpcResult {
		cc, gen, err := v.grpc.conn()
		if err != nil {
			return grpcResult{code: 14, msg: err.Error()}
		}
		r := proto.Clone(req).(*grpcpb.ApiRequest)
		if v.quirks.Has("grpc-proto-vehicle-id") {
			r.VehicleId = v.VIN()
		}
		ctx, cancel := context.WithTimeout(ctx, v.responseTimeout())
		defer cancel()
		resp, err := grpcpb.NewApiServiceClient(cc).CallApi(ctx, r, compressor(v.compress(proto.Size(r)))...)
		if err != nil {
			return v.result(err, gen)
		}
		return grpcResult{app: int(resp.GetStatus().GetStatus()), retryAfter: resp.GetStatus().GetRetryAfterSec()}
	}}
}

// Download is one file the vehicle downloaded over gRPC, reassembled from
// its messages.
type Download struct {
	Name     string
	Size     int
	Messages int
	SHA256   [32]byte
	At       time.Time
}

type downloadLog struct {
	mu  sync.Mutex
	all []Download
}

// Downloads returns every gRPC download completed, in order.
func (v *Vehicle) Downloads() []Download {
	v.downloads.mu.Lock()
	defer v.downloads.mu.Unlock()
	return append([]Download(nil), v.downloads.all...)
}

// grpcDownload is DIService.Download (7.2.4.4.4): the request's data names
// the file; the answer's messages are reassembled in order. Downloads are
// never retried (7.2.2.6 N/A, I-110).
func (v *Vehicle) grpcDownload(name string) exchange {
	return exchange{name: "gRPC download " + name, ruleID: "download", grpcSend: func(ctx context.Context) grpcResult {
		cc, gen, err := v.grpc.conn()
		if err != nil {
			return grpcResult{code: 14, msg: err.Error()}
		}
		req := &grpcpb.DIRequest{Data: []byte(name)}
		if v.quirks.Has("grpc-proto-vehicle-id") {
			req.VehicleId = v.VIN()
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := grpcpb.NewDIServiceClient(cc).Download(ctx, req)
		if err != nil {
			return v.result(err, gen)
		}
		var data []byte
		n := 0
		for {
			t := time.AfterFunc(v.responseTimeout(), cancel)
			m, err := stream.Recv()
			t.Stop()
			if err == io.EOF {
				break
			}
			if err != nil {
				return v.result(err, gen)
			}
			n++
			if st := m.GetStatus(); st.GetStatus() != grpcpb.DIResponse_Status_OK {
				return grpcResult{app: int(st.GetStatus()), retryAfter: st.GetRetryAfterSec()}
			}
			data = append(data, m.GetStatus().GetData()...)
			if v.quirks.Has("grpc-download-first-only") {
				cancel()
				return grpcResult{}
			}
		}
		v.downloads.mu.Lock()
		v.downloads.all = append(v.downloads.all, Download{Name: name, Size: len(data), Messages: n, SHA256: sha256.Sum256(data), At: time.Now()})
		v.downloads.mu.Unlock()
		v.logf("vehicle: gRPC download %s: %d bytes in %d messages", name, len(data), n)
		return grpcResult{}
	}}
}

// grpcPushKeeper holds the push stream (7.2.4.4.2, I-105) on the channel
// while the session preconditions hold, and opens it again 3 s (spec)
// after it ends, or retry_after_sec after a RETRYAFTER status (I-103).
func (v *Vehicle) grpcPushKeeper(ctx context.Context) {
	if !v.cfg.Push || v.quirks.Has("grpc-no-push") {
		return
	}
	for ctx.Err() == nil {
		v.mu.Lock()
		pctx := v.power
		v.mu.Unlock()
		wait := 3 * time.Second
		if pctx != nil && v.sessionReady(pctx) {
			if ra, ok := v.grpcPushStream(pctx); ok {
				wait = ra
			}
		}
		if !v.sleep(ctx, wait) {
			return
		}
	}
}

// grpcPushStream keeps one push stream until it ends; ok is set with the
// wait before the next one when a RETRYAFTER status ended it.
func (v *Vehicle) grpcPushStream(ctx context.Context) (time.Duration, bool) {
	cc, _, err := v.grpc.conn()
	if err != nil {
		v.logf("vehicle: gRPC push: %v", err)
		return 0, false
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := grpcpb.NewPushServiceClient(cc).GetPushNotifications(ctx, &grpcpb.Request{}, grpc.WaitForReady(false))
	if err != nil {
		v.logf("vehicle: gRPC push stream: %v", err)
		return 0, false
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			if ctx.Err() == nil {
				v.logf("vehicle: gRPC push stream ended: %v", err)
			}
			return 0, false
		}
		if st := m.GetMsgStatus(); st != nil && st.GetSrvResponseCode() == grpcpb.Response_PushServerStatus_RETRYAFTER {
			if v.quirks.Has("grpc-push-ignore-retryafter") {
				cancel()
				return 3 * time.Second, true
			}
			if !v.quirks.Has("grpc-retryafter-keep-channel") {
				v.grpc.close("push stream: RETRYAFTER (I-103)")
			}
			cancel()
			return time.Duration(st.GetRetryAfterSec()) * time.Second, true
		}
		if n := m.GetMsgNotification(); n != nil {
			v.pushes.mu.Lock()
			v.pushes.pushes = append(v.pushes.pushes, Push{AppID: n.GetAppId(), SubID: n.GetSubId(), Body: append([]byte(nil), n.GetAppData()...), At: time.Now()})
			v.pushes.mu.Unlock()
			v.logf("vehicle: gRPC push app %d sub %d (%d bytes)", n.GetAppId(), n.GetSubId(), len(n.GetAppData()))
			if v.quirks.Has("grpc-push-end-on-notification") {
				return 0, false
			}
		}
	}
}
