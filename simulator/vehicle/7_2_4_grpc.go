package vehicle

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/spec"
)

// The gRPC uplink of the reference vehicle (7.2.4): one grpc-go channel
// (one TCP/TLS connection) to the center's gRPC port shared by the upload,
// the API calls, the downloads and the push stream (7.2.4.6), opened only
// once the 7.2.4.6 preconditions hold; user-agent "<product> grpc-go/<v>"
// and content-type application/grpc+proto (7.2.4.3); vehicle_id metadata
// on every call (7.2.4.4, I-024); the sticky-session cookie sent back
// (7.2.4.6, I-111); messages of 2048 bytes or more compressed with gzip
// (Appendix 1 §1, I-107); its own retry engine from spec/ (Table 7-20,
// I-025, RETRYAFTER I-103, BUSY I-104), with grpc-go's retry off.

// UplinkGRPC is the gRPC uplink (7.2.4).
const UplinkGRPC = "grpc"

func init() {
	registerUplink(UplinkGRPC, (*Vehicle).deliverGRPC)
	registerCallUplink(UplinkGRPC, callUplink{api: (*Vehicle).grpcAPICall, download: (*Vehicle).grpcDownload})
	encoding.RegisterCodec(quirkCodec{})
	// +B OFF: the unit loses its connections with its power.
	registerPowerLossHook(func(v *Vehicle) {
		if v.ignitionIs(bench.BOff) {
			v.grpc.close("+B OFF")
		}
	})

	registerQuirk(QuirkInfo{Name: "grpc-retry", Clause: "7.2.4.5 Table 7-20", Breaks: "retries the given gRPC status code", Arg: "int"})
	registerQuirk(QuirkInfo{Name: "grpc-no-retry", Clause: "7.2.4.5 Table 7-20", Breaks: "does not retry the given gRPC status code", Arg: "int"})
	registerQuirk(QuirkInfo{Name: "grpc-retryafter-factor", Clause: "7.2.4.4 Tables 7-14/7-17 RETRYAFTER", Breaks: "waits retry_after_sec times this factor before requesting again", Arg: "float"})
	registerQuirk(QuirkInfo{Name: "grpc-retryafter-ignore", Clause: "7.2.4.4 Tables 7-14/7-17 RETRYAFTER", Breaks: "takes a RETRYAFTER answer as done and never requests again"})
	registerQuirk(QuirkInfo{Name: "grpc-busy-storm", Clause: "7.2.4.4 Tables 7-14/7-17 BUSY (I-104)", Breaks: "retries a BUSY answer 5 times, 0.5 s apart"})
	registerQuirk(QuirkInfo{Name: "grpc-content-subtype", Clause: "7.2.4.3", Breaks: "sends content-type application/grpc+<value> instead of application/grpc+proto", Arg: "string"})
	registerQuirk(QuirkInfo{Name: "grpc-ua-no-product", Clause: "7.2.4.3", Breaks: "sends a user-agent without the product identifier (only grpc-go/<version>)"})
	registerQuirk(QuirkInfo{Name: "grpc-no-vehicle-id", Clause: "7.2.4.4, 7.3", Breaks: "sends no vehicle_id metadata"})
	registerQuirk(QuirkInfo{Name: "grpc-channel-per-call", Clause: "7.2.4.6", Breaks: "opens a new channel (connection) for every call"})
	registerQuirk(QuirkInfo{Name: "grpc-reconnect-on-error", Clause: "7.2.4.6", Breaks: "closes the whole channel, push stream included, when any call fails"})
	registerQuirk(QuirkInfo{Name: "grpc-no-cookie", Clause: "7.2.4.6", Breaks: "does not send the sticky-session cookie back"})
	registerQuirk(QuirkInfo{Name: "grpc-split", Clause: "7.2.4.1", Breaks: "splits uploads into messages of this many bytes instead of about 1 MB", Arg: "int"})

	registerQuirk(QuirkInfo{Name: "grpc-busy-no-retry", Clause: "7.2.4.4 BUSY (I-104)", Breaks: "does not retry a BUSY answer (gives up as after a No code)", Variant: true})
	registerQuirk(QuirkInfo{Name: "grpc-retryafter-keep-channel", Clause: "7.2.4.4 RETRYAFTER, 7.2.4.6 (I-103)", Breaks: "keeps the channel after RETRYAFTER and holds back only the request that got it", Variant: true})
	registerQuirk(QuirkInfo{Name: "grpc-gzip-small", Clause: "Appendix 1 §1 (I-107)", Breaks: "compresses every message, below 2048 bytes too", Variant: true})
	registerQuirk(QuirkInfo{Name: "grpc-proto-vehicle-id", Clause: "7.2.4.4 (I-024)", Breaks: "sets the proto field vehicle_id too (equal to the metadata)", Variant: true})
	registerQuirk(QuirkInfo{Name: "grpc-content-type-plain", Clause: "7.2.4.3 (I-037)", Breaks: "sends content-type application/grpc (the gRPC default)", Variant: true})
}

// callUplink is how API calls and downloads go over one uplink protocol
// other than HTTP.
type callUplink struct {
	api      func(v *Vehicle, number int, requestID uint32) exchange
	download func(v *Vehicle, name string) exchange
}

var callUplinks = map[string]callUplink{}

func registerCallUplink(name string, u callUplink) { callUplinks[name] = u }

func (v *Vehicle) ignitionIs(i bench.Ignition) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.ignition == i
}

// grpcTarget is the host:port of the center's gRPC port: Config.GRPCTarget,
// or the center URL's host on port 9080 (Appendix 2).
func (c Config) grpcTarget(host string) string {
	if c.GRPCTarget != "" {
		return c.GRPCTarget
	}
	port := 9080
	for _, p := range spec.Ports() {
		if p.Protocol == spec.ProtoGRPC {
			port = p.Port
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// grpcSession is the vehicle's gRPC channel and what it keeps between
// calls: the sticky-session cookie.
type grpcSession struct {
	v  *Vehicle
	mu sync.Mutex
	cc *grpc.ClientConn
	// gen counts the channels opened; a call that ends CANCELLED while its
	// channel was closed under it (RETRYAFTER of another call) was not
	// cancelled by the center.
	gen    int
	cookie []*http.Cookie
}

// conn returns the channel, opening it when there is none; the connection
// itself is made by the first call.
func (g *grpcSession) conn() (*grpc.ClientConn, int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cc != nil {
		return g.cc, g.gen, nil
	}
	cc, err := g.v.newGRPCChannel()
	if err != nil {
		return nil, g.gen, err
	}
	g.cc = cc
	g.gen++
	return cc, g.gen, nil
}

// close closes the channel and its connection (RETRYAFTER, I-103).
func (g *grpcSession) close(why string) {
	g.mu.Lock()
	cc := g.cc
	g.cc = nil
	g.mu.Unlock()
	if cc != nil {
		g.v.logf("vehicle: gRPC channel closed: %s", why)
		_ = cc.Close()
	}
}

func (g *grpcSession) generation() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gen
}

// newGRPCChannel builds the channel: the vehicle's TLS 1.3 with its client
// certificate and the Table 7-4 connection rules (dialTLSAt), ALPN h2.
func (v *Vehicle) newGRPCChannel() (*grpc.ClientConn, error) {
	target := v.cfg.grpcTarget(v.base.Hostname())
	host, _, _ := net.SplitHostPort(target)
	tc := v.tls.Clone()
	tc.NextProtos = []string{"h2"}
	tc.ServerName = host
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		if v.cfg.GRPCAddr != "" {
			addr = v.cfg.GRPCAddr
		}
		return v.dialTLSAt(ctx, "tcp", addr, tc)
	}
	ua := v.cfg.UserAgent
	if v.quirks.Has("grpc-ua-no-product") {
		ua = ""
	}
	call := []grpc.CallOption{grpc.MaxCallRecvMsgSize(64 << 20), grpc.MaxCallSendMsgSize(64 << 20)}
	switch sub := v.quirks.String("grpc-content-subtype"); {
	case sub != "":
		call = append(call, grpc.CallContentSubtype(sub))
	case v.quirks.Has("grpc-content-type-plain"):
	default:
		call = append(call, grpc.CallContentSubtype("proto"))
	}
	step := max(v.cfg.wall(time.Second), 10*time.Millisecond)
	return grpc.NewClient("passthrough:///"+target,
		grpc.WithContextDialer(dial),
		grpc.WithTransportCredentials(dialledTLS{}),
		grpc.WithNoProxy(),
		grpc.WithUserAgent(ua),
		grpc.WithDisableRetry(), // the vehicle's own retry engine (Table 7-20, I-025)
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: step, Multiplier: 1, MaxDelay: step}, MinConnectTimeout: 20 * time.Second}),
		grpc.WithDefaultCallOptions(call...),
		grpc.WithChainUnaryInterceptor(v.grpcUnaryMD),
		grpc.WithChainStreamInterceptor(v.grpcStreamMD),
	)
}

// dialledTLS is the transport credentials of a connection the dialer has
// already secured (dialTLSAt: TLS 1.3, the vehicle's checks and Table 7-4
// retries): it checks ALPN h2 and reports the TLS facts.
type dialledTLS struct{}

func (dialledTLS) ClientHandshake(_ context.Context, _ string, c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil, nil, errors.New("vehicle: gRPC connection is not TLS")
	}
	st := tc.ConnectionState()
	if st.NegotiatedProtocol != "h2" {
		_ = c.Close()
		return nil, nil, fmt.Errorf("vehicle: the center's gRPC port negotiated ALPN %q, not h2", st.NegotiatedProtocol)
	}
	return c, credentials.TLSInfo{State: st, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
}

func (dialledTLS) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("vehicle: client only")
}

func (dialledTLS) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls", SecurityVersion: "1.3"}
}

func (d dialledTLS) Clone() credentials.TransportCredentials { return d }

func (dialledTLS) OverrideServerName(string) error { return nil }

// outgoing adds the vehicle_id metadata (7.2.4.4, I-024) and the cookie
// (7.2.4.6, I-111) to a call's context.
func (v *Vehicle) outgoing(ctx context.Context, method string) context.Context {
	noVID := v.quirks.Has("grpc-no-vehicle-id") || (method == pushMethod && v.quirks.Has("grpc-push-no-vehicle-id"))
	if !noVID {
		ctx = metadata.AppendToOutgoingContext(ctx, v.doc.GRPC.VehicleIDMetadata.Key, v.VIN())
	}
	if v.quirks.Has("grpc-no-cookie") {
		return ctx
	}
	v.grpc.mu.Lock()
	var parts []string
	for _, c := range v.grpc.cookie {
		parts = append(parts, c.Name+"="+c.Value)
	}
	v.grpc.mu.Unlock()
	if len(parts) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, "cookie", strings.Join(parts, "; "))
	}
	return ctx
}

// keepCookies stores the cookies a set-cookie response header sets.
func (v *Vehicle) keepCookies(h metadata.MD) {
	sc := h.Get("set-cookie")
	if len(sc) == 0 {
		return
	}
	got := (&http.Response{Header: http.Header{"Set-Cookie": sc}}).Cookies()
	v.grpc.mu.Lock()
	defer v.grpc.mu.Unlock()
	for _, c := range got {
		kept := false
		for i, k := range v.grpc.cookie {
			if k.Name == c.Name {
				v.grpc.cookie[i], kept = c, true
			}
		}
		if !kept {
			v.grpc.cookie = append(v.grpc.cookie, c)
		}
	}
}

func (v *Vehicle) grpcUnaryMD(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	var h metadata.MD
	err := invoker(v.outgoing(ctx, method), method, req, reply, cc, append(opts, grpc.Header(&h))...)
	v.keepCookies(h)
	return err
}

func (v *Vehicle) grpcStreamMD(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(v.outgoing(ctx, method), desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &cookieStream{ClientStream: s, v: v}, nil
}

// cookieStream keeps the cookies of a stream's response headers once the
// first message (or the end) has arrived.
type cookieStream struct {
	grpc.ClientStream
	v    *Vehicle
	once sync.Once
}

func (s *cookieStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	s.once.Do(func() {
		if h, herr := s.ClientStream.Header(); herr == nil {
			s.v.keepCookies(h)
		}
	})
	return err
}

// compress reports whether a call whose largest message serializes to n
// bytes goes compressed: from the 2048-byte threshold (I-107, quirk
// gzip-threshold) or always (variant grpc-gzip-small).
func (v *Vehicle) compress(n int) bool {
	return v.quirks.Has("grpc-gzip-small") || n >= v.quirks.Int("gzip-threshold", v.doc.Options.GzipThresholdBytes)
}

func compressor(on bool) []grpc.CallOption {
	if on {
		return []grpc.CallOption{grpc.UseCompressor(gzip.Name)}
	}
	return nil
}

// grpcResult is how one gRPC attempt ended: the status code (0 OK) and, for
// OK, the application status of the response (0 OK, 1 RETRYAFTER, 2 BUSY)
// with its retry_after_sec. local is set for a CANCELLED the vehicle caused
// itself (its channel closed under the call).
type grpcResult struct {
	code       codes.Code
	msg        string
	app        int
	retryAfter uint32
	local      bool
}

// grpcExchange runs the retry engine for a gRPC request: Table 7-20 says
// which codes are retried (I-040), the 7.2.2.6 rule how often and how far
// apart (I-025, I-110); RETRYAFTER closes the channel, waits
// retry_after_sec and requests again, outside the count (I-103); BUSY is
// retried like a "Yes" code (I-104). It reports whether the request is
// settled (done, or refused with a code that is not retried); false means
// the retries were spent or ctx ended.
func (v *Vehicle) grpcExchange(ctx context.Context, x exchange) bool {
	rule, _ := v.doc.RetryRuleFor(x.ruleID)
	retries := v.quirks.Int("retries", rule.Retries)
	if !rule.Applicable {
		retries = v.quirks.Int("download-retries", 0)
	}
	interval := time.Duration(float64(rule.Interval) * v.quirks.Float("interval-factor", 1))
	if interval == 0 {
		interval = 3 * time.Second
	}
	for attempt := 0; ; {
		if v.quirks.Has("grpc-channel-per-call") {
			v.grpc.close("quirk grpc-channel-per-call")
		}
		r := x.grpcSend(ctx)
		if ctx.Err() != nil {
			return false
		}
		if r.code != codes.OK && v.quirks.Has("grpc-reconnect-on-error") {
			v.grpc.close("quirk grpc-reconnect-on-error")
		}
		switch {
		case r.code == codes.OK && r.app == 1 && !v.quirks.Has("grpc-retryafter-ignore"):
			wait := time.Duration(float64(time.Duration(r.retryAfter)*time.Second) * v.quirks.Float("grpc-retryafter-factor", 1))
			if !v.quirks.Has("grpc-retryafter-keep-channel") {
				v.grpc.close(fmt.Sprintf("%s: RETRYAFTER %d s (I-103)", x.name, r.retryAfter))
			}
			v.logf("vehicle: %s: RETRYAFTER; requesting again in %v", x.name, wait)
			if !v.sleep(ctx, wait) {
				return false
			}
			continue // not a retry of 7.2.2.6 (I-103)
		case r.code == codes.OK && r.app == 2 && v.quirks.Has("grpc-busy-storm"):
			for range 5 {
				if !v.sleep(ctx, 500*time.Millisecond) {
					return false
				}
				if r = x.grpcSend(ctx); r.code != codes.OK || r.app != 2 {
					return true
				}
			}
			return false
		case r.code == codes.OK && r.app == 2:
			if v.quirks.Has("grpc-busy-no-retry") {
				v.logf("vehicle: %s answered BUSY: not retried (variant grpc-busy-no-retry)", x.name)
				return true
			}
			v.logf("vehicle: %s answered BUSY: retried as a temporary failure (I-104)", x.name)
		case r.code == codes.OK && !v.quirks.HasValue("grpc-retry", "0"):
			v.logf("vehicle: %s done after %d retries", x.name, attempt)
			return true
		case r.code == codes.Canceled && r.local:
			v.logf("vehicle: %s: its channel was closed under it; retried as a lost connection", x.name)
		case !v.grpcRetryable(int(r.code)):
			v.logf("vehicle: %s answered %v (%s): not retried (Table 7-20), discarded", x.name, r.code, r.msg)
			return true
		default:
			v.logf("vehicle: %s answered %v (%s)", x.name, r.code, r.msg)
		}
		if attempt >= retries {
			v.logf("vehicle: %s: %d retries spent (7.2.2.6, I-025)", x.name, retries)
			return false
		}
		attempt++
		if !v.sleep(ctx, interval) {
			return false
		}
	}
}

// grpcRetryable says whether a gRPC status code is retried: Table 7-20, as
// the quirks bend it.
func (v *Vehicle) grpcRetryable(code int) bool {
	c := strconv.Itoa(code)
	switch {
	case v.quirks.HasValue("grpc-no-retry", c):
		return false
	case v.quirks.HasValue("grpc-retry", c):
		return true
	}
	row, ok := v.doc.GRPCStatusFor(code)
	return ok && row.Retry
}

// result turns a call's error into a grpcResult; gen is the channel the
// call used.
func (v *Vehicle) result(err error, gen int) grpcResult {
	st := status.Convert(err)
	r := grpcResult{code: st.Code(), msg: st.Message()}
	if r.code == codes.Canceled && v.grpc.generation() != gen {
		r.local = true
	}
	return r
}

// deliverGRPC is deliver over gRPC: CanService.SendCans.
func (v *Vehicle) deliverGRPC(ctx context.Context, job uploadJob) bool {
	ruleID := "upload-non-realtime"
	if job.realTime {
		ruleID = "upload-realtime"
	}
	return v.exchange(ctx, exchange{name: job.name, ruleID: ruleID, grpcSend: func(ctx context.Context) grpcResult { return v.sendCans(ctx, job.data) }})
}

// quirkCodec is the protobuf codec under another content-subtype, for the
// grpc-content-subtype quirk ("xproto").
type quirkCodec struct{}

func (quirkCodec) Marshal(m any) ([]byte, error)   { return proto.Marshal(m.(proto.Message)) }
func (quirkCodec) Unmarshal(b []byte, m any) error { return proto.Unmarshal(b, m.(proto.Message)) }
func (quirkCodec) Name() string                    { return "xproto" }
