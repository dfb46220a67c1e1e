package openapi

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"testing"
)

// FuzzValidateRequest fuzzes the validation of the requests a vehicle
// sends the center (7.2.2.9): any method, path, vehicle_id, media type,
// encoding and body must be routed or refused (ErrNoRoute, ErrMethod) and
// then validated or refused with an error, never panic.
func FuzzValidateRequest(f *testing.F) {
	f.Add("POST", "/files/20260601_120000_D24_001_00_0000000001_c.bin", "JT1TESTVH00000001", "application/octet-stream", "", []byte("data"))
	f.Add("POST", "/api/7", "JT1TESTVH00000001", "application/json", "", []byte(`{"a":1}`))
	f.Add("GET", "/download/dl_00001.bin", "JT1TESTVH00000001", "", "", []byte(nil))
	f.Add("POST", "/files/x.bin", "", "text/plain", "gzip", []byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, method, path, vid, ctype, encoding string, body []byte) {
		u, err := url.Parse("https://center.icoc.test" + path)
		if err != nil || !validMethod(method) {
			return
		}
		r, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
		if err != nil {
			return
		}
		for k, v := range map[string]string{"vehicle_id": vid, "Content-Type": ctype, "Content-Encoding": encoding} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		rt, err := Find(r)
		if err != nil {
			return
		}
		_ = rt.ValidateRequest(context.Background(), r, body)
		_ = rt.ValidateResponse(context.Background(), r, 200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"status":"SUCCESS"}`))
	})
}

// validMethod is an HTTP token (what net/http accepts as a method).
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c <= ' ' || c >= 0x7f || bytes.ContainsRune([]byte(`()<>@,;:\"/[]?={}`), c) {
			return false
		}
	}
	return true
}
