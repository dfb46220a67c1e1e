package vehicle

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

func init() {
	registerQuirk(QuirkInfo{Name: "corrupt-upload", Clause: "7.2.2.9.1", Breaks: "flips one byte of the uploaded file"})
	registerQuirk(QuirkInfo{Name: "upper-extension", Clause: "Appendix 1 §2", Breaks: "names files with an upper-case extension"})
	registerQuirk(QuirkInfo{Name: "content-type", Clause: "7.2.2.3", Breaks: "sends this Content-Type instead of application/octet-stream", Arg: "string"})
	registerQuirk(QuirkInfo{Name: "ua-imei", Clause: "7.2.2.3", Breaks: "puts an IMEI into the User-Agent"})
	registerQuirk(QuirkInfo{Name: "no-vehicle-id", Clause: "7.2.2.3, 7.3", Breaks: "sends no vehicle_id header"})
	registerQuirk(QuirkInfo{Name: "hmac-header", Clause: "7.2.2.3", Breaks: "adds a proprietary X-D-Authenticate header"})
	registerQuirk(QuirkInfo{Name: "gzip-threshold", Clause: "Appendix 1 §1", Breaks: "compresses bodies from this many bytes on instead of 2 KB", Arg: "int"})
	registerQuirk(QuirkInfo{Name: "fake-gzip", Clause: "Appendix 1 §1 (RFC 9110 §8.4)", Breaks: "labels every body Content-Encoding: gzip but sends it uncompressed"})
	registerQuirk(QuirkInfo{Name: "no-vehicle-id-on-retry", Clause: "7.2.2.3, 7.3", Breaks: "sends the vehicle_id header on the first attempt of an upload only, not on its retries"})
	registerQuirk(QuirkInfo{Name: "gzip-always", Clause: "Appendix 1 §1 (I-018, I-061)", Variant: true,
		Breaks: "compresses every body with gzip, below 2 KB too, instead of from 2 KB on only"})
}

// uploadJob is one CAN data file waiting to be delivered.
type uploadJob struct {
	name     string
	data     []byte
	realTime bool
}

// post sends attempt number attempt (0: the first) of 7.2.2.9.1 (POST
// /files/{filename}) and returns the status code, or an error when no
// answer came.
func (v *Vehicle) post(ctx context.Context, job uploadJob, attempt int) (int, error) {
	body := job.data
	if v.quirks.Has("corrupt-upload") && len(body) > 0 {
		body = append([]byte(nil), body...)
		body[len(body)-1] ^= 0xFF
	}
	gzipped := false
	threshold := v.quirks.Int("gzip-threshold", v.doc.Options.GzipThresholdBytes)
	if v.quirks.Has("gzip-always") {
		threshold = 0
	}
	switch {
	case v.quirks.Has("fake-gzip"):
		gzipped = true // labelled, not compressed
	case len(body) >= threshold:
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body, gzipped = buf.Bytes(), true
	}
	u := v.base.JoinPath("files", url.PathEscape(job.name))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if ct := v.quirks.String("content-type"); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	ua := v.cfg.UserAgent
	if v.quirks.Has("ua-imei") {
		ua += " IMEI/356938035643809"
	}
	req.Header.Set("User-Agent", ua)
	if !v.quirks.Has("no-vehicle-id") && (attempt == 0 || !v.quirks.Has("no-vehicle-id-on-retry")) {
		req.Header.Set(v.cfg.VehicleIDHeader, v.VIN())
	}
	if v.quirks.Has("hmac-header") {
		req.Header.Set("X-D-Authenticate", "hmac-sha256 00ff")
	}
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := v.http.do(req)
	if err != nil {
		return 0, fmt.Errorf("upload %s: %w", job.name, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	v.http.done(resp)
	// 7.2.2.4: the reason phrase is never read; only the code counts.
	if v.quirks.Has("reason-phrase") && resp.ProtoMajor == 1 && resp.Status != fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)) {
		return http.StatusServiceUnavailable, nil // judged by the phrase: "not OK"
	}
	return resp.StatusCode, nil
}
