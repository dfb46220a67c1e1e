package center

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/spec/grpcpb"
)

// grpcExchanges records every exchange and its answer.
type grpcExchanges struct {
	HookBase
	mu  sync.Mutex
	xs  []*Exchange
	ans map[uint64]Answer
}

func (e *grpcExchanges) ID() string            { return "test-grpcExchanges" }
func (e *grpcExchanges) Provides(v Event) bool { return v == OnRequest || v == OnAnswer }
func (e *grpcExchanges) OnRequest(x *Exchange) Answer {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.xs = append(e.xs, x)
	return Answer{}
}
func (e *grpcExchanges) OnAnswer(x *Exchange, a Answer, _ time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ans == nil {
		e.ans = map[uint64]Answer{}
	}
	e.ans[x.Seq] = a
}
func (e *grpcExchanges) last() (*Exchange, Answer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.xs[len(e.xs)-1]
	return x, e.ans[x.Seq]
}

func startGRPCCenter(t *testing.T, quirks ...string) (*Server, *grpcExchanges, *FaultPlan) {
	t.Helper()
	cfg := NewDefaultConfig()
	cfg.CertFile = pki.Path(pki.CenterECDSA.ChainFile())
	cfg.KeyFile = pki.Path(pki.CenterECDSA.KeyFile())
	cfg.ClientCAFile = pki.Path(pki.Root.CertFile())
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.Quirks = quirks
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec, plan := &grpcExchanges{}, NewFaultPlan()
	s.AddHook(rec)
	s.AddHook(plan)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rec, plan
}

func vehicleTLS(t *testing.T) *tls.Config {
	t.Helper()
	roots := x509.NewCertPool()
	b, err := os.ReadFile(pki.Path(pki.Root.CertFile()))
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(b)
	c, err := pki.LoadTLS(pki.Vehicle)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: roots, ServerName: pki.CenterHost, MinVersion: tls.VersionTLS13,
		CurvePreferences: []tls.CurveID{tls.CurveP384}, Certificates: []tls.Certificate{c}, NextProtos: []string{"h2"}}
}

func grpcConn(t *testing.T, s *Server) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(vehicleTLS(t))), grpc.WithDisableRetry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func vinCtx(vin string) context.Context {
	ctx := context.Background()
	if vin == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "vehicle_id", vin)
}

func TestGRPCCallApi(t *testing.T) {
	s, rec, _ := startGRPCCenter(t)
	api := grpcpb.NewApiServiceClient(grpcConn(t, s))
	resp, err := api.CallApi(vinCtx(pki.TestVIN), &grpcpb.ApiRequest{ApiId: 42, Data: []byte("hello")})
	if err != nil || resp.GetStatus().GetStatus() != grpcpb.ApiResponse_Status_OK || len(resp.GetStatus().GetData()) >= 2048 {
		t.Fatalf("CallApi: %v %v", resp, err)
	}
	calls := s.Calls()
	if len(calls) != 1 || calls[0].Number != "42" || calls[0].Protocol != ProtoGRPC || string(calls[0].Body) != "hello" {
		t.Fatalf("calls %+v", calls)
	}
	x, a := rec.last()
	if x.Protocol != ProtoGRPC || x.Path != "/ApiService/CallApi" || x.VIN != pki.TestVIN || len(x.Messages) != 1 || a.Code != 0 || a.Status != 200 {
		t.Fatalf("exchange %+v answer %+v", x, a)
	}
	if !strings.Contains(x.Header.Get("user-agent"), "grpc-go/") || x.Header.Get("vehicle_id") != pki.TestVIN {
		t.Fatalf("headers %v", x.Header)
	}
	for _, tc := range []struct {
		vin  string
		code codes.Code
	}{{"", codes.InvalidArgument}, {pki.TestVIN[:15], codes.InvalidArgument}, {pki.TestVIN[:16] + "9", codes.PermissionDenied}} {
		_, err := api.CallApi(vinCtx(tc.vin), &grpcpb.ApiRequest{ApiId: 1})
		if status.Code(err) != tc.code {
			t.Errorf("vehicle_id %q: %v, want %v", tc.vin, err, tc.code)
		}
	}
	_, err = api.CallApi(vinCtx(pki.TestVIN), &grpcpb.ApiRequest{VehicleId: pki.TestVIN[:16] + "9", ApiId: 1})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("proto field differs: %v", err)
	}
}

func TestGRPCSendCansSplitAndGzip(t *testing.T) {
	s, rec, _ := startGRPCCenter(t)
	can := grpcpb.NewCanServiceClient(grpcConn(t, s))
	stream, err := can.SendCans(vinCtx(pki.TestVIN), grpc.UseCompressor(gzip.Name))
	if err != nil {
		t.Fatal(err)
	}
	part := bytes.Repeat([]byte("can data "), 1000)
	for range 3 {
		if err := stream.Send(&grpcpb.CanRequest{Data: part}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil || resp.GetStatus().GetStatus() != grpcpb.CanResponse_Status_OK {
		t.Fatalf("SendCans: %v %v", resp, err)
	}
	x, _ := rec.last()
	if len(x.Messages) != 3 {
		t.Fatalf("messages %+v", x.Messages)
	}
	for _, m := range x.Messages {
		if !m.Compressed || m.Size != len(part)+3 || m.Len >= m.Size {
			t.Errorf("message %+v", m)
		}
	}
	if !strings.HasPrefix(x.Key, "/CanService/SendCans ") {
		t.Errorf("key %q", x.Key)
	}
	files := s.Store().Files()
	if len(files) != 1 || !bytes.Equal(files[0].Data, bytes.Repeat(part, 3)) {
		t.Fatalf("stored %d files", len(files))
	}
}

func TestGRPCDownload(t *testing.T) {
	s, _, _ := startGRPCCenter(t)
	data := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 400_000) // 2.8 MB
	s.Offer("dl_00007.bin", data)
	cc := grpcConn(t, s)
	for _, desc := range []string{"/DIService/Download", dlAliasPath} {
		st, err := cc.NewStream(vinCtx(pki.TestVIN), &grpc.StreamDesc{ServerStreams: true}, desc)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SendMsg(&grpcpb.DIRequest{Data: []byte("dl_00007.bin")}); err != nil {
			t.Fatal(err)
		}
		_ = st.CloseSend()
		var got []byte
		n := 0
		for {
			var m grpcpb.DIResponse
			if err := st.RecvMsg(&m); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			n++
			got = append(got, m.GetStatus().GetData()...)
		}
		if n != 3 || !bytes.Equal(got, data) {
			t.Fatalf("%s: %d messages, %d bytes", desc, n, len(got))
		}
	}
	dl := grpcpb.NewDIServiceClient(cc)
	st, _ := dl.Download(vinCtx(pki.TestVIN), &grpcpb.DIRequest{Data: []byte("nothing")})
	if _, err := st.Recv(); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown file: %v", err)
	}
}

func TestGRPCPush(t *testing.T) {
	s, _, _ := startGRPCCenter(t)
	push := grpcpb.NewPushServiceClient(grpcConn(t, s))
	st, err := push.GetPushNotifications(vinCtx(pki.TestVIN), &grpcpb.Request{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !s.GRPCPushConnected(pki.TestVIN) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	n := &grpcpb.Response{MsgNotification: &grpcpb.Response_PushNotification{AppId: 7, SubId: 8, Expires: "2026-12-31T00:00:00Z", AppData: []byte("x")}}
	if err := s.GRPCPush(context.Background(), pki.TestVIN, n, false); err != nil {
		t.Fatal(err)
	}
	got, err := st.Recv()
	if err != nil || got.GetMsgNotification().GetAppId() != 7 {
		t.Fatalf("push: %v %v", got, err)
	}
	big := &grpcpb.Response{MsgNotification: &grpcpb.Response_PushNotification{AppData: make([]byte, 2048)}}
	if err := s.GRPCPush(context.Background(), pki.TestVIN, big, false); err == nil {
		t.Error("app_data of 2048 bytes was sent")
	}
	ra := &grpcpb.Response{MsgStatus: &grpcpb.Response_PushServerStatus{SrvResponseCode: grpcpb.Response_PushServerStatus_RETRYAFTER, RetryAfterSec: 5}}
	if err := s.GRPCPush(context.Background(), pki.TestVIN, ra, true); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Recv(); err != nil || got.GetMsgStatus().GetRetryAfterSec() != 5 {
		t.Fatalf("status: %v %v", got, err)
	}
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("the stream did not end: %v", err)
	}
}

func TestGRPCFaults(t *testing.T) {
	s, rec, plan := startGRPCCenter(t)
	api := grpcpb.NewApiServiceClient(grpcConn(t, s))
	call := func() (*grpcpb.ApiResponse, error) {
		return api.CallApi(vinCtx(pki.TestVIN), &grpcpb.ApiRequest{ApiId: 1})
	}
	plan.Set(Fault{Times: 1, Protocol: ProtoGRPC, PathPrefix: "/ApiService/", Code: 14, Message: "busy"})
	if _, err := call(); status.Code(err) != codes.Unavailable {
		t.Errorf("code 14: %v", err)
	}
	if _, a := rec.last(); a.Code != 14 || a.By != "fault-plan" {
		t.Errorf("answer %+v", a)
	}
	plan.Set(Fault{Times: 1, Protocol: ProtoGRPC, AppStatus: 1, RetryAfterSec: 9})
	if r, err := call(); err != nil || r.GetStatus().GetStatus() != grpcpb.ApiResponse_Status_RETRYAFTER || r.GetStatus().GetRetryAfterSec() != 9 {
		t.Errorf("RETRYAFTER: %v %v", r, err)
	}
	if _, a := rec.last(); a.AppStatus != 1 || a.RetryAfterSec != 9 || a.Code != 0 {
		t.Errorf("answer %+v", a)
	}
	plan.Set(Fault{Times: 1, Protocol: ProtoGRPC, Status: 503})
	if _, err := call(); status.Code(err) != codes.Unavailable {
		t.Errorf("raw 503: %v", err)
	}
	plan.Set(Fault{Times: 1, Protocol: ProtoGRPC, Reset: true})
	if _, err := call(); status.Code(err) != codes.Internal {
		t.Errorf("RST_STREAM: %v", err)
	}
	plan.Set(Fault{Times: 1, Protocol: ProtoGRPC, Drop: true})
	if _, err := call(); status.Code(err) != codes.Unavailable {
		t.Errorf("drop: %v", err)
	}
	if _, err := call(); err != nil {
		t.Errorf("after drop: %v", err)
	}
	x1, _ := rec.last()
	plan.Set(Fault{Times: 1, Protocol: ProtoGRPC, GoAway: true, Header: http.Header{"Set-Cookie": {"route=a7"}}})
	var hdr metadata.MD
	if _, err := api.CallApi(vinCtx(pki.TestVIN), &grpcpb.ApiRequest{ApiId: 1}, grpc.Header(&hdr)); err != nil {
		t.Errorf("GOAWAY call: %v", err)
	}
	if got := strings.Join(hdr.Get("set-cookie"), ";"); !strings.Contains(got, "route=a7") {
		t.Errorf("set-cookie %q", got)
	}
	x2, _ := rec.last()
	time.Sleep(50 * time.Millisecond)
	if _, err := call(); err != nil {
		t.Errorf("after GOAWAY: %v", err)
	}
	x3, _ := rec.last()
	if x1.Conn.ID != x2.Conn.ID || x3.Conn.ID == x2.Conn.ID {
		t.Errorf("connections %d %d %d: want the GOAWAY one kept until then, a new one after", x1.Conn.ID, x2.Conn.ID, x3.Conn.ID)
	}
	plan.Set(Fault{Times: 1, Protocol: ProtoGRPC, Stall: 3 * time.Second})
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "vehicle_id", pki.TestVIN), 200*time.Millisecond)
	defer cancel()
	if _, err := api.CallApi(ctx, &grpcpb.ApiRequest{ApiId: 1}); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("stall: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if x, _ := rec.last(); !x.Abandoned {
		t.Error("a stalled call the client gave up is not marked abandoned")
	}
}

// rawCall sends one gRPC call with a hand-made content-type over HTTP/2.
func rawCall(t *testing.T, s *Server, ct string, msg proto.Message) (*http.Response, []byte) {
	t.Helper()
	tr := &http2.Transport{TLSClientConfig: vehicleTLS(t)}
	b, _ := proto.Marshal(msg)
	frame := append([]byte{0, 0, 0, 0, 0}, b...)
	binary.BigEndian.PutUint32(frame[1:], uint32(len(b)))
	req, _ := http.NewRequest(http.MethodPost, "https://"+s.GRPCAddr()+"/ApiService/CallApi", bytes.NewReader(frame))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("te", "trailers")
	req.Header.Set("vehicle_id", pki.TestVIN)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestGRPCContentTypeCase(t *testing.T) {
	s, _, _ := startGRPCCenter(t)
	resp, _ := rawCall(t, s, "Application/GRPC+Proto", &grpcpb.ApiRequest{ApiId: 3})
	if resp.StatusCode != 200 || resp.Trailer.Get("grpc-status") != "0" {
		t.Fatalf("Application/GRPC+Proto: %d grpc-status %q", resp.StatusCode, resp.Trailer.Get("grpc-status"))
	}
	q, _, _ := startGRPCCenter(t, "grpc-case-sensitive-content-type")
	if resp, _ := rawCall(t, q, "Application/GRPC+Proto", &grpcpb.ApiRequest{ApiId: 3}); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("quirk: %d", resp.StatusCode)
	}
}
