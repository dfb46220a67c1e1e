package center

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/spec/grpcpb"
)

// Benchmarks of the center's gRPC port against plain grpc-go on the same
// loopback, with the same TLS 1.3 mutual authentication, in the same run:
// the anchor says what the frontend (the whole request read first, every
// message noted, the hooks asked, the call replayed into grpc-go's
// ServeHTTP) costs over grpc-go's own HTTP/2 transport.
//
//	go test -run '^$' -bench GRPC -benchtime 5x ./simulator/center

// plainServer is grpc-go with its own transport and TLS credentials,
// serving SendCans (the data kept, as the center keeps it) and CallApi.
type plainServer struct {
	grpcpb.UnimplementedCanServiceServer
	grpcpb.UnimplementedApiServiceServer
}

func (plainServer) SendCans(s grpc.ClientStreamingServer[grpcpb.CanRequest, grpcpb.CanResponse]) error {
	var data []byte
	for {
		m, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		data = append(data, m.GetData()...)
	}
	_ = data
	return s.SendAndClose(&grpcpb.CanResponse{Status: &grpcpb.CanResponse_Status{}})
}

func (plainServer) CallApi(context.Context, *grpcpb.ApiRequest) (*grpcpb.ApiResponse, error) {
	return &grpcpb.ApiResponse{Status: &grpcpb.ApiResponse_Status{Data: []byte("API called")}}, nil
}

func startPlain(b *testing.B) string {
	b.Helper()
	cert, err := tls.LoadX509KeyPair(pki.Path(pki.CenterECDSA.ChainFile()), pki.Path(pki.CenterECDSA.KeyFile()))
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	pem, _ := os.ReadFile(pki.Path(pki.Root.CertFile()))
	roots.AppendCertsFromPEM(pem)
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: roots, ClientAuth: tls.RequireAndVerifyClientCert,
		MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP384}}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(tc)), grpc.MaxRecvMsgSize(64<<20))
	grpcpb.RegisterCanServiceServer(srv, plainServer{})
	grpcpb.RegisterApiServiceServer(srv, plainServer{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func benchConn(b *testing.B, addr string) *grpc.ClientConn {
	b.Helper()
	roots := x509.NewCertPool()
	pem, _ := os.ReadFile(pki.Path(pki.Root.CertFile()))
	roots.AppendCertsFromPEM(pem)
	c, err := pki.LoadTLS(pki.Vehicle)
	if err != nil {
		b.Fatal(err)
	}
	tc := &tls.Config{RootCAs: roots, ServerName: pki.CenterHost, MinVersion: tls.VersionTLS13,
		CurvePreferences: []tls.CurveID{tls.CurveP384}, Certificates: []tls.Certificate{c}}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(tc)), grpc.WithDisableRetry())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close() })
	return cc
}

func grpcBenchCenter(b *testing.B) string {
	b.Helper()
	cfg := NewDefaultConfig()
	cfg.CertFile = pki.Path(pki.CenterECDSA.ChainFile())
	cfg.KeyFile = pki.Path(pki.CenterECDSA.KeyFile())
	cfg.ClientCAFile = pki.Path(pki.Root.CertFile())
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.MaxBodyBytes = 80 << 20
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s.GRPCAddr()
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func vinOut() context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "vehicle_id", pki.TestVIN)
}

// upload64 sends 64 MB through SendCans in 1 MB messages, b.N times, and
// reports MB/s and the CPU (client and server, one process) per upload.
func upload64(b *testing.B, addr string) {
	const size, split = 64 << 20, 1 << 20
	data := bytes.Repeat([]byte{0x5a, 0xa5, 0x01, 0x02}, size/4)
	can := grpcpb.NewCanServiceClient(benchConn(b, addr))
	b.SetBytes(size)
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		st, err := can.SendCans(vinOut(), grpc.MaxCallSendMsgSize(2*split))
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < size; off += split {
			if err := st.Send(&grpcpb.CanRequest{Data: data[off : off+split]}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := st.CloseAndRecv(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/upload")
}

// callAPI makes b.N CallApi round trips over one kept channel and reports
// round trips per second and the CPU per call.
func callAPI(b *testing.B, addr string) {
	api := grpcpb.NewApiServiceClient(benchConn(b, addr))
	ctx := vinOut()
	if _, err := api.CallApi(ctx, &grpcpb.ApiRequest{ApiId: 1}); err != nil { // connect first
		b.Fatal(err)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for range b.N {
		if _, err := api.CallApi(ctx, &grpcpb.ApiRequest{ApiId: 1, Data: []byte("request 0000000001")}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/call")
}

func BenchmarkGRPCUpload64MB(b *testing.B) {
	b.Run("center", func(b *testing.B) { upload64(b, grpcBenchCenter(b)) })
	b.Run("plain-grpc-go", func(b *testing.B) { upload64(b, startPlain(b)) })
}

func BenchmarkGRPCCallApi(b *testing.B) {
	b.Run("center", func(b *testing.B) { callAPI(b, grpcBenchCenter(b)) })
	b.Run("plain-grpc-go", func(b *testing.B) { callAPI(b, startPlain(b)) })
}
