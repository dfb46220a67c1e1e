package exve_test

import (
	"context"
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
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/simulator/exve"
	"github.com/icoc-dev/icoc/simulator/exveap"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const scale = 0.02

type rig struct {
	center *center.Server
	op     *exve.OfferingParty
	ap     *exveap.AP
	http   *http.Client
	token  string
}

// start runs a center with the offering party and an accessing party
// mounted on it, at a time scale of 0.02.
func start(t testing.TB, quirks ...string) *rig {
	return startWith(t, func(c *exve.Config) { c.Quirks = quirks })
}

// startWith is start with the offering party's config changed by mod.
func startWith(t testing.TB, mod func(*exve.Config)) *rig {
	t.Helper()
	cc := center.NewDefaultConfig()
	cc.CertFile = pki.Path(pki.CenterECDSA.ChainFile())
	cc.KeyFile = pki.Path(pki.CenterECDSA.KeyFile())
	cc.ClientCAFile = pki.Path(pki.Root.CertFile())
	c, err := center.New(cc)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	oc := exve.NewDefaultConfig()
	oc.CertFile, oc.KeyFile = cc.CertFile, cc.KeyFile
	oc.RootCAFiles = []string{cc.ClientCAFile}
	oc.TimeScale = scale
	mod(&oc)
	op, err := exve.New(oc, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	ac := exveap.NewDefaultConfig()
	ac.CertFile, ac.KeyFile = cc.CertFile, cc.KeyFile
	ac.RootCAFiles = []string{cc.ClientCAFile}
	ac.OfferingParty, ac.TokenEndpoint = op.BaseURI(), op.TokenEndpoint()
	ac.TimeScale = scale
	ap, err := exveap.New(ac)
	if err != nil {
		t.Fatal(err)
	}
	if err := ap.Mount(c, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	pem, _ := os.ReadFile(cc.ClientCAFile)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 30 * time.Second}
	ccfg := clientcredentials.Config{ClientID: "icoc-ap", ClientSecret: "icoc-ap-secret", TokenURL: op.TokenEndpoint()}
	tok, err := ccfg.Token(context.WithValue(context.Background(), oauth2.HTTPClient, hc))
	if err != nil {
		t.Fatal(err)
	}
	return &rig{center: c, op: op, ap: ap, http: hc, token: tok.AccessToken}
}

func (r *rig) do(t testing.TB, method, path string, body string, hdr ...string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	u := path
	if !strings.HasPrefix(path, "https://") {
		u = r.op.BaseURI() + path
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Authorization", "Bearer "+r.token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := r.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

func TestVehiclesAndData(t *testing.T) {
	r := start(t)
	st, h, m := r.do(t, "GET", "/vehicles?limit=5&sortOrder=desc", "")
	if st != 200 || m["exveTotal"] != "24" || len(m["vehicles"].([]any)) != 5 {
		t.Fatalf("vehicles: %d %v", st, m)
	}
	if ct := h.Get("Content-Type"); ct != "application/json; exve-resourceversion=vehicle.v1.0; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if h.Get("X-Rate-Limit-Limit") != "1000" || h.Get("X-Rate-Limit-Remaining") != "999" {
		t.Errorf("rate limit headers %v", h)
	}
	first := m["vehicles"].([]any)[0].(map[string]any)["id"]
	if first != exve.DemoVIN(24) {
		t.Errorf("desc order: first %v", first)
	}
	st, h, m = r.do(t, "GET", "/vehicles/"+exve.DemoVIN(3)+"/odometers", "", "Accept", "application/json; exve-resourceversion=odometer.v1.0")
	items := m["odometers"].([]any)
	if st != 200 || len(items) != 6 || h.Get("Content-Type") != "application/json; exve-resourceversion=odometer.v1.0; charset=utf-8" {
		t.Fatalf("odometers: %d %v %v", st, h, m)
	}
	if it := items[5].(map[string]any); it["value"] != 3061.5 || it["unit"] != "km" || it["tripMeter"] != nil {
		t.Errorf("odometer v1.0 item %v", it)
	}
	if st, _, _ := r.do(t, "GET", "/vehicles/"+exve.DemoVIN(3)+"/odometers", "", "Accept", "application/json; exve-resourceversion=odometer.v9.0"); st != 406 {
		t.Errorf("v9.0: %d", st)
	}
	if st, _, m := r.do(t, "GET", "/vehicles/*/odometers?id="+exve.DemoVIN(1)+"&id="+exve.DemoVIN(2), ""); st != 200 || m["exveTotal"] != "12" {
		t.Errorf("wildcard: %d %v", st, m["exveTotal"])
	}
	req, _ := http.NewRequest("GET", r.op.BaseURI()+"/vehicles", nil)
	resp, err := r.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 401 || e["exveErrorId"] == nil || e["exveErrorMsg"] == nil {
		t.Errorf("no token: %d %v", resp.StatusCode, e)
	}
}

func TestRateLimit(t *testing.T) {
	r := start(t)
	path := "/vehicles/" + exve.DemoVIN(1) + "/engineReadings"
	for i := 0; i < 50; i++ {
		if st, _, _ := r.do(t, "GET", path, ""); st != 200 {
			t.Fatalf("request %d: %d", i+1, st)
		}
	}
	st, h, m := r.do(t, "GET", path, "")
	if st != 429 || h.Get("X-Rate-Limit-Remaining") != "0" || m["exveErrorId"] != "RATE_LIMIT" {
		t.Errorf("51st: %d %v %v", st, h, m)
	}
}

func TestAsyncOfflineFails(t *testing.T) {
	r := start(t)
	st, h, m := r.do(t, "POST", "/vehicles/"+exve.DemoVIN(3)+"/dtcReadouts?dtcStatus=ACTIVE", "")
	if st != 202 || h.Get("Location") == "" {
		t.Fatalf("readout: %d %v %v", st, h, m)
	}
	loc := h.Get("Location")
	deadline := time.Now().Add(3 * time.Second)
	for {
		st, _, m = r.do(t, "GET", loc, "")
		d := m["dtcReadout"].(map[string]any)
		if d["asyncStatus"] == "Fail" {
			if d["exveErrorId"] == nil {
				t.Errorf("fail without reason: %v", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(700 * time.Millisecond) // retention 30 s spec
	if st, _, _ = r.do(t, "GET", loc, ""); st != 404 {
		t.Errorf("after the end time: %d", st)
	}
}

func TestSubscriptionPushAndDeactivation(t *testing.T) {
	r := start(t)
	const vin = "JT1TESTVH00000001"
	name, data := exve.DemoFile(2, time.Now().Add(-time.Minute))
	postUpload(t, r, name, data)
	waitFor(t, func() bool { _, ok := r.op.Fleet().Resolve(vin); return ok }, "the upload taken in")
	rt := r.ap.NewRefreshToken(0)
	body := `{"profile":{"token_type":"refresh_token","token":"` + rt + `","expires_in":3600,"tokenEndpoint":"` + r.ap.TokenEndpoint() + `","callbackBaseURI":"` + r.ap.CallbackBaseURI() + `"}}`
	st, h, m := r.do(t, "POST", "/odometerSubscriptions?vehicleId="+vin, body)
	if st != 201 || h.Get("Location") == "" || m["profileId"] == nil {
		t.Fatalf("subscribe: %d %v %v", st, h, m)
	}
	// A new upload of the vehicle is pushed.
	name, data = exve.DemoFile(2, time.Now())
	postUpload(t, r, name, data)
	waitFor(t, func() bool { return len(r.ap.Pushes()) > 0 }, "a push")
	p := r.ap.Pushes()[0]
	if p.Status != 200 || p.Method != "POST" || !strings.HasSuffix(p.Path, "/exVe/odometer") || !strings.HasPrefix(p.Header.Get("Authorization"), "Bearer ") {
		t.Errorf("push %+v", p)
	}
	if len(r.ap.TokenRequests()) != 1 {
		t.Errorf("token requests %+v", r.ap.TokenRequests())
	}
	// The callback answers 500 from now on: PUSH_HTTP_STATUS_CODE.
	plan := center.NewFaultPlan(center.Fault{Times: -1, Status: 500, Service: exveap.ServiceName, PathPrefix: "/exVe/odometer"})
	r.center.AddHook(plan)
	name, data = exve.DemoFile(2, time.Now().Add(time.Second))
	postUpload(t, r, name, data)
	waitFor(t, func() bool {
		for _, s := range r.op.Subscriptions() {
			if s.Status == "INACTIVE" {
				return s.Reason == "PUSH_HTTP_STATUS_CODE" && s.HTTPStatus == 500
			}
		}
		return false
	}, "deactivation with PUSH_HTTP_STATUS_CODE 500")
}

// postUpload stores a file as the center's upload API would and tells the
// hooks, the way a vehicle's upload reaches the offering party.
func postUpload(t testing.TB, r *rig, name string, data []byte) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(pki.Path(pki.Vehicle.ChainFile()), pki.Path(pki.Vehicle.KeyFile()))
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := os.ReadFile(pki.Path(pki.Root.CertFile()))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert},
		ServerName: "center.icoc.test", MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP384}}}}
	req, _ := http.NewRequest("POST", "https://"+r.center.Addr()+"/files/"+url.PathEscape(name), strings.NewReader(string(data)))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("vehicle_id", "JT1TESTVH00000001")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
}

func waitFor(t testing.TB, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
