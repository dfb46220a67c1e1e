package exveap

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func init() {
	q("wrong-host", "REQ_04_04_01", "sends a Host header that is not the offering party's host")
	q("no-auth-on-poll", "REQ_04_04_02", "polls an asynchronous Location without Authorization")
	q("token-scheme", "REQ_04_04_05", "sends its token with the scheme Token instead of Bearer")
	q("no-accept-on-post", "REQ_04_04_03", "sends POST requests without Accept")
	q("accept-any", "REQ_04_05_03", "asks for */* instead of a media type")
	q("unversioned-accept", "REQ_04_06_03", "sends Accept without exve-resourceversion")
	q("accept-latin1", "REQ_04_06_05", "asks for Accept-Charset iso-8859-1")
	q("poll-fast", "REQ_04_12_07", "polls ten times faster than asyncWait")
	variant("poll-slow", "REQ_04_12_07", "polls at twice asyncWait")
	q("poll-after-404", "REQ_04_12_13", "keeps polling a Location after 404")
	q("ignore-429", "REQ_04_08_06", "retries at once after 429 instead of waiting for X-Rate-Limit-Reset")
	q("no-token-refresh", "REQ_04_04_05", "repeats an expired access token instead of getting a new one")
	q("http-callback", "REQ_04_02_23, REQ_04_01_01", "gives a callbackBaseURI with http:// instead of https://")
	q("profile-no-expires", "REQ_04_03_01", "gives a subscription profile without expires_in")
}

// client is the accessing party's side as a client of the offering party.
type client struct {
	ap   *AP
	http *http.Client
	cc   *clientcredentials.Config

	mu    sync.Mutex
	token string
}

func newClient(a *AP) (*client, error) {
	roots, err := a.cfg.roots()
	if err != nil {
		return nil, fmt.Errorf("exve accessing party config: %w", err)
	}
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: false,
	}}
	cc := &clientcredentials.Config{ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret, TokenURL: a.cfg.TokenEndpoint,
		Scopes: a.cfg.Scopes, AuthStyle: oauth2.AuthStyleInParams}
	return &client{ap: a, http: hc, cc: cc}, nil
}

// accessToken returns the cached access token, or a new one (fresh, or
// none cached yet).
func (c *client) accessToken(ctx context.Context, fresh bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && !fresh {
		return c.token, nil
	}
	tok, err := c.cc.Token(context.WithValue(ctx, oauth2.HTTPClient, c.http))
	if err != nil {
		return "", fmt.Errorf("token from %s: %w", c.cc.TokenURL, err)
	}
	c.token = tok.AccessToken
	return c.token, nil
}

// Response is one answer the accessing party got.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body.
func (r Response) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// request kinds, for the quirks that bend one kind only.
const (
	kindRead = "read"
	kindPost = "post"
	kindPoll = "poll"
)

// do sends one request to the offering party with the headers of 4.4 to
// 4.6 (Host, Authorization: Bearer, a versioned Accept), renews its token
// once after a 401, and waits for X-Rate-Limit-Reset after a 429 (4.8).
func (c *client) do(ctx context.Context, method, target, useCase, kind string, body []byte) (Response, error) {
	u, err := url.Parse(target)
	if err != nil {
		return Response{}, err
	}
	if !u.IsAbs() {
		u, _ = url.Parse(strings.TrimRight(c.ap.cfg.OfferingParty, "/") + "/" + strings.TrimLeft(target, "/"))
	}
	renewed, limited := false, 0
	for {
		tok, err := c.accessToken(ctx, false)
		if err != nil {
			return Response{}, err
		}
		resp, err := c.send(ctx, method, u.String(), useCase, kind, tok, body)
		if err != nil {
			return Response{}, err
		}
		switch {
		case resp.Status == http.StatusUnauthorized && !renewed:
			renewed = true
			if !c.ap.q.Has("no-token-refresh") {
				if _, err := c.accessToken(ctx, true); err != nil {
					return resp, err
				}
			}
			continue
		case resp.Status == http.StatusTooManyRequests && limited < 3:
			limited++
			if !c.ap.q.Has("ignore-429") {
				if !waitReset(ctx, resp.Header.Get("X-Rate-Limit-Reset")) {
					return resp, ctx.Err()
				}
			}
			continue
		}
		return resp, nil
	}
}

// waitReset waits until the Unix time of X-Rate-Limit-Reset (plus a
// little, for the rounding to whole seconds); false when ctx ended.
func waitReset(ctx context.Context, reset string) bool {
	n, err := strconv.ParseInt(reset, 10, 64)
	d := time.Second
	if err == nil {
		d = time.Until(time.Unix(n, 0)) + 20*time.Millisecond
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (c *client) send(ctx context.Context, method, target, useCase, kind, tok string, body []byte) (Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return Response{}, err
	}
	q := c.ap.q
	accept := "application/json; charset=utf-8"
	if useCase != "" && !q.Has("unversioned-accept") {
		accept = "application/json; exve-resourceversion=" + useCase + ".v1.0; charset=utf-8"
	}
	if q.Has("accept-any") {
		accept = "*/*"
	}
	if !(kind == kindPost && q.Has("no-accept-on-post")) {
		req.Header.Set("Accept", accept)
	}
	if q.Has("accept-latin1") {
		req.Header.Set("Accept-Charset", "iso-8859-1")
	}
	switch {
	case kind == kindPoll && q.Has("no-auth-on-poll"):
	case q.Has("token-scheme"):
		req.Header.Set("Authorization", "Token "+tok)
	default:
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if q.Has("wrong-host") {
		req.Host = "exve.invalid"
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Actions the accessing party takes when the harness asks (Do).
const (
	// ActionRead reads one resource: args path, useCase.
	ActionRead = "read"
	// ActionBurst reads a resource count times in a row: args path,
	// useCase, count.
	ActionBurst = "burst"
	// ActionReadout reads DTCs from a vehicle by the asynchronous pattern
	// and polls until the end: args vehicleId, timeout (spec seconds).
	ActionReadout = "readout"
	// ActionSubscribe subscribes to a resource: args resource (the push
	// resource, e.g. odometerSubscriptions), vehicleId, tokenType
	// (refresh_token or bearer_token), expiresIn (spec seconds).
	ActionSubscribe = "subscribe"
)

// Do takes one action against the offering party; the error says what
// failed. It is how the harness drives the accessing party as the device
// under test.
func (a *AP) Do(ctx context.Context, action string, args map[string]string) error {
	c := a.client
	switch action {
	case ActionRead:
		_, err := c.do(ctx, http.MethodGet, args["path"], args["useCase"], kindRead, nil)
		return err
	case ActionBurst:
		n, _ := strconv.Atoi(args["count"])
		for i := 0; i < n; i++ {
			if _, err := c.do(ctx, http.MethodGet, args["path"], args["useCase"], kindRead, nil); err != nil {
				return err
			}
		}
		return nil
	case ActionReadout:
		return a.readout(ctx, args)
	case ActionSubscribe:
		return a.subscribe(ctx, args)
	}
	return fmt.Errorf("exve accessing party: unknown action %q", action)
}

// readout is the asynchronous pattern from the client's side (4.12): POST,
// then on 202 GET the Location every asyncWait until Complete, Fail or
// 404, never sooner.
func (a *AP) readout(ctx context.Context, args map[string]string) error {
	c := a.client
	secs, _ := strconv.ParseFloat(args["timeout"], 64)
	if secs <= 0 {
		secs = 120
	}
	deadline := time.Now().Add(a.cfg.wall(time.Duration(secs * float64(time.Second))))
	path := "/vehicles/" + url.PathEscape(args["vehicleId"]) + "/dtcReadouts?dtcStatus=ACTIVE"
	resp, err := c.do(ctx, http.MethodPost, path, "dtcReadout", kindPost, nil)
	if err != nil {
		return err
	}
	if resp.Status != http.StatusAccepted {
		return nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return errors.New("202 without Location")
	}
	if u, err := url.Parse(loc); err == nil && !u.IsAbs() {
		base, _ := url.Parse(a.cfg.OfferingParty)
		loc = base.ResolveReference(u).String()
	}
	wait := asyncWait(resp.JSON())
	extra := 0
	for time.Now().Before(deadline) {
		d := a.cfg.wall(wait)
		switch {
		case a.q.Has("poll-fast"):
			d /= 10
		case a.q.Has("poll-slow"):
			d *= 2
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		resp, err := c.do(ctx, http.MethodGet, loc, "dtcReadout", kindPoll, nil)
		if err != nil {
			return err
		}
		if resp.Status == http.StatusNotFound {
			if a.q.Has("poll-after-404") && extra < 3 {
				extra++
				continue
			}
			return nil
		}
		m := resp.JSON()
		st := ""
		for _, v := range m {
			if o, ok := v.(map[string]any); ok {
				st, _ = o["asyncStatus"].(string)
			}
		}
		if st == "Complete" || st == "Fail" {
			return nil
		}
		if w := asyncWait(m); w > 0 {
			wait = w
		}
	}
	return errors.New("readout: no result before the timeout")
}

// asyncWait finds asyncWait (milliseconds) in a readout body; 1 s when
// absent.
func asyncWait(m map[string]any) time.Duration {
	for _, v := range m {
		if o, ok := v.(map[string]any); ok {
			if w, ok := o["asyncWait"].(float64); ok && w > 0 {
				return time.Duration(w) * time.Millisecond
			}
		}
	}
	return time.Second
}

// subscribe creates a subscription with a full profile (Tables 15, 16).
func (a *AP) subscribe(ctx context.Context, args map[string]string) error {
	tt := args["tokenType"]
	if tt == "" {
		tt = "refresh_token"
	}
	secs, _ := strconv.ParseFloat(args["expiresIn"], 64)
	if secs <= 0 {
		secs = a.cfg.RefreshTokenLifetime.Seconds()
	}
	life := time.Duration(secs * float64(time.Second))
	cb := a.CallbackBaseURI()
	if a.q.Has("http-callback") {
		cb = "http://" + strings.TrimPrefix(cb, "https://")
	}
	p := map[string]any{"token_type": tt, "expires_in": int64(secs), "callbackBaseURI": cb}
	if tt == "refresh_token" {
		p["token"] = a.NewRefreshToken(life)
		p["tokenEndpoint"] = a.TokenEndpoint()
	} else {
		p["token"] = a.NewBearerToken(life)
	}
	if a.q.Has("profile-no-expires") {
		delete(p, "expires_in")
	}
	body, _ := json.Marshal(map[string]any{"profile": p})
	path := "/" + args["resource"]
	if v := args["vehicleId"]; v != "" {
		path += "?vehicleId=" + url.QueryEscape(v)
	}
	resp, err := a.client.do(ctx, http.MethodPost, path, "", kindPost, body)
	if err != nil {
		return err
	}
	if resp.Status != http.StatusCreated {
		return fmt.Errorf("subscription answered %d: %s", resp.Status, resp.Body)
	}
	return nil
}
