package center

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/icoc-dev/icoc/spec/grpcpb"
)

// Push from the center over gRPC (7.2.4.4.2, Table 7-15, register I-105):
// the vehicle opens service.push.PushService.GetPushNotifications, an
// empty Request and a server stream of Response, and keeps it; the center
// sends each push (msg_notification) or server status (msg_status) on it
// when asked (GRPCPush).

// grpcPushHub keeps the open push streams, by VIN.
type grpcPushHub struct {
	mu      sync.Mutex
	streams map[string][]*grpcPushStream
}

type grpcPushStream struct {
	vin  string
	out  chan grpcPushMsg
	done chan struct{}
	at   time.Time
}

type grpcPushMsg struct {
	resp *grpcpb.Response
	end  bool
	sent chan error
}

func (h *grpcPushHub) add(ps *grpcPushStream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams == nil {
		h.streams = map[string][]*grpcPushStream{}
	}
	h.streams[ps.vin] = append(h.streams[ps.vin], ps)
}

func (h *grpcPushHub) remove(ps *grpcPushStream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.streams[ps.vin]
	for i, x := range l {
		if x == ps {
			h.streams[ps.vin] = append(l[:i:i], l[i+1:]...)
			break
		}
	}
}

// newest returns vin's most recently opened push stream, or nil.
func (h *grpcPushHub) newest(vin string) *grpcPushStream {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.streams[vin]
	if len(l) == 0 {
		return nil
	}
	return l[len(l)-1]
}

type pushService struct {
	grpcpb.UnimplementedPushServiceServer
	s *Server
}

// GetPushNotifications keeps the vehicle's push stream until the vehicle
// ends it, the center is asked to end it, or a send fails.
func (p pushService) GetPushNotifications(req *grpcpb.Request, stream grpc.ServerStreamingServer[grpcpb.Response]) error {
	ctx := stream.Context()
	if a, ok := decidedApp(ctx); ok {
		callOf(ctx).stamp(a)
		return stream.Send(&grpcpb.Response{MsgStatus: &grpcpb.Response_PushServerStatus{
			SrvResponseCode: grpcpb.Response_PushServerStatusStatuscodes(a.AppStatus), RetryAfterSec: a.RetryAfterSec}})
	}
	vin, err := p.s.checkVehicleIDMD(ctx, "")
	if err != nil {
		return err
	}
	g := p.s.grpcFront()
	ps := &grpcPushStream{vin: vin, out: make(chan grpcPushMsg), done: make(chan struct{}), at: time.Now()}
	g.push.add(ps)
	defer func() {
		g.push.remove(ps)
		close(ps.done)
	}()
	// Send the response headers now, so the vehicle sees the stream open.
	if err := stream.SendHeader(nil); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.s.closed:
			return nil
		case m := <-ps.out:
			if m.end && m.resp != nil && m.resp.GetMsgStatus() != nil {
				st := m.resp.GetMsgStatus()
				callOf(ctx).stamp(Answer{AppStatus: int(st.GetSrvResponseCode()), RetryAfterSec: st.GetRetryAfterSec()})
			} else if m.end {
				callOf(ctx).stamp(Answer{})
			}
			var err error
			if m.resp != nil {
				err = stream.Send(m.resp)
			}
			m.sent <- err
			if err != nil || m.end {
				return err
			}
		}
	}
}

// ErrNoGRPCPushStream says the vehicle holds no gRPC push stream.
var ErrNoGRPCPushStream = errors.New("the vehicle holds no gRPC push stream")

// GRPCPushConnected reports whether vehicle vin holds a push stream on the
// gRPC port.
func (s *Server) GRPCPushConnected(vin string) bool {
	g := s.grpcFront()
	return g != nil && g.push.newest(vin) != nil
}

// GRPCPush sends r on vehicle vin's newest push stream and returns once it
// was handed to the stream; with end set, the center then ends the stream
// with OK (the answer of the call, as the recorder sees it). A
// notification whose app_data is 2048 bytes or more is refused (Table 7-15:
// "It shall be less than 2048 bytes"). r nil with end ends the stream.
func (s *Server) GRPCPush(ctx context.Context, vin string, r *grpcpb.Response, end bool) error {
	if n := len(r.GetMsgNotification().GetAppData()); n > grpcRules.AppDataMaxBytes {
		return fmt.Errorf("push app_data of %d bytes: Table 7-15 allows less than 2048", n)
	}
	g := s.grpcFront()
	if g == nil {
		return ErrNoGRPCPushStream
	}
	ps := g.push.newest(vin)
	if ps == nil {
		return ErrNoGRPCPushStream
	}
	m := grpcPushMsg{resp: r, end: end, sent: make(chan error, 1)}
	select {
	case ps.out <- m:
	case <-ps.done:
		return ErrNoGRPCPushStream
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-m.sent:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
