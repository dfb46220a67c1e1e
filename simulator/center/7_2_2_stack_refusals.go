package center

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// maxRefusedCapture bounds the bytes of a request kept to explain a
// refusal of the HTTP stack.
const maxRefusedCapture = 64 << 10

// h1Conn is an HTTP/1.1 connection as net/http's server sees it. It keeps
// the bytes of the request being read, and it recognises the answers
// net/http writes on its own, before any handler ran (a malformed request
// line or header, a missing Host, headers too large, an unsupported
// transfer coding): such a request still reaches the hooks, as an Exchange
// whose Malformed says what was wrong, and the DUT gets the spec's answer
// in place of net/http's plain text: the same status with an ERROR Result
// (7.2.2.9). net/http serves an HTTP/1.1 connection one request at a time,
// so a status line written when every request handed to the handler has
// been answered is the stack's own.
type h1Conn struct {
	*tls.Conn
	srv *Server
	hc  *handshakedConn

	mu        sync.Mutex
	read      []byte // bytes read since the last request reached the handler
	handled   int    // requests handed to the handler
	responses int    // final status lines written
}

// Read keeps what it reads for a refusal's explanation.
func (c *h1Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if len(c.read) < maxRefusedCapture {
			c.read = append(c.read, p[:min(n, maxRefusedCapture-len(c.read))]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

// startRequest is called by the handler for each request it receives.
func (c *h1Conn) startRequest() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handled++
	c.read = nil
}

// Write passes the handler's answers and replaces the stack's own.
func (c *h1Conn) Write(p []byte) (int, error) {
	code, ok := statusLine(p)
	if !ok || code < 200 {
		return c.Conn.Write(p)
	}
	c.mu.Lock()
	c.responses++
	stack := c.responses > c.handled
	if stack {
		c.handled = c.responses
	}
	raw := c.read
	c.read = nil
	c.mu.Unlock()
	if !stack {
		return c.Conn.Write(p)
	}
	c.srv.refused(c.hc, raw, code, p)
	return len(p), nil
}

// statusLine parses "HTTP/1.x NNN" at the start of p.
func statusLine(p []byte) (int, bool) {
	if len(p) < 12 || !bytes.HasPrefix(p, []byte("HTTP/1.")) || p[8] != ' ' {
		return 0, false
	}
	n, err := strconv.Atoi(string(p[9:12]))
	return n, err == nil
}

// refused records a request the HTTP stack refused before any handler ran
// and writes the spec's answer on the connection: the stack's status with
// an ERROR Result saying what was wrong.
func (s *Server) refused(hc *handshakedConn, raw []byte, code int, stackAnswer []byte) {
	x := &Exchange{Protocol: ProtoHTTP, Seq: s.reqSeq.Add(1), ReceivedAt: time.Now(), Header: http.Header{}}
	if hc != nil {
		x.Conn, x.TLS = hc.info, hc.hs
		if len(hc.hs.PeerCertificates) > 0 {
			x.VIN = hc.hs.PeerCertificates[0].Subject.CommonName
		}
	}
	x.Method, x.Path, x.Proto, x.Header, x.Malformed = explainBadRequest(raw, stackAnswer)
	x.Body, x.RawBodyLen = nil, 0
	_ = s.Decide(x) // the stack has answered already: the hooks only see it
	a := resultAnswer(code, x.Malformed+" (refused by the HTTP stack before any handler)")
	a.By = "http-stack"
	at := time.Now()
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %03d %s\r\n", code, http.StatusText(code))
	a.Header.Set("Content-Length", strconv.Itoa(len(a.Body)))
	a.Header.Set("Connection", "close")
	_ = a.Header.Write(&b)
	b.WriteString("\r\n")
	b.Write(a.Body)
	if hc != nil {
		_, _ = hc.Conn.Write(b.Bytes())
	}
	s.Answered(x, a, at)
	s.logf("center: conn %d: request refused by the HTTP stack (%d): %s", x.Conn.ID, code, x.Malformed)
}

// explainBadRequest reads what it can of a request net/http refused: its
// request line, the header lines that parse, and what is wrong with it.
func explainBadRequest(raw, stackAnswer []byte) (method, path, proto string, hdr http.Header, why string) {
	hdr = http.Header{}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
	if f := strings.Fields(lines[0]); len(f) == 3 {
		method, path, proto = f[0], f[1], f[2]
	}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok && httpguts.ValidHeaderFieldName(k) {
			hdr.Add(k, strings.TrimSpace(v))
		}
	}
	if req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw))); err != nil {
		why = "malformed request: " + err.Error()
	} else {
		switch {
		case req.ProtoAtLeast(1, 1) && len(req.Header["Host"]) == 0:
			why = "missing required Host header"
		case len(req.Header["Host"]) > 1:
			why = "more than one Host header"
		}
		for k, vs := range req.Header {
			for _, v := range vs {
				if why == "" && !httpguts.ValidHeaderFieldValue(v) {
					why = fmt.Sprintf("invalid value of header %q", k)
				}
			}
		}
	}
	if why == "" {
		// What net/http said on its status line, e.g. "431 Request Header
		// Fields Too Large" or "400 Bad Request: missing required Host
		// header".
		line, _, _ := bytes.Cut(stackAnswer, []byte("\r\n"))
		why = "refused by net/http: " + strings.TrimPrefix(string(line), "HTTP/1.1 ")
	}
	if len(raw) == 0 {
		why += " (the request's bytes were read with the previous request's body)"
	}
	return method, path, proto, hdr, why
}

// h2StackError records an HTTP/2 protocol error that net/http's server
// detected and answered itself, with RST_STREAM or GOAWAY, before any
// handler ran (http.HTTP2Config.CountError): an Exchange whose Malformed
// names the error in net/http's terms (e.g. conn_PROTOCOL_ERROR_
// settings_big_or_dups). net/http does not say on which connection or
// stream, so the Exchange has no connection facts and no request line.
// (Requests it answers 400 without a handler, a connection-specific header
// or a TE other than trailers, are not seen: register I-083.)
func (s *Server) h2StackError(errType string) {
	x := &Exchange{Protocol: ProtoHTTP, Seq: s.reqSeq.Add(1), ReceivedAt: time.Now(), Proto: "HTTP/2.0", Header: http.Header{}}
	kind, rest, _ := strings.Cut(errType, "_")
	frame := "RST_STREAM"
	if kind == "conn" {
		kind, frame = "connection", "GOAWAY"
	}
	code, name := rest, ""
	for _, c := range []string{"PROTOCOL_ERROR", "FLOW_CONTROL_ERROR", "FRAME_SIZE_ERROR", "COMPRESSION_ERROR", "STREAM_CLOSED", "REFUSED_STREAM", "INTERNAL_ERROR", "ENHANCE_YOUR_CALM", "SETTINGS_TIMEOUT", "CONNECT_ERROR", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED", "CANCEL", "NO_ERROR"} {
		if n, ok := strings.CutPrefix(rest, c+"_"); ok {
			code, name = c, n
		}
	}
	x.Malformed = fmt.Sprintf("HTTP/2 %s error %s (%s): net/http's HTTP/2 server sent %s", kind, code, name, frame)
	_ = s.Decide(x)
	s.Answered(x, Answer{Drop: true, By: "http2-stack"}, time.Now())
	s.logf("center: %s", x.Malformed)
}
