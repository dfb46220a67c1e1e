package center

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/icoc-dev/icoc/spec/grpcpb"
	"google.golang.org/protobuf/proto"
)

// fuzzGRPCLimit is the center's body limit in the fuzz target: small, so a
// length prefix cannot make it allocate much.
const fuzzGRPCLimit = 64 << 10

// grpcFrame is one length-prefixed message of 7.2.4.1 (PROTOCOL-HTTP2): the
// compressed flag, the 4-byte big-endian length, the message.
func grpcFrame(compressed bool, msg []byte) []byte {
	b := make([]byte, 5, 5+len(msg))
	if compressed {
		b[0] = 1
	}
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	return append(b, msg...)
}

func gzipped(tb testing.TB, p []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(p); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// readCall runs the center's gRPC request reader on a call body.
func readCall(stream []byte, gzipEnc bool) (ex *Exchange, replay []byte, rawLen int, digest []byte, err error) {
	s := &Server{cfg: Config{MaxBodyBytes: fuzzGRPCLimit}}
	r := httptest.NewRequest("POST", "/CanService/SendCans", bytes.NewReader(stream))
	if gzipEnc {
		r.Header.Set("grpc-encoding", "gzip")
	}
	ex = &Exchange{}
	rd, n, d, err := s.readGRPCRequest(r, ex)
	if rd != nil {
		replay, _ = io.ReadAll(rd)
	}
	return ex, replay, n, d, err
}

// FuzzGRPCRequest fuzzes the center's reader of a gRPC call body
// (readGRPCRequest: the length-prefixed messages of 7.2.4.1, gzip of
// I-107). Two properties:
//
//   - any body: no panic; the replay is exactly the bytes read; a body it
//     accepts is read to its end, message by message (5 + Len each); one
//     it refuses gets an error that says which part broke (the prefix, or
//     the message of its length).
//   - the body given is also a payload split at split bytes into messages
//     (the ~1 MB split of 7.2.4.1 in small), each gzipped when compress:
//     the reader reassembles it, with one message per part and the digest
//     of the payload.
func FuzzGRPCRequest(f *testing.F) {
	can, _ := proto.Marshal(&grpcpb.CanRequest{Data: []byte("CAN data, 7.2.4.4.1")})
	f.Add(grpcFrame(false, can), false, uint16(0), false)
	f.Add(append(grpcFrame(false, can), grpcFrame(false, can)...), false, uint16(7), true)
	f.Add(grpcFrame(true, gzipped(f, can)), true, uint16(3), true)
	f.Add(grpcFrame(true, []byte("not gzip")), true, uint16(1), false)
	f.Add([]byte{0, 0, 0}, false, uint16(1), false)                   // a prefix cut short
	f.Add([]byte{0, 0, 0, 0, 9, 'a'}, false, uint16(1), false)        // a message cut short
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff}, false, uint16(1), false) // a length over the limit
	f.Add([]byte{}, false, uint16(0), false)
	f.Add(bytes.Repeat([]byte{0x5a}, 1<<10), false, uint16(0), true) // 1 KiB in 1-byte gzipped messages
	f.Fuzz(func(t *testing.T, stream []byte, gzipEnc bool, split uint16, compress bool) {
		ex, replay, rawLen, _, err := readCall(stream, gzipEnc)
		if rawLen < 0 || rawLen > len(stream) || !bytes.Equal(replay, stream[:rawLen]) {
			t.Fatalf("read %d of %d bytes; replay %d bytes, not the bytes read", rawLen, len(stream), len(replay))
		}
		if err == nil {
			sum := 0
			for _, m := range ex.Messages {
				sum += 5 + m.Len
				if !m.Compressed && m.Size != m.Len {
					t.Fatalf("uncompressed message: Size %d, Len %d", m.Size, m.Len)
				}
			}
			if rawLen != len(stream) || sum != rawLen {
				t.Fatalf("accepted: read %d of %d bytes, messages cover %d", rawLen, len(stream), sum)
			}
		} else if msg := err.Error(); !strings.HasPrefix(msg, "message prefix: ") && !strings.HasPrefix(msg, "message ") {
			t.Fatalf("refused without saying which part broke: %q", msg)
		}

		// Round trip: split, frame, read back. The payload is cut to 1 KiB:
		// split into 1-byte gzipped messages it stays within the limit
		// (about 30 bytes of prefix and gzip framing a message).
		payload := stream
		if len(payload) > 1<<10 {
			payload = payload[:1<<10]
		}
		size := int(split)%512 + 1
		var body []byte
		parts := 0
		for off := 0; off < len(payload); off += size {
			p := payload[off:min(off+size, len(payload))]
			if compress {
				body = append(body, grpcFrame(true, gzipped(t, p))...)
			} else {
				body = append(body, grpcFrame(false, p)...)
			}
			parts++
		}
		ex, _, rawLen, digest, err := readCall(body, compress)
		if err != nil {
			t.Fatalf("a payload of %d bytes split at %d (gzip %v): %v", len(payload), size, compress, err)
		}
		want := sha256.Sum256(payload)
		if rawLen != len(body) || len(ex.Messages) != parts || !bytes.Equal(digest, want[:]) {
			t.Fatalf("a payload of %d bytes split at %d (gzip %v): read %d of %d bytes, %d messages of %d, digest %x want %x",
				len(payload), size, compress, rawLen, len(body), len(ex.Messages), parts, digest, want)
		}
		for i, m := range ex.Messages {
			if wantSize := min(size, len(payload)-i*size); m.Size != wantSize || m.Compressed != compress {
				t.Fatalf("message %d: size %d compressed %v, want %d %v", i+1, m.Size, m.Compressed, wantSize, compress)
			}
		}
	})
}
