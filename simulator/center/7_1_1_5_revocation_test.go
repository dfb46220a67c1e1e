package center

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"golang.org/x/crypto/ocsp"
)

func testRevocationServer(t *testing.T) *RevocationServer {
	t.Helper()
	s, err := NewRevocationServer(RevocationConfig{
		CAs: []RevocationCA{
			{CertFile: pki.Path(pki.Intermediate.CertFile()), KeyFile: pki.Path(pki.Intermediate.KeyFile()), CRLPath: "/intermediate.crl", CRLFile: pki.Path(pki.IntermediateCRL)},
			{CertFile: pki.Path(pki.Root.CertFile()), KeyFile: pki.Path(pki.Root.KeyFile()), CRLPath: "/root.crl", CRLFile: pki.Path(pki.RootCRL)},
		},
		ResponderCertFile: pki.Path(pki.OCSPResponder.CertFile()), ResponderKeyFile: pki.Path(pki.OCSPResponder.KeyFile()),
		RogueResponderCertFile: pki.Path(pki.RogueOCSPResponder.CertFile()), RogueResponderKeyFile: pki.Path(pki.RogueOCSPResponder.KeyFile()),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func mustCert(t *testing.T, n pki.Name) *x509.Certificate {
	c, err := pki.LoadCertificate(n)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRevocationServerCRLCaching(t *testing.T) {
	s := testRevocationServer(t)
	base := "http://" + s.Addr()
	resp, body := get(t, base+"/intermediate.crl", nil)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("first GET: %d %v", resp.StatusCode, resp.Header)
	}
	rl, err := x509.ParseRevocationList(body)
	if err != nil || rl.CheckSignatureFrom(mustCert(t, pki.Intermediate)) != nil {
		t.Fatalf("CRL: %v", err)
	}
	r2, _ := get(t, base+"/intermediate.crl", map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	r3, _ := get(t, base+"/intermediate.crl", map[string]string{"If-Modified-Since": resp.Header.Get("Last-Modified")})
	if r2.StatusCode != 304 || r3.StatusCode != 304 {
		t.Errorf("revalidation: %d, %d; want 304", r2.StatusCode, r3.StatusCode)
	}
	if err := s.Publish("/intermediate.crl", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	r4, body4 := get(t, base+"/intermediate.crl", map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	if r4.StatusCode != 200 || !(strings.Contains(r4.Header.Get("Cache-Control"), "max-age=29") || strings.Contains(r4.Header.Get("Cache-Control"), "max-age=30")) {
		t.Errorf("after publish: %d %v", r4.StatusCode, r4.Header)
	}
	rl4, _ := x509.ParseRevocationList(body4)
	if rl4 == nil || rl4.Number.Cmp(rl.Number) <= 0 || len(rl4.RevokedCertificateEntries) != len(rl.RevokedCertificateEntries) {
		t.Errorf("re-published CRL: %+v", rl4)
	}
	if n := len(s.Fetches(time.Time{})); n != 4 {
		t.Errorf("%d fetches recorded, want 4", n)
	}
}

func TestRevocationServerFaults(t *testing.T) {
	s := testRevocationServer(t)
	base := "http://" + s.Addr()
	inter := mustCert(t, pki.Intermediate)
	s.SetFaults(RevocationFault{Times: 1, Kind: "crl", Status: 503}, RevocationFault{Times: 1, Kind: "crl", Corrupt: true}, RevocationFault{Times: 1, Kind: "crl", Expired: true})
	if r, _ := get(t, base+"/intermediate.crl", nil); r.StatusCode != 503 {
		t.Errorf("status fault: %d", r.StatusCode)
	}
	_, b := get(t, base+"/intermediate.crl", nil)
	if rl, err := x509.ParseRevocationList(b); err != nil || rl.CheckSignatureFrom(inter) == nil {
		t.Errorf("corrupt fault: signature still verifies (%v)", err)
	}
	_, b = get(t, base+"/intermediate.crl", nil)
	if rl, err := x509.ParseRevocationList(b); err != nil || rl.CheckSignatureFrom(inter) != nil || rl.NextUpdate.After(time.Now()) {
		t.Errorf("expired fault: %v", err)
	}
	if _, b = get(t, base+"/intermediate.crl", nil); !bytes.Equal(b, mustRead(t, pki.IntermediateCRL)) {
		t.Error("after the plan: not the committed CRL")
	}
}

func mustRead(t *testing.T, f string) []byte {
	b, err := readFile(pki.Path(f))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRevocationServerOCSP(t *testing.T) {
	s := testRevocationServer(t)
	base := "http://" + s.Addr()
	inter := mustCert(t, pki.Intermediate)
	for _, c := range []struct {
		n    pki.Name
		want int
	}{{pki.CenterECDSA, ocsp.Good}, {pki.CenterRevoked, ocsp.Revoked}, {pki.VehicleRevoked, ocsp.Revoked}} {
		req, _ := ocsp.CreateRequest(mustCert(t, c.n), inter, nil)
		resp, b := get(t, base+"/"+base64.StdEncoding.EncodeToString(req), nil)
		if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" {
			t.Fatalf("%s: %d", c.n, resp.StatusCode)
		}
		r, err := ocsp.ParseResponseForCert(b, mustCert(t, c.n), inter)
		if err != nil || r.Status != c.want {
			t.Errorf("%s: status %v err %v", c.n, r, err)
		}
	}
	// The intermediate is answered by the root itself.
	req, _ := ocsp.CreateRequest(inter, mustCert(t, pki.Root), nil)
	_, b := get(t, base+"/"+base64.StdEncoding.EncodeToString(req), nil)
	if r, err := ocsp.ParseResponseForCert(b, inter, mustCert(t, pki.Root)); err != nil || r.Status != ocsp.Good {
		t.Errorf("intermediate: %v", err)
	}
	s.SetFaults(RevocationFault{Times: 1, WrongResponder: true})
	req, _ = ocsp.CreateRequest(mustCert(t, pki.Vehicle), inter, nil)
	_, b = get(t, base+"/"+base64.StdEncoding.EncodeToString(req), nil)
	if r, err := ocsp.ParseResponseForCert(b, mustCert(t, pki.Vehicle), inter); err == nil {
		t.Errorf("wrong responder verified: %+v", r)
	}
}

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }
