package grpc_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/protobuf/proto"
)

// The harness's gRPC client for center-DUT specs: plain HTTP/2
// (golang.org/x/net/http2) with the gRPC framing of PROTOCOL-HTTP2 written
// and read here, so that a spec can send what a gRPC library would not (a
// content-type in another case, a hand-picked compressed flag) and see
// every response message's flag and every header and trailer as they
// arrived.

// wireCall is one call as the harness sent and saw it.
type wireCall struct {
	Status  int
	Header  http.Header
	Trailer http.Header
	Msgs    []wireMsg
	// Open is true when the stream was still open when the harness stopped
	// reading (a server stream read for a while).
	Open bool
	Err  error
}

// wireMsg is one response message: its compressed flag and its data
// (decompressed).
type wireMsg struct {
	Compressed bool
	Data       []byte
}

// grpcStatus is the call's grpc-status (from the trailers, or the headers
// of a trailers-only answer); ok is false when none arrived or it is not a
// number.
func (c wireCall) grpcStatus() (int, bool) {
	v := c.Trailer.Get("grpc-status")
	if v == "" {
		v = c.Header.Get("grpc-status")
	}
	n, err := strconv.Atoi(v)
	return n, v != "" && err == nil
}

func (c wireCall) String() string {
	s := fmt.Sprintf("HTTP %d, grpc-status %q, grpc-message %q, %d message(s)", c.Status,
		c.Trailer.Get("grpc-status")+c.Header.Get("grpc-status"), c.Trailer.Get("grpc-message")+c.Header.Get("grpc-message"), len(c.Msgs))
	if c.Open {
		s += ", stream still open"
	}
	if c.Err != nil {
		s += ", error: " + c.Err.Error()
	}
	return s
}

// callOpts bend one call.
type callOpts struct {
	contentType string // default application/grpc+proto
	noVehicleID bool
	vehicleID   string // default the profile's VIN
	gzip        bool   // compress every message, declare grpc-encoding gzip
	readFor     time.Duration
}

// centerTLS is the harness-as-vehicle's TLS configuration: the profile's
// client identity and root, TLS 1.3, ALPN h2, SNI the center's name.
func centerTLS() (*tls.Config, error) {
	p := run.Profile
	cert, err := tls.LoadX509KeyPair(p.DUT.CertFile, p.DUT.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("profile %s: dut.cert_file/dut.key_file: %w", p.Source, err)
	}
	pem, err := os.ReadFile(p.DUT.RootCAFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, errors.New("dut.root_ca_file: no PEM certificate")
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots, ServerName: p.Center.Host, NextProtos: []string{"h2"},
		Certificates: []tls.Certificate{cert}, CurvePreferences: []tls.CurveID{tls.CurveP384, tls.CurveP521}}, nil
}

// frame encodes one length-prefixed message (PROTOCOL-HTTP2).
func frame(m proto.Message, compress bool) []byte {
	b, _ := proto.Marshal(m)
	flag := byte(0)
	if compress {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(b)
		_ = zw.Close()
		b, flag = buf.Bytes(), 1
	}
	out := make([]byte, 5, 5+len(b))
	out[0] = flag
	binary.BigEndian.PutUint32(out[1:], uint32(len(b)))
	return append(out, b...)
}

// centerCall makes one call of path on the center DUT's gRPC port with the
// request messages, and reads the answer to its end (or for o.readFor).
func centerCall(ctx context.Context, path string, msgs []proto.Message, o callOpts) wireCall {
	tc, err := centerTLS()
	if err != nil {
		return wireCall{Err: err}
	}
	addr := run.CenterDUTGRPCAddr()
	tr := &http2.Transport{TLSClientConfig: tc, DialTLSContext: func(ctx context.Context, network, _ string, cfg *tls.Config) (net.Conn, error) {
		return (&tls.Dialer{Config: cfg}).DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	var body bytes.Buffer
	for _, m := range msgs {
		body.Write(frame(m, o.gzip))
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+run.Profile.Center.Host+path, &body)
	if err != nil {
		return wireCall{Err: err}
	}
	ct := o.contentType
	if ct == "" {
		ct = "application/grpc+proto"
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("TE", "trailers")
	req.Header.Set("User-Agent", "icoc-harness/1.0 (center-DUT client) icoc-wire/1.0")
	req.Header.Set("grpc-accept-encoding", "gzip")
	if o.gzip {
		req.Header.Set("grpc-encoding", "gzip")
	}
	if !o.noVehicleID {
		vid := o.vehicleID
		if vid == "" {
			vid = run.Profile.DUT.VIN
		}
		req.Header.Set("vehicle_id", vid)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return wireCall{Err: err}
	}
	defer resp.Body.Close()
	out := wireCall{Status: resp.StatusCode, Header: resp.Header}
	var stop *time.Timer
	if o.readFor > 0 {
		stop = time.AfterFunc(o.readFor, cancel)
		defer stop.Stop()
	}
	hdr := make([]byte, 5)
	for {
		if _, err := io.ReadFull(resp.Body, hdr); err != nil {
			if err != io.EOF {
				out.Err = err
			}
			break
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		data := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, data); err != nil {
			out.Err = err
			break
		}
		m := wireMsg{Compressed: hdr[0]&1 == 1, Data: data}
		if m.Compressed {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err == nil {
				m.Data, err = io.ReadAll(zr)
			}
			if err != nil {
				out.Err = fmt.Errorf("response message %d: gzip: %w", len(out.Msgs)+1, err)
			}
		}
		out.Msgs = append(out.Msgs, m)
	}
	if o.readFor > 0 && ctx.Err() != nil && errors.Is(out.Err, context.Canceled) {
		out.Open, out.Err = true, nil
	}
	out.Trailer = resp.Trailer
	return out
}
