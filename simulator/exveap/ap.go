// Package exveap is the reference accessing party of ISO 20078-2 (ExVe web
// services, access): a client of an offering party, a TLS callback server
// that takes the pushes of subscribed resources and container events, and
// an OAuth 2.0 token endpoint that renews the access tokens the offering
// party pushes with (the refresh-token grant of RFC 6749 6, REQ_04_03_02).
//
// The callback and token endpoint form one center.Service: the harness
// mounts it on its reference center when it plays the accessing party (so
// every push lands on the harness's timeline and its fault plan can make
// the callback answer 401 or 500, stall, close, or the token endpoint
// fail: each deactivation reason of Table 27), and it serves on a listener
// of its own when the accessing party is the device under test. Quirks
// (Config.Quirks) break one requirement each, for the harness's self-test.
// The package never imports the harness.
package exveap

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/simulator/quirk"
)

// quirks holds every quirk and variant of the accessing party.
var quirks = quirk.NewRegistry("exve-ap")

func q(name, c, breaks string) {
	quirks.Register(quirk.Info{Name: name, Clause: "ISO 20078-2 " + c, Breaks: breaks})
}

func variant(name, c, choice string) {
	quirks.Register(quirk.Info{Name: name, Clause: "ISO 20078-2 " + c, Breaks: choice, Variant: true})
}

// KnownQuirks returns every quirk and variant, by name.
func KnownQuirks() map[string]quirk.Info { return quirks.Known() }

// IsVariant reports whether name is a variant rather than a quirk.
func IsVariant(name string) bool { return quirks.IsVariant(name) }

// ParseQuirks parses quirks ("name" or "name=value").
func ParseQuirks(list []string) (quirk.Set, error) { return quirks.Parse(list) }

func init() {
	q("push-500", "REQ_04_03_15, REQ_04_01_07", "answers every push 500")
	variant("callback-204", "REQ_04_03_15", "answers pushes 204 without a body instead of 200")
	q("callback-body-no-ct", "REQ_04_04_04", "answers pushes with a body but without Content-Type")
	q("callback-tls10", "REQ_04_01_03", "accepts TLS 1.0 on its callback")
	q("token-endpoint-broken", "REQ_04_03_02", "its token endpoint answers every refresh 400")
	q("callback-rejects-refreshed", "REQ_04_03_02", "its callback refuses the access tokens its own token endpoint issued")
}

// ServiceName names the accessing party's callback in the center's hooks.
const ServiceName = "exve-ap"

// TokenPath is the path of the token endpoint below the callback base path.
const TokenPath = "/oauth2/token"

// Config is everything the reference accessing party needs. Start from
// NewDefaultConfig. Durations are spec time, converted by TimeScale.
type Config struct {
	// BasePath is the callbackBaseURI's path ("/exVe", Table 15's example).
	BasePath string `yaml:"base_path"`
	// PublicHost is the host:port of the callbackBaseURI; empty: the
	// listener's address.
	PublicHost string `yaml:"public_host"`
	// Addr is where the callback listens when served on its own.
	Addr string `yaml:"addr"`
	// CertFile and KeyFile are the callback's server certificate and key.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// RootCAFiles are the roots the client trusts for the offering party,
	// besides the system's.
	RootCAFiles []string `yaml:"root_ca_files"`
	// OfferingParty is the offering party's base URI.
	OfferingParty string `yaml:"offering_party"`
	// TokenEndpoint is the offering party's token endpoint.
	TokenEndpoint string `yaml:"token_endpoint"`
	// ClientID and ClientSecret are the accessing party's credentials at
	// the offering party; Scopes those it asks for (empty: all granted).
	ClientID     string   `yaml:"client_id"`
	ClientSecret string   `yaml:"client_secret"`
	Scopes       []string `yaml:"scopes"`
	// RefreshTokenLifetime is the expires_in of the refresh tokens the
	// accessing party gives offering parties; AccessTokenLifetime the
	// lifetime of the access tokens its token endpoint issues.
	RefreshTokenLifetime time.Duration `yaml:"refresh_token_lifetime"`
	AccessTokenLifetime  time.Duration `yaml:"access_token_lifetime"`
	// TimeScale is wall seconds per spec second.
	TimeScale float64 `yaml:"time_scale"`
	// Quirks break one requirement each (self-test only).
	Quirks []string `yaml:"quirks"`
	// Logf, when set, receives one line per notable event.
	Logf func(format string, args ...any) `yaml:"-"`
}

// NewDefaultConfig returns a Config with everything but the certificates
// and the offering party set.
func NewDefaultConfig() Config {
	return Config{BasePath: "/exVe", Addr: "127.0.0.1:0", ClientID: "icoc-ap", ClientSecret: "icoc-ap-secret",
		RefreshTokenLifetime: 365 * 24 * time.Hour, AccessTokenLifetime: time.Hour, TimeScale: 1}
}

// Validate checks the config; the error names each bad field.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct{ name, path string }{{"cert_file", c.CertFile}, {"key_file", c.KeyFile}} {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("%s: not set", f.name))
		} else if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", f.name, err))
		}
	}
	if c.BasePath == "" || c.BasePath[0] != '/' {
		errs = append(errs, fmt.Errorf("base_path %q: want /name", c.BasePath))
	}
	if c.TimeScale <= 0 {
		errs = append(errs, fmt.Errorf("time_scale %v: must be positive", c.TimeScale))
	}
	if _, err := ParseQuirks(c.Quirks); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c Config) wall(d time.Duration) time.Duration { return time.Duration(float64(d) * c.TimeScale) }

// Push is one push the callback received, as it arrived.
type Push struct {
	At     time.Time
	Method string
	Path   string
	Host   string
	Header http.Header
	Body   []byte
	// Status is what the callback answered.
	Status int
}

// TokenRequest is one request to the accessing party's token endpoint.
type TokenRequest struct {
	At           time.Time
	GrantType    string
	RefreshToken string
	Status       int
}

// AP is one reference accessing party. Its methods are safe for concurrent
// use.
type AP struct {
	cfg  Config
	q    quirk.Set
	key  []byte
	base *url.URL // the callbackBaseURI

	mu       sync.Mutex
	refresh  map[string]time.Time // refresh token -> expiry (wall)
	pushes   []Push
	tokenReq []TokenRequest
	srv      *http.Server
	ln       net.Listener

	client *client
}

// New checks cfg and returns an accessing party; its callback is not yet
// reachable (Mount it on a center or Listen).
func New(cfg Config) (*AP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("exve accessing party config: %w", err)
	}
	qs, _ := ParseQuirks(cfg.Quirks)
	a := &AP{cfg: cfg, q: qs, refresh: map[string]time.Time{}}
	a.key = make([]byte, 32)
	_, _ = rand.Read(a.key)
	c, err := newClient(a)
	if err != nil {
		return nil, err
	}
	a.client = c
	return a, nil
}

// TLSConfig is the callback's server TLS: 1.2 or 1.3 (REQ_04_01_03; quirk
// callback-tls10: from 1.0).
func (a *AP) TLSConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(a.cfg.CertFile, a.cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("callback certificate: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	if a.q.Has("callback-tls10") {
		tc.MinVersion = tls.VersionTLS10
		for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
			tc.CipherSuites = append(tc.CipherSuites, s.ID)
		}
	}
	return tc, nil
}

// Mount serves the callback and token endpoint on center c (its hooks see
// every push); addr is the listen address.
func (a *AP) Mount(c *center.Server, addr string) error {
	tc, err := a.TLSConfig()
	if err != nil {
		return err
	}
	got, err := c.Mount(a, center.MountOptions{Addr: addr, TLS: tc})
	if err != nil {
		return err
	}
	a.setBase(got)
	return nil
}

// Listen serves the callback and token endpoint on a listener of its own
// (the accessing party as the device under test).
func (a *AP) Listen() error {
	tc, err := a.TLSConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("exve accessing party: listen on %s: %w", a.cfg.Addr, err)
	}
	a.ln = ln
	a.srv = &http.Server{TLSConfig: tc, ReadHeaderTimeout: time.Minute, ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		x := &center.Exchange{ReceivedAt: time.Now(), Method: r.Method, Path: r.URL.Path, Proto: r.Proto, Header: r.Header.Clone(), Body: body, Host: r.Host}
		ans := a.Serve(x, r)
		for k, vs := range ans.Header {
			w.Header()[k] = vs
		}
		if ans.Status == 0 {
			ans.Status = http.StatusInternalServerError
		}
		w.WriteHeader(ans.Status)
		_, _ = w.Write(ans.Body)
	})}
	go func() { _ = a.srv.ServeTLS(ln, "", "") }()
	a.setBase(ln.Addr().String())
	return nil
}

func (a *AP) setBase(addr string) {
	host := a.cfg.PublicHost
	if host == "" {
		host = addr
	}
	a.mu.Lock()
	a.base = &url.URL{Scheme: "https", Host: host, Path: a.cfg.BasePath}
	a.mu.Unlock()
}

// Close stops a callback served on its own listener.
func (a *AP) Close() {
	if a.srv != nil {
		_ = a.srv.Close()
	}
}

// CallbackBaseURI is the accessing party's base URI (REQ_04_02_23).
func (a *AP) CallbackBaseURI() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.base == nil {
		return ""
	}
	return a.base.String()
}

// CallbackAddr is the callback's host:port.
func (a *AP) CallbackAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln != nil {
		return a.ln.Addr().String()
	}
	if a.base == nil {
		return ""
	}
	return a.base.Host
}

// TokenEndpoint is the URL of the accessing party's token endpoint.
func (a *AP) TokenEndpoint() string { return a.CallbackBaseURI() + TokenPath }

// NewRefreshToken makes a refresh token the token endpoint will renew,
// valid RefreshTokenLifetime (spec time) from now; lifetime overrides it
// when positive.
func (a *AP) NewRefreshToken(lifetime time.Duration) string {
	if lifetime <= 0 {
		lifetime = a.cfg.RefreshTokenLifetime
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	t := "rt-" + hex.EncodeToString(b)
	a.mu.Lock()
	a.refresh[t] = time.Now().Add(a.cfg.wall(lifetime))
	a.mu.Unlock()
	return t
}

// NewBearerToken makes an access token the callback accepts, valid
// lifetime (spec time): for a bearer-token profile (REQ_04_03_03).
func (a *AP) NewBearerToken(lifetime time.Duration) string {
	t, _ := a.issue(lifetime)
	return t
}

func (a *AP) issue(lifetime time.Duration) (string, error) {
	now := time.Now()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer: "icoc-reference-ap", Subject: "offering-party", IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(a.cfg.wall(lifetime))), ID: uuid.NewString(),
	}).SignedString(a.key)
}

// Pushes returns every push the callback received, in order.
func (a *AP) Pushes() []Push {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Push(nil), a.pushes...)
}

// TokenRequests returns every request of the token endpoint, in order.
func (a *AP) TokenRequests() []TokenRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]TokenRequest(nil), a.tokenReq...)
}

// Name is the service's name in the center's hooks.
func (a *AP) Name() string { return ServiceName }

// Serve answers a push or a token request.
func (a *AP) Serve(x *center.Exchange, r *http.Request) center.Answer {
	rel, ok := strings.CutPrefix(x.Path, a.cfg.BasePath)
	if !ok {
		return jsonAnswer(http.StatusNotFound, map[string]string{"exveErrorId": "NOT_FOUND", "exveErrorMsg": "no callback at " + x.Path})
	}
	if rel == TokenPath {
		return a.serveToken(x)
	}
	p := Push{At: x.ReceivedAt, Method: x.Method, Path: x.Path, Host: x.Host, Header: x.Header.Clone(), Body: append([]byte(nil), x.Body...)}
	ans := a.answerPush(x)
	p.Status = ans.Status
	a.mu.Lock()
	a.pushes = append(a.pushes, p)
	a.mu.Unlock()
	return ans
}

// answerPush checks a push: POST, a valid bearer token, a JSON body.
func (a *AP) answerPush(x *center.Exchange) center.Answer {
	if a.q.Has("push-500") {
		return jsonAnswer(http.StatusInternalServerError, map[string]string{"exveErrorId": "INTERNAL", "exveErrorMsg": "the callback failed"})
	}
	if x.Method != http.MethodPost {
		return jsonAnswer(http.StatusMethodNotAllowed, map[string]string{"exveErrorId": "METHOD", "exveErrorMsg": "pushes are POST (REQ_04_03_15)"})
	}
	scheme, tok, _ := strings.Cut(x.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || !a.validAccess(tok) {
		return jsonAnswer(http.StatusUnauthorized, map[string]string{"exveErrorId": "UNAUTHORIZED", "exveErrorMsg": "the push carries no valid bearer token"})
	}
	var v any
	if json.Unmarshal(x.Body, &v) != nil {
		return jsonAnswer(http.StatusBadRequest, map[string]string{"exveErrorId": "BAD_BODY", "exveErrorMsg": "the push body is not JSON"})
	}
	if a.q.Has("callback-204") {
		return center.Answer{Status: http.StatusNoContent, By: ServiceName}
	}
	ans := jsonAnswer(http.StatusOK, map[string]any{"received": true})
	if a.q.Has("callback-body-no-ct") {
		ans.Header["Content-Type"] = nil // nil: not even the one net/http would sniff
	}
	return ans
}

// validAccess reports whether tok is an access token this accessing party
// issued and that has not expired.
func (a *AP) validAccess(tok string) bool {
	t, err := jwt.Parse(strings.TrimSpace(tok), func(*jwt.Token) (any, error) { return a.key, nil }, jwt.WithValidMethods([]string{"HS256"}))
	if err != nil || !t.Valid {
		return false
	}
	if a.q.Has("callback-rejects-refreshed") {
		if sub, _ := t.Claims.GetSubject(); sub == "refreshed" {
			return false
		}
	}
	return true
}

// serveToken is the refresh-token grant (RFC 6749 6).
func (a *AP) serveToken(x *center.Exchange) center.Answer {
	form, _ := url.ParseQuery(string(x.Body))
	tr := TokenRequest{At: x.ReceivedAt, GrantType: form.Get("grant_type"), RefreshToken: form.Get("refresh_token")}
	ans := a.tokenAnswer(x, form)
	tr.Status = ans.Status
	a.mu.Lock()
	a.tokenReq = append(a.tokenReq, tr)
	a.mu.Unlock()
	return ans
}

func (a *AP) tokenAnswer(x *center.Exchange, form url.Values) center.Answer {
	if a.q.Has("token-endpoint-broken") {
		return jsonAnswer(http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "broken token endpoint"})
	}
	if x.Method != http.MethodPost {
		return jsonAnswer(http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
	}
	if form.Get("grant_type") != "refresh_token" {
		return jsonAnswer(http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
	}
	a.mu.Lock()
	exp, ok := a.refresh[form.Get("refresh_token")]
	a.mu.Unlock()
	if !ok || time.Now().After(exp) {
		return jsonAnswer(http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "unknown or expired refresh token"})
	}
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer: "icoc-reference-ap", Subject: "refreshed", IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(a.cfg.wall(a.cfg.AccessTokenLifetime))), ID: uuid.NewString(),
	}).SignedString(a.key)
	if err != nil {
		return jsonAnswer(http.StatusInternalServerError, map[string]string{"error": "server_error"})
	}
	ans := jsonAnswer(http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(a.cfg.AccessTokenLifetime / time.Second)})
	ans.Header.Set("Cache-Control", "no-store")
	return ans
}

func jsonAnswer(status int, v any) center.Answer {
	b, _ := json.Marshal(v)
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	return center.Answer{Status: status, Header: h, Body: b, By: ServiceName}
}

// Reshape keeps a fault plan's answers as they are (the callback has no
// error format of its own to impose).
func (a *AP) Reshape(x *center.Exchange, ans center.Answer) center.Answer { return ans }

func (a *AP) logf(format string, args ...any) {
	if a.cfg.Logf != nil {
		a.cfg.Logf(format, args...)
	}
}

// roots are the client's roots: the system's plus RootCAFiles.
func (c Config) roots() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, p := range c.RootCAFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("root_ca_files: %w", err)
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("root_ca_files: %s: no PEM certificate", p)
		}
	}
	return pool, nil
}
