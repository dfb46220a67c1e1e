package vehicle

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/icoc-dev/icoc/simulator/bench"
	"go.einride.tech/can"
)

func init() {
	registerQuirk(QuirkInfo{Name: "api-path", Clause: "7.2.2.9.3", Breaks: "calls APIs at /apis/{number} instead of /api/{number}"})
	registerQuirk(QuirkInfo{Name: "download-path", Clause: "7.2.2.9.4", Breaks: "downloads from /downloads/{filename} instead of /download/{filename}"})
	registerQuirk(QuirkInfo{Name: "download-retries", Clause: "7.2.2.6", Breaks: "retries a download this many times, where 7.2.2.6 says N/A", Arg: "int"})
}

// caller sends API calls and downloads one at a time until ctx ends.
func (v *Vehicle) caller(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case x := <-v.jobs:
			v.mu.Lock()
			pctx := v.power
			v.mu.Unlock()
			if pctx == nil || !v.sessionReady(pctx) || v.dropWhileSilent(x.name) {
				continue
			}
			v.exchange(pctx, x)
		}
	}
}

// onCallFrame queues an API call or a download a bench frame asks for, and
// reports whether f was one.
func (v *Vehicle) onCallFrame(f can.Frame) bool {
	m, ok := bench.DB().MessageByID(f.ID)
	if !ok || (m.Name != bench.MsgAPICallTrigger && m.Name != bench.MsgDownloadRequest) {
		return false
	}
	vals, err := m.Decode(f)
	if err != nil {
		v.logf("vehicle: %s: %v", m.Name, err)
		return true
	}
	var x exchange
	if m.Name == bench.MsgAPICallTrigger {
		x = v.apiCall(int(vals["APIID"]), uint32(vals["APIRequestID"]))
	} else {
		x = v.download(bench.DownloadFileName(uint16(vals["DownloadFileID"])))
	}
	select {
	case v.jobs <- x:
	default:
		v.logf("vehicle: %s dropped: too many calls waiting", x.name)
	}
	return true
}

// apiCall is 7.2.2.9.3, POST /api/{number}: the body carries the request
// ID. The reading of the register (I-059) gives it the real-time rule of
// 7.2.2.6, the one for answers needed within seconds.
func (v *Vehicle) apiCall(number int, requestID uint32) exchange {
	path := "/api/" + strconv.Itoa(number)
	if v.quirks.Has("api-path") {
		path = "/apis/" + strconv.Itoa(number)
	}
	body := []byte(fmt.Sprintf("request %s", RequestIDText(requestID)))
	return exchange{name: "API call " + path, ruleID: "upload-realtime", send: func(ctx context.Context, _ int) (int, error) {
		return v.send(ctx, http.MethodPost, path, body)
	}}
}

// download is 7.2.2.9.4, GET /download/{filename}; 7.2.2.6 gives downloads
// no retry (N/A).
func (v *Vehicle) download(name string) exchange {
	path := "/download/" + name
	if v.quirks.Has("download-path") {
		path = "/downloads/" + name
	}
	return exchange{name: "download " + name, ruleID: "download", send: func(ctx context.Context, _ int) (int, error) {
		return v.send(ctx, http.MethodGet, path, nil)
	}}
}

// send makes one request with the common headers of 7.2.2.3 and reads the
// whole answer.
func (v *Vehicle) send(ctx context.Context, method, path string, body []byte) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, v.base.JoinPath(path).String(), rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	req.Header.Set("User-Agent", v.cfg.UserAgent)
	req.Header.Set(v.cfg.VehicleIDHeader, v.VIN())
	resp, err := v.http.do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	v.http.done(resp)
	return resp.StatusCode, nil
}
