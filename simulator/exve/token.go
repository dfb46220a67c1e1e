package exve

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/icoc-dev/icoc/simulator/center"
)

func init() {
	// exp and iat with millisecond precision: on a scaled clock a token of
	// a few spec seconds lives a fraction of a wall second (I-228).
	jwt.TimePrecision = time.Millisecond
	q("no-auth-check", "REQ_04_04_02", "serves requests without an Authorization header")
	q("accept-basic", "REQ_04_04_05", "takes a client's credentials by HTTP Basic on resource requests instead of a bearer token")
	q("accept-expired-token", "REQ_04_04_05", "takes an expired access token")
}

// TokenPath is the token endpoint's path below the base URI (20078-3's
// OAuth 2.0 framework, I-228): the client-credentials and refresh-token
// grants of RFC 6749.
const TokenPath = "/oauth2/token"

// grant is what a valid access token says.
type grant struct {
	client string
	scopes []string
}

func (g grant) has(scope string) bool { return scope == "" || slices.Contains(g.scopes, scope) }

type refreshGrant struct {
	client string
	scopes []string
}

// issuer is the offering party's token issuer and checker.
type issuer struct {
	key      []byte
	audience string
	clients  map[string]Client
	lifetime time.Duration
	wall     func(time.Duration) time.Duration
	mu       sync.Mutex
	refresh  map[string]refreshGrant
}

func newIssuer(cfg Config, audience string) *issuer {
	key := []byte(cfg.SigningKey)
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	is := &issuer{key: key, audience: audience, clients: map[string]Client{}, lifetime: cfg.TokenLifetime, wall: cfg.wall, refresh: map[string]refreshGrant{}}
	for _, c := range cfg.Clients {
		is.clients[c.ID] = c
	}
	return is
}

// claims are the access token's claims.
type claims struct {
	Scope string `json:"scope"`
	jwt.RegisteredClaims
}

// issue writes an access token for client with scopes.
func (is *issuer) issue(client string, scopes []string) (string, time.Duration, error) {
	life := is.lifetime
	if c := is.clients[client]; c.TokenLifetime > 0 {
		life = c.TokenLifetime
	}
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{
		Scope: strings.Join(scopes, " "),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: is.audience, Subject: client, Audience: jwt.ClaimStrings{is.audience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(is.wall(life))), ID: uuid.NewString(),
		},
	})
	s, err := t.SignedString(is.key)
	return s, life, err
}

// check validates a bearer token; skipExpiry is the accept-expired-token
// quirk.
func (is *issuer) check(token string, skipExpiry bool) (grant, error) {
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience(is.audience), jwt.WithIssuer(is.audience)}
	if skipExpiry {
		opts = append(opts, jwt.WithoutClaimsValidation())
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return is.key, nil }, opts...)
	if err != nil {
		return grant{}, err
	}
	if _, ok := is.clients[c.Subject]; !ok {
		return grant{}, errors.New("unknown client")
	}
	return grant{client: c.Subject, scopes: strings.Fields(c.Scope)}, nil
}

// tokenError is an RFC 6749 5.2 error answer.
func tokenError(status int, code, desc string) center.Answer {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	return center.Answer{Status: status, Header: h, Body: b, By: serviceName}
}

// serveToken is the token endpoint: client credentials (client_id and
// client_secret in the form or by HTTP Basic, scope optional: all the
// client's scopes) and refresh token grants.
func (op *OfferingParty) serveToken(x *center.Exchange, r *http.Request) center.Answer {
	if r.Method != http.MethodPost {
		return tokenError(http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST")
	}
	form, err := url.ParseQuery(string(x.Body))
	if err != nil {
		return tokenError(http.StatusBadRequest, "invalid_request", "the body is not application/x-www-form-urlencoded: "+err.Error())
	}
	is := op.tokens
	switch form.Get("grant_type") {
	case "client_credentials":
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = form.Get("client_id"), form.Get("client_secret")
		}
		c, known := is.clients[id]
		if !known || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
			return tokenError(http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		}
		scopes := c.Scopes
		if s := form.Get("scope"); s != "" {
			scopes = nil
			for _, sc := range strings.Fields(s) {
				if !slices.Contains(c.Scopes, sc) {
					return tokenError(http.StatusBadRequest, "invalid_scope", "scope "+sc+" is not granted to "+id)
				}
				scopes = append(scopes, sc)
			}
		}
		return is.tokenAnswer(id, scopes)
	case "refresh_token":
		is.mu.Lock()
		g, ok := is.refresh[form.Get("refresh_token")]
		is.mu.Unlock()
		if !ok {
			return tokenError(http.StatusBadRequest, "invalid_grant", "unknown refresh token")
		}
		return is.tokenAnswer(g.client, g.scopes)
	case "":
		return tokenError(http.StatusBadRequest, "invalid_request", "grant_type missing")
	}
	return tokenError(http.StatusBadRequest, "unsupported_grant_type", "grant_type "+form.Get("grant_type")+" is not supported")
}

func (is *issuer) tokenAnswer(client string, scopes []string) center.Answer {
	tok, life, err := is.issue(client, scopes)
	if err != nil {
		return tokenError(http.StatusInternalServerError, "server_error", err.Error())
	}
	rb := make([]byte, 16)
	_, _ = rand.Read(rb)
	rt := hex.EncodeToString(rb)
	is.mu.Lock()
	is.refresh[rt] = refreshGrant{client: client, scopes: scopes}
	is.mu.Unlock()
	b, _ := json.Marshal(map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(life / time.Second),
		"scope": strings.Join(scopes, " "), "refresh_token": rt,
	})
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	return center.Answer{Status: http.StatusOK, Header: h, Body: b, By: serviceName}
}

// authenticate checks the request's bearer token (REQ_04_04_02,
// REQ_04_04_05; 401 without one, with another scheme, or with a bad or
// expired token).
func (op *OfferingParty) authenticate(r *http.Request) (grant, *apiError) {
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	switch {
	case h == "" && op.q.Has("no-auth-check"):
		return grant{client: op.cfg.Clients[0].ID, scopes: op.cfg.Clients[0].Scopes}, nil
	case h == "":
		return grant{}, errf(http.StatusUnauthorized, "UNAUTHORIZED", "no Authorization header: every request carries a bearer token (REQ_04_04_02)")
	case strings.EqualFold(scheme, "Basic") && op.q.Has("accept-basic"):
		if id, secret, ok := r.BasicAuth(); ok {
			if c, known := op.tokens.clients[id]; known && c.Secret == secret {
				return grant{client: id, scopes: c.Scopes}, nil
			}
		}
		return grant{}, errf(http.StatusUnauthorized, "UNAUTHORIZED", "bad credentials")
	case !strings.EqualFold(scheme, "Bearer"):
		return grant{}, errf(http.StatusUnauthorized, "UNAUTHORIZED", "authentication scheme %q: only Bearer is accepted (REQ_04_04_05)", scheme)
	}
	g, err := op.tokens.check(strings.TrimSpace(cred), op.q.Has("accept-expired-token"))
	if err != nil {
		return grant{}, errf(http.StatusUnauthorized, "INVALID_TOKEN", "the bearer token is not valid: %v", err)
	}
	return g, nil
}
