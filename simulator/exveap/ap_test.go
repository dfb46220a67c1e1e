package exveap

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
)

func newAP(t *testing.T, quirks ...string) (*AP, *http.Client) {
	t.Helper()
	c := NewDefaultConfig()
	c.CertFile, c.KeyFile = pki.Path(pki.CenterECDSA.ChainFile()), pki.Path(pki.CenterECDSA.KeyFile())
	c.Quirks = quirks
	a, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	pem, _ := os.ReadFile(pki.Path(pki.Root.CertFile()))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	return a, &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 10 * time.Second}
}

// refresh renews an access token at the accessing party's token endpoint.
func refresh(t *testing.T, a *AP, hc *http.Client, rt string) (int, string) {
	t.Helper()
	resp, err := hc.PostForm(a.TokenEndpoint(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	return resp.StatusCode, tok.AccessToken
}

func push(t *testing.T, a *AP, hc *http.Client, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", a.CallbackBaseURI()+"/odometer", strings.NewReader(`{"odometer":{"value":1}}`))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type") + " " + string(b)
}

func TestRefreshAndPush(t *testing.T) {
	a, hc := newAP(t)
	rt := a.NewRefreshToken(0)
	st, tok := refresh(t, a, hc, rt)
	if st != 200 || tok == "" {
		t.Fatalf("refresh: %d %q", st, tok)
	}
	if st, _ := refresh(t, a, hc, "rt-unknown"); st != 400 {
		t.Errorf("unknown refresh token: %d", st)
	}
	if st, body := push(t, a, hc, tok); st != 200 || !strings.HasPrefix(body, "application/json") {
		t.Errorf("push with a renewed token: %d %s", st, body)
	}
	if st, _ := push(t, a, hc, a.NewBearerToken(time.Hour)); st != 200 {
		t.Errorf("push with a bearer token: %d", st)
	}
	if st, _ := push(t, a, hc, "forged"); st != 401 {
		t.Errorf("push with a forged token: %d", st)
	}
	if st, _ := push(t, a, hc, ""); st != 401 {
		t.Errorf("push without a token: %d", st)
	}
	if n := len(a.Pushes()); n != 4 {
		t.Errorf("%d pushes recorded, want 4", n)
	}
	if len(a.TokenRequests()) != 2 {
		t.Errorf("token requests %+v", a.TokenRequests())
	}
}

func TestQuirksBreakTheirClause(t *testing.T) {
	a, hc := newAP(t, "token-endpoint-broken")
	if st, _ := refresh(t, a, hc, a.NewRefreshToken(0)); st != 400 {
		t.Errorf("token-endpoint-broken: %d", st)
	}
	a, hc = newAP(t, "callback-rejects-refreshed")
	_, tok := refresh(t, a, hc, a.NewRefreshToken(0))
	if st, _ := push(t, a, hc, tok); st != 401 {
		t.Errorf("callback-rejects-refreshed: %d", st)
	}
	a, hc = newAP(t, "push-500")
	if st, _ := push(t, a, hc, a.NewBearerToken(time.Hour)); st != 500 {
		t.Errorf("push-500: %d", st)
	}
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "cert_file") {
		t.Errorf("an empty config: %v", err)
	}
}
