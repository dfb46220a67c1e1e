package vehicle

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/icoc-dev/icoc/spec"
)

func init() {
	registerQuirk(QuirkInfo{Name: "corrupt-upload", Clause: "7.2.2.9.1", Breaks: "flips one byte of the uploaded file"})
	registerQuirk(QuirkInfo{Name: "upper-extension", Clause: "Appendix 1 §2", Breaks: "names files with an upper-case extension"})
}

// uploadJob is one CAN data file waiting to be delivered.
type uploadJob struct {
	name     string
	data     []byte
	realTime bool
}

// uploader delivers queued files one at a time until ctx ends.
func (v *Vehicle) uploader(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-v.jobs:
			v.deliver(ctx, job)
		}
	}
}

// post sends one attempt of 7.2.2.9.1 (POST /files/{filename}) and returns
// the status code, or an error when no answer came.
func (v *Vehicle) post(ctx context.Context, job uploadJob) (int, error) {
	body := job.data
	if v.quirks.Has("corrupt-upload") && len(body) > 0 {
		body = append([]byte(nil), body...)
		body[len(body)-1] ^= 0xFF
	}
	gzipped := false
	if len(body) >= spec.GzipThreshold {
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
	req.Header.Set("User-Agent", v.cfg.UserAgent)
	req.Header.Set(v.cfg.VehicleIDHeader, v.VIN())
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
	return resp.StatusCode, nil
}
