package visscases

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness/vissclient"
	"github.com/icoc-dev/icoc/spec/viss"
	. "github.com/onsi/ginkgo/v2"
)

// 002 B Server Capabilities and C Data Compression.
func init() {
	add(&specDef{
		topic: "server-tree",
		// "When a client has obtained the information how to connect to the server, then the server MUST respond to read requests for data from the Server tree." / 10: "Access control SHALL not be applied to [...] client requests for dynamic metadata about the server capabilities"
		v3:     &clause{"B", "When a client has obtained the information how to connect to the server, then the server MUST respond to read requests for data from the Server tree."},
		text:   "reads of Server.Support.Protocol and Server.Support.Filter without a token list ws (and mqtt with an MQTT endpoint) and the mandatory filters timebased and change",
		quirks: []string{"no-server-tree", "server-tree-protected"},
		body: func(t *T) {
			c := t.dial()
			protocols := []string{"ws"}
			if t.ep.MQTT != nil {
				protocols = append(protocols, "mqtt")
			}
			for _, q := range []struct {
				path string
				want []string
			}{{"Server.Support.Protocol", protocols}, {"Server.Support.Filter", []string{"timebased", "change"}}} {
				m := t.get(c, q.path, nil)
				v, _, ok := t.single(m)
				list, _ := v.([]any)
				for _, w := range q.want {
					t.check(ok && slices.Contains(list, any(w)), fmt.Sprintf("%s lists %v (register I-281)", q.path, q.want), string(m.Raw))
				}
			}
		},
	}, &specDef{
		topic: "dc",
		// "If a client request for data compression is not supported, or impossible to realize, the server shall respond with an error message."
		v3:     &clause{"C", "If a client request for data compression is not supported, or impossible to realize, the server shall respond with an error message."},
		text:   "a get asking for a data compression the Server tree does not declare is refused",
		quirks: []string{"dc-ignored"},
		body: func(t *T) {
			m, what := t.provoke("unsupported-dc")
			t.expectSituation(m, "unsupported-dc", what)
		},
	}, &specDef{
		topic: "dc-compress",
		// "The principle for request local path compression is that the server will in the response message(s) replace the path(s) with an integer index. In the case that the request only contains one path reference, then the index is always set to zero." / "This timestamp will then be the base time that the timestamps for the data point(s) in the response will contain an offset to. This offset will be represented as an integer representing milliseconds, prepended with a plus (+) or minus (-) sign."
		v3:     &clause{"C", "If the server supports data compression it SHALL declare the compression schemes it supports in its server capabilities tree with an expression A+B which is the sum of the values representing the supported schemes. [...] In the case that the request only contains one path reference, then the index is always set to zero. [...] This offset will be represented as an integer representing milliseconds, prepended with a plus (+) or minus (-) sign."},
		text:   "a get of one path asking for the declared request local path and request relative timestamp compression answers with path 0 and the capture time as a signed offset in milliseconds from the message's ts",
		quirks: []string{"dc-path-uncompressed", "dc-ts-seconds"},
		body: func(t *T) {
			c := t.dial()
			dc := t.declaredDC(c)
			a, b := 0, 0
			if dc.has("pathlocal") {
				_, a = dc.scheme("pathlocal")
			}
			if dc.has("timestamplocal") {
				_, b = dc.scheme("timestamplocal")
			}
			if a+b == 0 {
				t.skip("the Server tree declares neither request local path nor request relative timestamp compression (Server.Support.DataCompression, register I-330)")
			}
			t.put(map[string]float64{pathSpeed: 37})
			t.wait(t.settle())
			plain := t.get(c, pathSpeed, nil)
			_, ts0, ok := t.single(plain)
			capture, err := vissspec.ParseTimestamp(ts0)
			t.check(ok && err == nil, "a get of "+pathSpeed+" with a capture timestamp", string(plain.Raw))
			expr := fmt.Sprintf("%d+%d", a, b)
			// The answer's timestamps are compressed: judged here, not by
			// the timestamp format of 5.3.
			m, err := c.Request(t.ctx, map[string]any{"action": "get", "path": pathSpeed, "dc": expr}, t.s.answerTimeout())
			if err != nil {
				t.fail("an answer to a get with dc "+expr, err.Error())
			}
			if m.SchemaErr != nil {
				t.fail("an answer of the schema", m.SchemaErr.Error()+": "+string(m.Raw))
			}
			t.expectOK(m, "a get of "+pathSpeed+" with dc "+expr)
			pds := vissclient.DataPoints(m.Obj)
			if len(pds) != 1 || len(pds[0].DPs) != 1 {
				t.fail("one path with one data point", string(m.Raw))
			}
			if a != 0 {
				t.check(pds[0].Path == "0", `the path written as the index "0" (one path in the request)`, string(m.Raw))
			}
			if b != 0 {
				base, err := vissspec.ParseTimestamp(m.Str("ts"))
				off := pds[0].DPs[0].TS
				n, perr := strconv.Atoi(off)
				signed := len(off) > 1 && (off[0] == '+' || off[0] == '-')
				t.check(err == nil && perr == nil && signed, `a data point ts of a sign and an integer ("-123")`, string(m.Raw))
				got := base.Add(time.Duration(n) * time.Millisecond)
				d := got.Sub(capture)
				t.check(d > -2*time.Millisecond && d < 2*time.Millisecond,
					fmt.Sprintf("ts %s plus %s ms within 1 ms of the capture time %s", m.Str("ts"), off, ts0),
					fmt.Sprintf("%s: %s off: %s", got.UTC().Format(time.RFC3339Nano), d, m.Raw))
			}
		},
	})
}

// dcDecl is what a server declares in Server.Support.DataCompression:
// 002 B's feature names or a C expression A+B (register I-330), as the
// bits of each part.
type dcDecl struct {
	d        vissspec.Dialect
	path, ts int
}

// scheme returns the part and value of a named scheme (spec/viss data).
func (x dcDecl) scheme(name string) (part string, value int) {
	for _, c := range x.d.DataCompression {
		if c.Name == name {
			return c.Part, c.Value
		}
	}
	return "", 0
}

// has reports whether the named scheme is declared.
func (x dcDecl) has(name string) bool {
	part, v := x.scheme(name)
	switch part {
	case "path":
		return x.path&v != 0
	case "ts":
		return x.ts&v != 0
	}
	return false
}

// declaredDC reads Server.Support.DataCompression; a server without the
// node declares nothing.
func (t *T) declaredDC(c *vissclient.Conn) dcDecl {
	GinkgoHelper()
	d := dcDecl{d: t.d}
	m := t.get(c, "Server.Support.DataCompression", nil)
	v, _, _ := t.single(m)
	list, _ := v.([]any)
	if s, ok := v.(string); ok {
		list = []any{s}
	}
	for _, x := range list {
		s, _ := x.(string)
		if part, val := d.scheme(s); part == "path" {
			d.path |= val
		} else if part == "ts" {
			d.ts |= val
		} else if a, b, ok := strings.Cut(s, "+"); ok {
			na, err1 := strconv.Atoi(strings.TrimSpace(a))
			nb, err2 := strconv.Atoi(strings.TrimSpace(b))
			if err1 == nil && err2 == nil {
				d.path |= na
				d.ts |= nb
			}
		}
	}
	return d
}

// unsupported returns a dc expression the declaration does not cover and
// why: the first scheme of 002 C not declared, else a bit no scheme has.
func (x dcDecl) unsupported() (string, string) {
	for _, c := range x.d.DataCompression {
		if !x.has(c.Name) {
			expr := fmt.Sprintf("%d+0", c.Value)
			if c.Part == "ts" {
				expr = fmt.Sprintf("0+%d", c.Value)
			}
			return expr, "scheme " + c.Name + ", which the Server tree does not declare"
		}
	}
	return "8+0", "bit 3 of path compression, to which no scheme is assigned"
}
