package exve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Client is one of the harness's OAuth clients towards the offering party
// DUT. Its methods are safe for concurrent use.
type Client struct {
	e    *ExVe
	name string
	id   harness.ExVeClient
	http *http.Client

	mu     sync.Mutex
	token  string
	expiry time.Time // wall
	life   time.Duration
}

func newClient(e *ExVe, name string, id harness.ExVeClient) *Client {
	tr := &http.Transport{TLSClientConfig: e.TLSClientConfig(), MaxIdleConnsPerHost: 8, ForceAttemptHTTP2: false}
	return &Client{e: e, name: name, id: id, http: &http.Client{Transport: tr, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Name is "main", "limited" or "short".
func (c *Client) Name() string { return c.name }

// Token returns an access token of the client (client-credentials grant),
// cached until shortly before it expires.
func (c *Client) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Now().Before(c.expiry) {
		return c.token, nil
	}
	return c.fetch(ctx)
}

// FreshToken gets a new access token and returns it with its lifetime
// (spec time, the token endpoint's expires_in).
func (c *Client) FreshToken(ctx context.Context) (string, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tok, err := c.fetch(ctx)
	return tok, c.life, err
}

func (c *Client) fetch(ctx context.Context) (string, error) {
	cc := clientcredentials.Config{ClientID: c.id.ID, ClientSecret: c.id.Secret, TokenURL: c.e.TokenURL, Scopes: c.id.Scopes, AuthStyle: oauth2.AuthStyleInParams}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, c.http))
	if err != nil {
		return "", fmt.Errorf("token for client %s at %s: %w", c.id.ID, c.e.TokenURL, err)
	}
	c.token = tok.AccessToken
	// expires_in, as the library turned it into Expiry (whole seconds of
	// the device's clock: spec time).
	c.life = time.Duration(tok.ExpiresIn) * time.Second
	if c.life <= 0 && !tok.Expiry.IsZero() {
		c.life = time.Until(tok.Expiry).Round(time.Second)
	}
	if c.life <= 0 {
		c.life = time.Hour
	}
	// Renew at half the lifetime (spec time converted to wall).
	c.expiry = time.Now().Add(c.e.Run.Clock.Wall(c.life) / 2)
	return c.token, nil
}

// Response is one answer of the offering party, with what was asked.
type Response struct {
	Method string
	URL    string
	Status int
	Proto  string
	Header http.Header
	Body   []byte
	// Err is set when no answer came.
	Err error
	At  time.Time
}

// JSON decodes the body (numbers as float64); nil when it is not JSON.
func (r *Response) JSON() any {
	var v any
	if json.Unmarshal(r.Body, &v) != nil {
		return nil
	}
	return v
}

// Object is the body as a JSON object, or nil.
func (r *Response) Object() map[string]any {
	m, _ := r.JSON().(map[string]any)
	return m
}

// Describe renders the exchange for failure messages.
func (r *Response) Describe() string {
	if r.Err != nil {
		return fmt.Sprintf("%s %s: no answer: %v", r.Method, r.URL, r.Err)
	}
	body := string(r.Body)
	if len(body) > 600 {
		body = body[:600] + "..."
	}
	var hs []string
	for _, k := range []string{"Content-Type", "Location", "X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset", "Set-Cookie"} {
		if v := r.Header.Values(k); len(v) > 0 {
			hs = append(hs, k+": "+strings.Join(v, ", "))
		}
	}
	return fmt.Sprintf("%s %s -> %d %s [%s] %s", r.Method, r.URL, r.Status, r.Proto, strings.Join(hs, "; "), strings.TrimSpace(body))
}

// Opt changes one request.
type Opt func(*http.Request)

// Header sets a request header; an empty value removes it.
func Header(k, v string) Opt {
	return func(r *http.Request) {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
}

// Accept sets Accept.
func Accept(v string) Opt { return Header("Accept", v) }

// NoAuth sends no Authorization header.
func NoAuth() Opt { return Header("Authorization", "") }

// JSONBody sends v as a JSON body (a string or []byte is sent as is).
func JSONBody(v any) Opt {
	var b []byte
	switch t := v.(type) {
	case string:
		b = []byte(t)
	case []byte:
		b = t
	default:
		b, _ = json.Marshal(v)
	}
	return func(r *http.Request) {
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		if r.Header.Get("Content-Type") == "" {
			r.Header.Set("Content-Type", "application/json; charset=utf-8")
		}
	}
}

// URL makes path absolute against the base URI (an absolute URL is kept).
func (e *ExVe) URL(path string) string {
	if u, err := url.Parse(path); err == nil && u.IsAbs() {
		return path
	}
	return strings.TrimRight(e.Base.String(), "/") + "/" + strings.TrimLeft(path, "/")
}

// Do sends one request to the offering party with the client's bearer
// token and Accept: application/json; opts change it.
func (c *Client) Do(ctx context.Context, method, path string, opts ...Opt) *Response {
	target := c.e.URL(path)
	resp := &Response{Method: method, URL: target, At: time.Now()}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		resp.Err = err
		return resp
	}
	tok, err := c.Token(ctx)
	if err != nil {
		resp.Err = err
		return resp
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json; charset=utf-8")
	for _, o := range opts {
		o(req)
	}
	r, err := c.http.Do(req)
	if err != nil {
		resp.Err = err
		return resp
	}
	defer r.Body.Close()
	resp.Body, _ = io.ReadAll(io.LimitReader(r.Body, 32<<20))
	resp.Status, resp.Proto, resp.Header = r.StatusCode, r.Proto, r.Header
	return resp
}

// DialTLS makes a TLS handshake with the host of addr offering only
// versions min to max; the error is the handshake's.
func (e *ExVe) DialTLS(ctx context.Context, addr string, minV, maxV uint16) (tls.ConnectionState, error) {
	tc := e.TLSClientConfig()
	tc.MinVersion, tc.MaxVersion = minV, maxV
	if minV < tls.VersionTLS12 {
		for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
			tc.CipherSuites = append(tc.CipherSuites, s.ID)
		}
	}
	host, _, _ := net.SplitHostPort(addr)
	tc.ServerName = host
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: tc}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.(*tls.Conn).ConnectionState(), nil
}

// RawExchange sends text as it is (an HTTP/1.x request written by hand) to
// addr, over TLS or plain TCP, and returns the status line and headers of
// the answer ("" when none came) and the error that ended the read.
func (e *ExVe) RawExchange(ctx context.Context, addr string, useTLS bool, text string) (string, error) {
	var c net.Conn
	var err error
	d := &net.Dialer{Timeout: 10 * time.Second}
	if useTLS {
		tc := e.TLSClientConfig()
		tc.NextProtos = []string{"http/1.1"}
		host, _, _ := net.SplitHostPort(addr)
		tc.ServerName = host
		c, err = (&tls.Dialer{NetDialer: d, Config: tc}).DialContext(ctx, "tcp", addr)
	} else {
		c, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, text); err != nil {
		return "", err
	}
	br := bufio.NewReader(c)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			return head.String(), err
		}
		if line == "\r\n" || line == "\n" {
			return head.String(), nil
		}
	}
}

// Host is the offering party's host:port (its base URI's authority, with
// the default port made explicit).
func (e *ExVe) Host() string {
	if e.Base.Port() != "" {
		return e.Base.Host
	}
	return net.JoinHostPort(e.Base.Hostname(), "443")
}
