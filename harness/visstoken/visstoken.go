// Package visstoken is the harness's VISS access control ecosystem: an
// access grant token server (AGTS, POST /agts, ES256 grant tokens) and an
// access token server (ATS, POST /ats, HS256 access tokens signed with the
// secret the DUT's VISS server is provisioned with), both over HTTPS, after
// 001 8.3-8.5 and 002 10.3-10.5 (non-normative flows: VIN, context and
// proof in, a grant token out; grant token and purpose in, an access token
// out). Mint makes the tokens a conformance spec needs that no conformant
// token server would issue: expired, badly signed, for another vehicle.
package visstoken

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/icoc-dev/icoc/spec/viss"
)

// Servers are a running AGTS and ATS.
type Servers struct {
	agts, ats *httptest.Server
	key       *ecdsa.PrivateKey
	secret    []byte
	purposes  map[string]purpose
	// Lifetime of the tokens issued (default 10 minutes).
	Lifetime time.Duration
}

type purpose struct {
	contexts []map[string]any
}

// Start starts both servers on 127.0.0.1. secret signs access tokens;
// purposes is the purpose list (JSON, 001 8.7.1 / 002 10.7.1): the ATS
// refuses every request without one (002 10.7.1).
func Start(secret, purposes []byte) (*Servers, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	var pl struct {
		Purposes []struct {
			Short    string           `json:"short"`
			Contexts []map[string]any `json:"contexts"`
		} `json:"purposes"`
	}
	if err := json.Unmarshal(purposes, &pl); err != nil {
		return nil, fmt.Errorf("purpose list: %w", err)
	}
	s := &Servers{key: key, secret: secret, purposes: map[string]purpose{}, Lifetime: 10 * time.Minute}
	for _, p := range pl.Purposes {
		s.purposes[p.Short] = purpose{contexts: p.Contexts}
	}
	s.agts = httptest.NewTLSServer(http.HandlerFunc(s.serveAGTS))
	s.ats = httptest.NewTLSServer(http.HandlerFunc(s.serveATS))
	return s, nil
}

// Close stops both servers.
func (s *Servers) Close() {
	s.agts.Close()
	s.ats.Close()
}

// AGTSURL is the access grant token server's endpoint.
func (s *Servers) AGTSURL() string { return s.agts.URL + "/agts" }

// ATSURL is the access token server's endpoint.
func (s *Servers) ATSURL() string { return s.ats.URL + "/ats" }

type agtClaims struct {
	jwt.RegisteredClaims
	VIN string `json:"vin,omitempty"`
	CLX string `json:"clx"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveAGTS issues a short-term grant token: {"vin", "context", "proof",
// "aud"} -> {"token"}. The proof is not checked (the test ecosystem
// trusts its only client, the harness).
func (s *Servers) serveAGTS(w http.ResponseWriter, r *http.Request) {
	var req struct {
		VIN     string `json:"vin"`
		Context string `json:"context"`
		Proof   string `json:"proof"`
		Aud     string `json:"aud"`
	}
	if r.Method != http.MethodPost || r.URL.Path != "/agts" || json.NewDecoder(r.Body).Decode(&req) != nil || req.Context == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want POST /agts {vin, context, proof}"})
		return
	}
	now := time.Now()
	c := agtClaims{VIN: req.VIN, CLX: req.Context, RegisteredClaims: jwt.RegisteredClaims{
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(s.Lifetime)),
		Audience: jwt.ClaimStrings{req.Aud}, ID: uuid.NewString(),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodES256, c).SignedString(s.key)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

// serveATS validates a grant token and the purpose and issues an access
// token: {"token": AGT, "purpose"} -> {"token"}.
func (s *Servers) serveATS(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token   string `json:"token"`
		Purpose string `json:"purpose"`
	}
	if r.Method != http.MethodPost || r.URL.Path != "/ats" || json.NewDecoder(r.Body).Decode(&req) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want POST /ats {token, purpose}"})
		return
	}
	var c agtClaims
	_, err := jwt.ParseWithClaims(req.Token, &c, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithExpirationRequired())
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "access grant token: " + err.Error()})
		return
	}
	p, ok := s.purposes[req.Purpose]
	if !ok {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "purpose " + req.Purpose + " is not on the purpose list"})
		return
	}
	if !contextAllowed(p.contexts, c.CLX) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "client context " + c.CLX + " may not use purpose " + req.Purpose})
		return
	}
	aud := ""
	if len(c.Audience) > 0 {
		aud = c.Audience[0]
	}
	tok, err := s.sign(Claims{Audience: aud, Scope: req.Purpose, CLX: c.CLX, VIN: c.VIN, Expires: time.Now().Add(s.Lifetime)}, s.secret)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

// contextAllowed matches a user+app+device triplet against a purpose's
// contexts (v3 objects {"user","app","device"} whose values are a role or
// a list of roles; Gen2 arrays [user, app, device]).
func contextAllowed(contexts []map[string]any, clx string) bool {
	parts := strings.Split(clx, "+")
	if len(parts) != 3 {
		return false
	}
	has := func(v any, role string) bool {
		switch x := v.(type) {
		case string:
			return x == role
		case []any:
			return slices.ContainsFunc(x, func(e any) bool { return e == role })
		}
		return false
	}
	for _, c := range contexts {
		if has(c["user"], parts[0]) && has(c["app"], parts[1]) && has(c["device"], parts[2]) {
			return true
		}
	}
	return false
}

// Claims are the claims of an access token (001 8.5.3, 002 10.5.3).
type Claims struct {
	Audience string
	// Scope is a purpose short name, or (v3) a list of {"path",
	// "access_permission"} objects.
	Scope             any
	CLX               string
	VIN               string
	IssuedAt, Expires time.Time
}

func (s *Servers) sign(c Claims, secret []byte) (string, error) { return Mint(c, secret) }

// Mint signs an access token with secret (HS256): what the ATS issues, or,
// with an expiry in the past or a wrong secret, what it never would.
func Mint(c Claims, secret []byte) (string, error) {
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	m := jwt.MapClaims{
		"iat": c.IssuedAt.Unix(), "exp": c.Expires.Unix(), "scp": c.Scope, "aud": c.Audience, "jti": uuid.NewString(),
	}
	if c.CLX != "" {
		m["clx"] = c.CLX
	}
	if c.VIN != "" {
		m["vin"] = c.VIN
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, m).SignedString(secret)
}

// AccessToken runs the flow over HTTPS: a grant token for vin (may be "")
// and client context clx ("user+app+device"), then an access token for
// purpose, with the dialect's audience.
func (s *Servers) AccessToken(ctx context.Context, d vissspec.Dialect, vin, clx, purpose string) (string, error) {
	hc := s.agts.Client()
	post := func(u string, body any) (string, error) {
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var out struct {
			Token string `json:"token"`
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != http.StatusOK || out.Token == "" {
			return "", fmt.Errorf("%s: %s: %s", u, resp.Status, out.Error)
		}
		return out.Token, nil
	}
	agt, err := post(s.AGTSURL(), map[string]string{"vin": vin, "context": clx, "proof": "harness", "aud": d.AccessControl.Audience})
	if err != nil {
		return "", err
	}
	return post(s.ATSURL(), map[string]string{"token": agt, "purpose": purpose})
}

// ErrNoSecret is returned where a token would need the DUT's secret and
// the profile gives none.
var ErrNoSecret = errors.New("no access token secret (profile viss.access.secret_file)")
