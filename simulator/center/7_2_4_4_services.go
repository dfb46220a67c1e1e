package center

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/icoc-dev/icoc/spec/grpcpb"
)

// The four services of 7.2.4.4 as the reference center answers them: a
// call that breaks the API is refused with a Table 7-20 code whose Retry
// is "No" (7.2.4.5: "If the error is caused by a client-side
// specification, no retry is performed"); the hooks' decision (a fault)
// comes first (7_2_4_grpc.go).

func init() {
	registerQuirk(QuirkInfo{Name: "grpc-no-vehicle-id-check", Clause: "7.2.4.4, 7.3, 6.4", Breaks: "accepts a gRPC call whose vehicle_id metadata is missing, malformed or not the client's VIN"})
	registerQuirk(QuirkInfo{Name: "grpc-big-api-data", Clause: "7.2.4.4.3 Table 7-17", Breaks: "answers an API call with 4096 bytes of data (the table allows less than 2048)"})
	registerQuirk(QuirkInfo{Name: "grpc-vehicle-id-unauthenticated", Clause: "7.2.4.4, 7.2.4.5", Breaks: "refuses a wrong vehicle_id with UNAUTHENTICATED (16) instead of INVALID_ARGUMENT or PERMISSION_DENIED, another no-retry code (I-108)", Variant: true})
}

// dlAliasPath is the download method under the name the original proto
// probably has ("Dl", I-101); the center serves it too.
const dlAliasPath = "/DlService/Download"

// registerGRPCServices registers the four services (and the DlService
// alias of DIService, I-101) on srv.
func (s *Server) registerGRPCServices(srv *grpc.Server) {
	grpcpb.RegisterCanServiceServer(srv, canService{s: s})
	grpcpb.RegisterPushServiceServer(srv, pushService{s: s})
	grpcpb.RegisterApiServiceServer(srv, apiService{s: s})
	grpcpb.RegisterDIServiceServer(srv, dlService{s: s})
	alias := grpcpb.DIService_ServiceDesc
	alias.ServiceName = strings.Split(dlAliasPath, "/")[1]
	srv.RegisterService(&alias, dlService{s: s})
}

func grpcStatus(code int, msg string) error { return status.Error(codes.Code(code), msg) }

// appAnswer notes the application status a unary service answered with.
func appAnswer(resp any) Answer {
	if r, ok := resp.(*grpcpb.ApiResponse); ok && r.GetStatus() != nil {
		return Answer{AppStatus: int(r.GetStatus().GetStatus()), RetryAfterSec: r.GetStatus().GetRetryAfterSec()}
	}
	return Answer{}
}

// checkVehicleIDMD checks the vehicle_id metadata of a call (7.2.4.4, 7.3,
// 6.4) and the proto field when set (I-024): INVALID_ARGUMENT for a
// missing, repeated or malformed one, or a field that differs from it;
// PERMISSION_DENIED for one that is not the client certificate's VIN
// (I-108). It returns the VIN.
func (s *Server) checkVehicleIDMD(ctx context.Context, field string) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vids := md.Get(grpcRules.VehicleIDMetadata.Key)
	if s.apiQuirks.Has("grpc-no-vehicle-id-check") {
		if len(vids) > 0 {
			return vids[0], nil
		}
		return field, nil
	}
	bad := codes.InvalidArgument
	if s.apiQuirks.Has("grpc-vehicle-id-unauthenticated") {
		bad = codes.Unauthenticated
	}
	switch {
	case len(vids) == 0:
		return "", status.Error(bad, "metadata vehicle_id missing (7.2.4.4, 7.3)")
	case len(vids) > 1:
		return "", status.Error(bad, "metadata vehicle_id given more than once")
	case len(vids[0]) != s.cfg.VehicleIDLength:
		return "", status.Errorf(bad, "metadata vehicle_id %q: length %d, want %d", vids[0], len(vids[0]), s.cfg.VehicleIDLength)
	case field != "" && field != vids[0]:
		return "", status.Errorf(bad, "proto field vehicle_id %q differs from the metadata %q (I-024)", field, vids[0])
	}
	if c := callOf(ctx); c != nil && c.x.VIN != "" && vids[0] != c.x.VIN {
		code := codes.PermissionDenied
		if s.apiQuirks.Has("grpc-vehicle-id-unauthenticated") {
			code = codes.Unauthenticated
		}
		return "", status.Errorf(code, "metadata vehicle_id %q is not the VIN %q of the client certificate (6.4)", vids[0], c.x.VIN)
	}
	return vids[0], nil
}

// decidedApp returns the application status the hooks decided for the
// call (RETRYAFTER or BUSY), if any.
func decidedApp(ctx context.Context) (Answer, bool) {
	c := callOf(ctx)
	if c == nil || c.decided.AppStatus == 0 {
		return Answer{}, false
	}
	return c.decided, true
}

// acceptsGzip reports whether the client offered gzip in
// grpc-accept-encoding; the center compresses only then (I-107).
func acceptsGzip(ctx context.Context) bool {
	names, _ := grpc.ClientSupportedCompressors(ctx)
	for _, n := range names {
		if n == "gzip" {
			return true
		}
	}
	return false
}

// canService is CanService.SendCans (7.2.4.4.1, Tables 7-13 and 7-14): the
// data of every CanRequest, in order, is one upload, stored under the
// call's key.
type canService struct {
	grpcpb.UnimplementedCanServiceServer
	s *Server
}

func (c canService) SendCans(stream grpc.ClientStreamingServer[grpcpb.CanRequest, grpcpb.CanResponse]) error {
	ctx := stream.Context()
	var data []byte
	if c := callOf(ctx); c != nil {
		data = make([]byte, 0, c.x.RawBodyLen)
	}
	var field string
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if m.GetVehicleId() != "" && field == "" {
			field = m.GetVehicleId()
		}
		data = append(data, m.GetData()...)
	}
	if a, ok := decidedApp(ctx); ok {
		callOf(ctx).stamp(a)
		return stream.SendAndClose(&grpcpb.CanResponse{Status: &grpcpb.CanResponse_Status{
			Status: grpcpb.CanResponse_StatusStatuscodes(a.AppStatus), RetryAfterSec: a.RetryAfterSec}})
	}
	vin, err := c.s.checkVehicleIDMD(ctx, field)
	if err != nil {
		return err
	}
	x := callOf(ctx)
	if x == nil {
		return status.Error(codes.Internal, errNoCall.Error())
	}
	c.s.store.put(vin, "grpc:"+x.x.Key, data, x.x.ReceivedAt)
	x.stamp(Answer{})
	return stream.SendAndClose(&grpcpb.CanResponse{Status: &grpcpb.CanResponse_Status{Status: grpcpb.CanResponse_Status_OK}})
}

// apiService is ApiService.CallApi (7.2.4.4.3, Tables 7-16 and 7-17): the
// call is recorded and answered OK with data under 2048 bytes.
type apiService struct {
	grpcpb.UnimplementedApiServiceServer
	s *Server
}

func (a apiService) CallApi(ctx context.Context, req *grpcpb.ApiRequest) (*grpcpb.ApiResponse, error) {
	if d, ok := decidedApp(ctx); ok {
		return &grpcpb.ApiResponse{Status: &grpcpb.ApiResponse_Status{
			Status: grpcpb.ApiResponse_StatusStatuscodes(d.AppStatus), RetryAfterSec: d.RetryAfterSec}}, nil
	}
	vin, err := a.s.checkVehicleIDMD(ctx, req.GetVehicleId())
	if err != nil {
		return nil, err
	}
	at := time.Now()
	if c := callOf(ctx); c != nil {
		at = c.x.ReceivedAt
	}
	number := strconv.FormatUint(uint64(req.GetApiId()), 10)
	a.s.calls.add(Call{VehicleID: vin, Number: number, Body: append([]byte(nil), req.GetData()...), At: at, Protocol: ProtoGRPC})
	data := []byte("API " + number + " called")
	if a.s.apiQuirks.Has("grpc-big-api-data") {
		data = []byte(strings.Repeat("x", 4096))
	}
	return &grpcpb.ApiResponse{Status: &grpcpb.ApiResponse_Status{Status: grpcpb.ApiResponse_Status_OK, Data: data}}, nil
}

// dlService is DIService.Download (7.2.4.4.4, Tables 7-18 and 7-19): the
// request's data names a file the center offers (Offer); the file goes
// back in messages of about 1 MB (7.2.4.1, I-106), compressed when the
// client accepts gzip (I-107). An unknown name is NOT_FOUND.
type dlService struct {
	grpcpb.UnimplementedDIServiceServer
	s *Server
}

func (d dlService) Download(req *grpcpb.DIRequest, stream grpc.ServerStreamingServer[grpcpb.DIResponse]) error {
	ctx := stream.Context()
	if a, ok := decidedApp(ctx); ok {
		callOf(ctx).stamp(a)
		return stream.Send(&grpcpb.DIResponse{Status: &grpcpb.DIResponse_Status{
			Status: grpcpb.DIResponse_StatusStatuscodes(a.AppStatus), RetryAfterSec: a.RetryAfterSec}})
	}
	if _, err := d.s.checkVehicleIDMD(ctx, req.GetVehicleId()); err != nil {
		return err
	}
	name := string(req.GetData())
	data, ok := d.s.offers.get(name)
	if !ok {
		return status.Errorf(codes.NotFound, "no file %q to download", name)
	}
	if acceptsGzip(ctx) {
		_ = grpc.SetSendCompressor(ctx, "gzip")
	}
	split := grpcRules.SplitSizeBytes
	for off := 0; off == 0 || off < len(data); off += split {
		chunk := data[off:min(off+split, len(data))]
		if err := stream.Send(&grpcpb.DIResponse{Status: &grpcpb.DIResponse_Status{Status: grpcpb.DIResponse_Status_OK, Data: chunk}}); err != nil {
			return err
		}
	}
	// Linger before the end of the stream, so that a client that gives up
	// after the first messages is seen resetting the stream rather than
	// racing the center's END_STREAM.
	t := time.NewTimer(downloadLinger)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	return nil
}

// downloadLinger is how long the center holds a download's end (wall
// time); see Download.
const downloadLinger = 25 * time.Millisecond

// check the generated interfaces are implemented.
var (
	_ grpcpb.CanServiceServer  = canService{}
	_ grpcpb.ApiServiceServer  = apiService{}
	_ grpcpb.DIServiceServer   = dlService{}
	_ grpcpb.PushServiceServer = pushService{}
)
