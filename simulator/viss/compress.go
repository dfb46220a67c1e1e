package viss

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/spec/viss"
)

// 002 C Data Compression (register I-330): a get or subscribe of the v3
// dialect may ask with "dc":"A+B" for path compression A (1 static UID,
// 2 request local) and timestamp compression B (1 request relative). The
// reference servers support request local path compression and request
// relative timestamp compression; the VSS tree they serve has no static
// UIDs, so path compression 1 is refused, as are the bits 4 and 8 (no
// scheme is assigned to them) and anything that is not A+B.

// Data compression bits (002 C).
const (
	dcPathUID   = 1 // static UID path compression
	dcPathLocal = 2 // request local path compression
	dcTSLocal   = 1 // request relative timestamp compression
)

// dcSupported are the schemes the Server tree declares
// (Server.Support.DataCompression, 002 B feature names).
var dcSupported = []string{"pathlocal", "timestamplocal"}

// dcScheme is a parsed "A+B".
type dcScheme struct{ path, ts int }

// parseDC reads "A+B" (spaces around the plus allowed); ok is false when
// the expression is not two sums of the bits 1, 2, 4, 8.
func parseDC(s string) (dcScheme, bool) {
	a, b, ok := strings.Cut(s, "+")
	if !ok {
		return dcScheme{}, false
	}
	num := func(x string) (int, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil && n >= 0 && n <= 15
	}
	p, ok1 := num(a)
	t, ok2 := num(b)
	return dcScheme{p, t}, ok1 && ok2
}

// supported reports whether the server can realize the scheme: one path
// compression (none or request local), one timestamp compression (none or
// request relative).
func (d dcScheme) supported() bool {
	return (d.path == 0 || d.path == dcPathLocal) && (d.ts == 0 || d.ts == dcTSLocal)
}

// compressor applies a request's compression to its responses: the paths
// of a request with one path become "0"; those of a paths-filter request
// are written in full in its first response with data and as the index in
// their sorted list after that; data point timestamps become the signed
// offset in milliseconds from the message's ts.
type compressor struct {
	mu     sync.Mutex
	dc     dcScheme
	single bool
	index  map[string]int // sorted paths of the first response
}

// newCompressor returns the compressor of req, nil when it asked for none
// (or 0+0); e is the error when it asked for one the server does not
// support; the quirk dc-ignored answers such a request uncompressed.
func (srv *Server) newCompressor(req *request) (*compressor, *verr) {
	if !req.hasDC || srv.d.Name != "v3" {
		return nil, nil
	}
	dc, ok := parseDC(req.dc)
	if !ok || !dc.supported() {
		if srv.svc.quirks.Has("dc-ignored") {
			return nil, nil
		}
		return nil, srv.fail("unsupported-dc", "Unsupported feature")
	}
	if dc == (dcScheme{}) {
		return nil, nil
	}
	return &compressor{dc: dc, single: !req.filter.hasPaths}, nil
}

// apply returns the data of one message whose ts is msgTS, compressed.
func (c *compressor) apply(srv *Server, pds []pathData, msgTS time.Time) []pathData {
	if c == nil || len(pds) == 0 {
		return pds
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]pathData, len(pds))
	first := c.index == nil
	if first && !c.single {
		paths := make([]string, 0, len(pds))
		for _, pd := range pds {
			paths = append(paths, pd.path)
		}
		slices.Sort(paths)
		c.index = map[string]int{}
		for i, p := range paths {
			c.index[p] = i
		}
	}
	q := srv.svc.quirks
	for i, pd := range pds {
		out[i] = pd
		if c.dc.path == dcPathLocal && !q.Has("dc-path-uncompressed") {
			switch {
			case c.single:
				out[i].path = "0"
			case !first:
				if n, ok := c.index[pd.path]; ok {
					out[i].path = strconv.Itoa(n)
				}
			}
		}
		if c.dc.ts == dcTSLocal {
			out[i].dps = make([]dataPoint, len(pd.dps))
			for j, dp := range pd.dps {
				dp.tsText = tsOffset(dp.at.Sub(msgTS), q.Has("dc-ts-seconds"))
				out[i].dps[j] = dp
			}
		}
	}
	if first && c.single {
		c.index = map[string]int{}
	}
	return out
}

// tsOffset writes an offset as 002 C does: milliseconds with a sign
// ("-123", "+0"); the quirk dc-ts-seconds writes seconds.
func tsOffset(d time.Duration, seconds bool) string {
	n := d.Round(time.Millisecond).Milliseconds()
	if seconds {
		n = d.Round(time.Second).Milliseconds() / 1000
	}
	if n < 0 {
		return strconv.FormatInt(n, 10)
	}
	return "+" + strconv.FormatInt(n, 10)
}

// formatTS writes a timestamp of the v3 and Gen2 dialects (a seam for the
// byte-for-byte test of 002 C's example, whose timestamps have
// milliseconds).
var formatTS = vissspec.FormatTimestamp

// dpTS is a data point's timestamp as written: its compressed form, else
// the dialect's timestamp.
func (srv *Server) dpTS(dp dataPoint) string {
	if dp.tsText != "" {
		return dp.tsText
	}
	return srv.ts(dp.at)
}
