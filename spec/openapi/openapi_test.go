package openapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

const vin = "JT1TESTVH00000001"

func req(method, path, vid, ctype, body string) *http.Request {
	r, _ := http.NewRequest(method, "https://center.icoc.test"+path, strings.NewReader(body))
	if vid != "" {
		r.Header.Set("vehicle_id", vid)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	return r
}

func TestDocumentsLoad(t *testing.T) {
	names := map[string]bool{}
	for _, d := range Docs() {
		names[d.Name] = true
	}
	for _, n := range []string{"upload.yaml", "api-call.yaml", "download.yaml"} {
		if !names[n] {
			t.Errorf("%s not loaded", n)
		}
	}
}

func TestValidateRequests(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		r      *http.Request
		findOK bool
		valid  bool
	}{
		{"good upload", req("POST", "/files/x.bin", vin, "application/octet-stream", "data"), true, true},
		{"media type in upper case", req("POST", "/files/x.bin", vin, "Application/Octet-Stream", "data"), true, true},
		{"no vehicle_id", req("POST", "/files/x.bin", "", "application/octet-stream", "data"), true, false},
		{"15-character vehicle_id", req("POST", "/files/x.bin", vin[:15], "application/octet-stream", "data"), true, false},
		{"json body on an octet-stream API", req("POST", "/files/x.bin", vin, "application/json", "{}"), true, false},
		{"good API call", req("POST", "/api/12", vin, "application/octet-stream", "x"), true, true},
		{"good download", req("GET", "/download/x.bin", vin, "", ""), true, true},
		{"unknown path", req("POST", "/nowhere", vin, "application/octet-stream", "x"), false, false},
		{"wrong method", req("GET", "/files/x.bin", vin, "", ""), false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt, err := Find(c.r)
			if (err == nil) != c.findOK {
				t.Fatalf("Find: %v", err)
			}
			if err != nil {
				return
			}
			err = rt.ValidateRequest(ctx, c.r, []byte("data"))
			if (err == nil) != c.valid {
				t.Errorf("ValidateRequest: %v, want valid=%v", err, c.valid)
			}
		})
	}
}

func TestValidateResponse(t *testing.T) {
	ctx := context.Background()
	r := req("POST", "/files/x.bin", vin, "application/octet-stream", "data")
	rt, err := Find(r)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if err := rt.ValidateResponse(ctx, r, 200, h, []byte(`{"status":"SUCCESS","messages":["ok"]}`)); err != nil {
		t.Errorf("good Result refused: %v", err)
	}
	if err := rt.ValidateResponse(ctx, r, 200, h, []byte(`{"status":"FINE"}`)); err == nil {
		t.Error("status FINE accepted")
	}
}
