package visscases

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/vissclient"
	"github.com/icoc-dev/icoc/harness/visstoken"
	"github.com/icoc-dev/icoc/simulator/viss/vssmap"
	"github.com/icoc-dev/icoc/spec/viss"
	. "github.com/onsi/ginkgo/v2"
)

// T is one running spec: its dialect and endpoint, the requirement it
// judges, and the connections it opened.
type T struct {
	ctx   context.Context
	s     *suite
	d     vissspec.Dialect
	ep    harness.VISSEndpoint
	req   harness.Requirement
	conns []*vissclient.Conn
	mq    *vissclient.MQTTClient // the spec's MQTT connection, if any
}

func (t *T) run() *harness.Run { return t.s.r() }

func (t *T) cleanup() {
	for _, c := range t.conns {
		_ = c.Close()
	}
	if t.mq != nil {
		_ = t.mq.Close()
	}
}

// wall converts spec time to wall time.
func (t *T) wall(d time.Duration) time.Duration { return t.run().Clock.Wall(d) }

// wait lets spec time pass.
func (t *T) wait(d time.Duration) { t.run().Wait(t.ctx, d) }

// gap is the least spec time between two captures of a sequence.
func (t *T) gap() time.Duration { return t.run().VISS.SampleGap }

// settle is the spec time the DUT is given to take a frame off the bus.
func (t *T) settle() time.Duration { return t.gap() }

// fail fails the spec with the requirement, what was expected and what
// was seen (and the connection's messages).
func (t *T) fail(expected, actual string) {
	GinkgoHelper()
	if log := t.log(); log != "" {
		actual += "\nmessages received:\n" + log
	}
	for _, c := range t.conns {
		if as := c.Attempts(); len(as) > 0 {
			actual += "\nrequests (spec time):\n" + harness.Timeline(as, t.run().Clock)
		}
	}
	Fail(harness.Verdict(t.req, expected, actual))
}

// check fails unless ok.
func (t *T) check(ok bool, expected, actual string) {
	GinkgoHelper()
	if !ok {
		t.fail(expected, actual)
	}
}

// log renders the last messages the spec's connections received.
func (t *T) log() string {
	var b strings.Builder
	for _, c := range t.conns {
		msgs := c.Log()
		if len(msgs) > 12 {
			fmt.Fprintf(&b, "  ... (%d earlier)\n", len(msgs)-12)
			msgs = msgs[len(msgs)-12:]
		}
		for _, m := range msgs {
			if m.Topic != "" {
				fmt.Fprintf(&b, "  %s on %s: %s\n", m.At.Format("15:04:05.000"), m.Topic, m.Raw)
				continue
			}
			fmt.Fprintf(&b, "  %s %s\n", m.At.Format("15:04:05.000"), m.Raw)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// schemaReq is the rule every received message is held to.
func (t *T) schemaReq() harness.Requirement {
	if t.d.Name == vissspec.V3 {
		return harness.Requirement{Clause: "VISSv3 A (JSON Schema)", Rule: "The primary payloads that are sent over any transport protocol SHALL conform with the JSON schema in this appendix"}
	}
	return harness.Requirement{Clause: "VISSgen2 T6.2 (JSON Schema Definitions)", Rule: "The payload that is sent over the supported transport protocols SHALL use the JSON definitions in this appendix"}
}

// conform fails when a received message breaks the schema or the
// timestamp format.
func (t *T) conform(m *vissclient.Message) {
	GinkgoHelper()
	if p := m.Problems(); p != "" {
		Fail(harness.Verdict(t.schemaReq(), "a message of the dialect's schema with timestamps YYYY-MM-DDTHH:MM:SS[.ssssss]Z", fmt.Sprintf("%s\n%s", m.Raw, p)))
	}
}

// dial opens a wss connection with the dialect's subprotocol.
func (t *T) dial() *vissclient.Conn {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(t.ctx, t.s.answerTimeout())
	defer cancel()
	c, _, err := vissclient.Dial(ctx, t.ep, t.run().VISS.TLS, nil)
	if err != nil {
		t.fail("a wss connection with subprotocol "+t.d.Subprotocol, err.Error())
	}
	t.conns = append(t.conns, c)
	return c
}

// path writes a dotted path the way the dialect's examples do (Gen2:
// slashes).
func (t *T) path(p string) string {
	if t.d.Name == vissspec.Gen2 {
		return strings.ReplaceAll(p, ".", "/")
	}
	return p
}

// request sends msg and returns the answer, which must conform to the
// schema.
func (t *T) request(c *vissclient.Conn, msg map[string]any) *vissclient.Message {
	GinkgoHelper()
	m, err := c.Request(t.ctx, msg, t.s.answerTimeout())
	if err != nil {
		b, _ := json.Marshal(msg)
		t.fail("an answer to "+string(b), err.Error())
	}
	t.conform(m)
	return m
}

// get reads path (with extra fields: filter, authorization, dc).
func (t *T) get(c *vissclient.Conn, path string, extra map[string]any) *vissclient.Message {
	GinkgoHelper()
	msg := map[string]any{"action": "get", "path": path}
	for k, v := range extra {
		msg[k] = v
	}
	return t.request(c, msg)
}

// expectOK fails unless m answers without an error.
func (t *T) expectOK(m *vissclient.Message, what string) {
	GinkgoHelper()
	if _, bad := m.Error(); bad {
		t.fail(what+" answered without an error", string(m.Raw))
	}
}

// expectSituation fails unless m is an error the situation allows.
func (t *T) expectSituation(m *vissclient.Message, situation, what string) {
	GinkgoHelper()
	s := t.d.MustSituation(situation)
	n, reason, ok := m.ErrorCode()
	if !ok {
		t.fail(what+" refused with "+s.Describe(), "no error: "+string(m.Raw))
	}
	if !s.Accepts(n, reason) {
		t.fail(what+" refused with "+s.Describe(), fmt.Sprintf("error %d %s: %s", n, reason, m.Raw))
	}
}

// single returns the value and capture timestamp of a one-value answer or
// event (v3: data.dp; Gen2: value and timestamp).
func (t *T) single(m *vissclient.Message) (value any, ts string, ok bool) {
	if t.d.Name == vissspec.Gen2 {
		v, has := m.Obj["value"]
		return v, m.Str("timestamp"), has
	}
	pds := vissclient.DataPoints(m.Obj)
	if len(pds) != 1 || len(pds[0].DPs) != 1 {
		return nil, "", false
	}
	return pds[0].DPs[0].Value, pds[0].DPs[0].TS, true
}

// values returns path -> value of a multi-value answer (v3 data; Gen2 an
// array of {path, value}, or a single value for the request's path).
func (t *T) values(m *vissclient.Message) map[string]any {
	out := map[string]any{}
	if t.d.Name == vissspec.Gen2 {
		switch v := m.Obj["value"].(type) {
		case []any:
			for _, x := range v {
				o, _ := x.(map[string]any)
				p, _ := o["path"].(string)
				out[strings.ReplaceAll(p, "/", ".")] = o["value"]
			}
		default:
			out[""] = v
		}
		return out
	}
	for _, pd := range vissclient.DataPoints(m.Obj) {
		if len(pd.DPs) > 0 {
			out[pd.Path] = pd.DPs[0].Value
		}
	}
	return out
}

// oracle returns the run's CAN-to-VSS oracle.
func (t *T) oracle() *vissclient.Oracle { return t.s.theOracle() }

// put puts one frame on the bus setting the given paths; the paths must
// be in the DUT's map (else the spec is not applicable).
func (t *T) put(values map[string]float64) []vissclient.Capture {
	GinkgoHelper()
	for p := range values {
		t.needMapped(p)
	}
	_, cs, err := t.oracle().Put(t.ctx, values)
	if err != nil {
		Fail("harness: CAN stimulus: " + err.Error())
	}
	return cs
}

// putSeries puts values on path one gap apart and returns the captures.
func (t *T) putSeries(path string, values []float64) []vissclient.Capture {
	GinkgoHelper()
	t.needMapped(path)
	cs, err := t.oracle().PutSeries(t.ctx, path, values, t.gap())
	if err != nil {
		Fail("harness: CAN stimulus: " + err.Error())
	}
	return cs
}

// needMapped skips the spec when the DUT's map does not feed path.
func (t *T) needMapped(path string) {
	if _, ok := t.oracle().Map().Entry(path); !ok {
		Skip(fmt.Sprintf("not applicable: the DUT's DBC-to-VSS map (%s) feeds no %s", t.oracle().Map().Source, path))
	}
}

// latest returns the last capture of path the harness sent.
func (t *T) latest(path string) vissclient.Capture {
	c, ok := t.oracle().Latest(path)
	if !ok {
		Fail("harness: no capture of " + path + " was sent")
	}
	return c
}

// equal compares a wire value with a capture's value.
func (t *T) equal(path string, want vssmap.Value, got any) (bool, string) {
	return t.oracle().Equal(path, want, got)
}

// token returns a valid access token for purpose, through the harness's
// AGTS and ATS.
func (t *T) token(purpose string) string {
	GinkgoHelper()
	vin := ""
	if t.d.AccessControl.VINClaim {
		vin = t.run().Profile.DUT.VIN
	}
	tok, err := t.s.tokenServers().AccessToken(t.ctx, t.d, vin, t.clientContext(purpose), purpose)
	if err != nil {
		Fail("harness: access token for " + purpose + ": " + err.Error())
	}
	return tok
}

// clientContext is the role triplet the DUT's purpose list allows for
// purpose (its first context).
func (t *T) clientContext(purpose string) string {
	GinkgoHelper()
	p, ok := t.run().VISS.PurposeNamed(purpose)
	if !ok {
		Fail("harness: the DUT's purpose list (viss.access.purposes) has no purpose " + purpose)
	}
	return p.Context
}

// tokenFor returns a valid token whose purpose grants path (read-write
// when write), or "" when the DUT's access control (viss.access.read and
// write) does not control that access to path; the spec is not
// applicable when no purpose of the DUT's list grants it.
func (t *T) tokenFor(path string, write bool) string {
	GinkgoHelper()
	v := &t.run().VISS
	if (write && !v.WriteControlled(path)) || (!write && !v.ReadControlled(path)) {
		return ""
	}
	p, ok := v.Purpose(path, write)
	if !ok {
		mode := "read"
		if write {
			mode = "read-write"
		}
		t.skip(fmt.Sprintf("the DUT's purpose list (viss.access.purposes) grants no purpose %s access to %s", mode, path))
	}
	return t.token(p.Short)
}

// auth returns msg with "authorization": tok when tok is not "".
func auth(msg map[string]any, tok string) map[string]any {
	if tok != "" {
		msg["authorization"] = tok
	}
	return msg
}

// readNode is a mapped leaf whose get needs a token: a node of
// viss.access.read the map feeds, else a mapped leaf below one; not
// applicable without.
func (t *T) readNode() string {
	GinkgoHelper()
	m := t.oracle().Map()
	for _, n := range t.run().VISS.Read {
		if _, ok := m.Entry(n); ok {
			return n
		}
	}
	for _, n := range t.run().VISS.Read {
		for _, p := range m.Paths() {
			if strings.HasPrefix(p, n+".") {
				return p
			}
		}
	}
	t.skip(fmt.Sprintf("viss.access.read %v names no node the DUT's map (%s) feeds", t.run().VISS.Read, m.Source))
	return ""
}

// readBranchLeaf returns a node of viss.access.read that is a branch and a
// mapped leaf below it, or "" when there is none.
func (t *T) readBranchLeaf() (branch, leaf string) {
	m := t.oracle().Map()
	for _, n := range t.run().VISS.Read {
		if _, ok := m.Entry(n); ok {
			continue
		}
		for _, p := range m.Paths() {
			if strings.HasPrefix(p, n+".") {
				return n, p
			}
		}
	}
	return "", ""
}

// writeOnlyNode is a mapped node of viss.access.write (set needs a token,
// get does not); not applicable without.
func (t *T) writeOnlyNode() string {
	GinkgoHelper()
	m := t.oracle().Map()
	for _, n := range t.run().VISS.Write {
		if _, ok := m.Entry(n); ok {
			return n
		}
	}
	t.skip(fmt.Sprintf("viss.access.write %v names no node the DUT's map (%s) feeds", t.run().VISS.Write, m.Source))
	return ""
}

// mint signs a token the ATS would never issue.
func (t *T) mint(c visstoken.Claims, secret []byte) string {
	GinkgoHelper()
	if c.Audience == "" {
		c.Audience = t.d.AccessControl.Audience
	}
	tok, err := visstoken.Mint(c, secret)
	if err != nil {
		Fail("harness: minting a token: " + err.Error())
	}
	return tok
}

// subscribe subscribes and returns the subscription ID and when the
// answer arrived.
func (t *T) subscribe(c *vissclient.Conn, path string, filter any, token string) (string, time.Time) {
	GinkgoHelper()
	msg := map[string]any{"action": "subscribe", "path": path}
	if filter != nil {
		msg["filter"] = filter
	}
	if token != "" {
		msg["authorization"] = token
	}
	m := t.request(c, msg)
	t.expectOK(m, "the subscription")
	id := m.Str("subscriptionId")
	if id == "" {
		t.fail("a subscribe answer with a subscriptionId", string(m.Raw))
	}
	return id, m.At
}

// events waits (wall timeout) for n events of subscription id; every event
// must conform.
func (t *T) events(c *vissclient.Conn, id string, n int, timeout time.Duration) []*vissclient.Message {
	GinkgoHelper()
	evs := c.WaitEvents(t.ctx, id, n, timeout)
	for _, e := range evs {
		t.conform(e)
	}
	return evs
}

// eventValues extracts each event's value and capture time (the trigger
// path's data point for v3).
type eventValue struct {
	value any
	ts    time.Time
	at    time.Time
	raw   string
}

func (t *T) eventValues(evs []*vissclient.Message, path string) []eventValue {
	var out []eventValue
	for _, e := range evs {
		ev := eventValue{at: e.At, raw: string(e.Raw)}
		if t.d.Name == vissspec.Gen2 {
			ev.value = e.Obj["value"]
			ev.ts, _ = vissspec.ParseTimestamp(e.Str("timestamp"))
		} else {
			for _, pd := range vissclient.DataPoints(e.Obj) {
				if pd.Path == path && len(pd.DPs) > 0 {
					ev.value = pd.DPs[len(pd.DPs)-1].Value
					ev.ts, _ = vissspec.ParseTimestamp(pd.DPs[len(pd.DPs)-1].TS)
				}
			}
		}
		out = append(out, ev)
	}
	return out
}

// matchSequence judges the events of a subscription against the captures
// the oracle expects, in order, value by value; events whose capture time
// lies before since (a report at subscription time, register I-286) are
// left out.
func (t *T) matchSequence(path string, want []vissclient.Capture, evs []*vissclient.Message, since time.Time) {
	GinkgoHelper()
	early := t.run().Profile.Tolerance.Allowed(0)
	var got []eventValue
	for _, ev := range t.eventValues(evs, path) {
		if !ev.ts.IsZero() && ev.ts.Before(since.Add(-t.wall(early))) {
			continue
		}
		got = append(got, ev)
	}
	describe := func() string {
		var parts []string
		for _, g := range got {
			parts = append(parts, fmt.Sprintf("%v", g.value))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	exp := "events with the values " + vissclient.Describe(want) + ", in that order and no other"
	if len(got) != len(want) {
		t.fail(exp, fmt.Sprintf("%d events %s", len(got), describe()))
	}
	for i := range want {
		if ok, why := t.equal(path, want[i].Value, got[i].value); !ok {
			t.fail(exp, fmt.Sprintf("event %d: %s; events %s", i+1, why, describe()))
		}
	}
}

// quiet waits until the gaps between sends have passed so that late
// events arrive before they are counted.
func (t *T) quiet() { t.wait(2 * t.gap()) }

// skip reports the spec not applicable.
func (t *T) skip(why string) { Skip("not applicable: " + why) }
