package exve_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/harness"
	hx "github.com/icoc-dev/icoc/harness/exve"
	"github.com/icoc-dev/icoc/simulator/bench"
	"github.com/icoc-dev/icoc/simulator/center"
	exveop "github.com/icoc-dev/icoc/simulator/exve"
	exvespec "github.com/icoc-dev/icoc/spec/exve"
	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"go.einride.tech/can"
)

// Roles of a spec: which DUT it judges.
const (
	opRole = "op" // the offering party is the DUT
	apRole = "ap" // the accessing party is the DUT
)

// spec is one conformance spec of the suite, declared at package level (so
// the self-tests, which do not build the Ginkgo tree, see them): its
// requirement ID, role and text, the quirks that must make it fail and the
// variants under which it must pass.
type spec struct {
	id       string // REQ_04_12_03, or a clause (4.1.2)
	role     string
	text     string
	quirks   []string // with their prefix: exve-op.tls10, exve-ap.poll-fast, no-readout
	variants []string
	// entries, when set, makes the spec a table: one entry per row, each
	// with its own text and quirks.
	entries []entry
	body    func(ctx SpecContext, q harness.Requirement)
}

// entry is one row of a table spec.
type entry struct {
	text   string
	quirks []string
	args   []any
	body   func(ctx SpecContext, q harness.Requirement, args ...any)
	// notTestable, when set, makes the row report "not testable" with it.
	notTestable string
}

var specs []*spec

// def declares a spec (at package level: var _ = def(...)).
func def(s *spec) bool { specs = append(specs, s); return true }

func op(id, text string, quirks []string, body func(ctx SpecContext, q harness.Requirement)) bool {
	return def(&spec{id: id, role: opRole, text: text, quirks: quirks, body: body})
}

func ap(id, text string, quirks []string, body func(ctx SpecContext, q harness.Requirement)) bool {
	return def(&spec{id: id, role: apRole, text: text, quirks: quirks, body: body})
}

// qs lists quirks of the reference offering party (exve-op.).
func qs(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = harness.ExVeOPQuirkPrefix + n
	}
	return out
}

// aqs lists quirks of the reference accessing party (exve-ap.).
func aqs(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = harness.ExVeAPQuirkPrefix + n
	}
	return out
}

func prefix(s *spec) string {
	if s.role == apRole {
		return "AP DUT: "
	}
	return "OP DUT: "
}

// specName is "[20078-2 ID] OP DUT: text".
func specName(s *spec, text string) string {
	return harness.FormatName("20078-2 "+s.id, prefix(s)+text)
}

// requirement is the requirement a spec judges, quoted from spec/exve.
func requirement(id string) harness.Requirement {
	if r, ok := exvespec.Lookup(id); ok {
		return harness.Requirement{Clause: "ISO 20078-2 " + r.Clause + " " + id, Rule: r.Text}
	}
	return harness.Requirement{Clause: "ISO 20078-2 " + id, Rule: clauseRules[id]}
}

// clauseRules quote the clauses that specs cite without a REQ ID.
var clauseRules = map[string]string{
	"4.1.2": "Figure 1 shows an example of request/reply sequence, where the accessing party requests a resource using HTTP GET and the offering party returns it in the payload.",
}

// exveSpecTime bounds the spec time of every ExVe spec (harness.SpecTime):
// the longest waits are the async pattern's (a Retry-After of up to two
// minutes, then the result) and a delayed push.
const exveSpecTime = 5 * time.Minute

// register builds the Ginkgo tree from specs and the not-testable
// requirements of spec/exve.
func register() bool {
	Describe("ISO 20078-2 ExVe web services", func() {
		for _, s := range specs {
			labels := harness.Labels(harness.EXVE, harness.OfferingPartyDUT)
			if s.role == apRole {
				labels = harness.Labels(harness.EXVE, harness.AccessingPartyDUT)
			}
			if len(s.entries) > 0 {
				var es []TableEntry
				for _, e := range s.entries {
					n := harness.SpecName("20078-2 "+s.id, prefix(s)+e.text)
					es = append(es, Entry(n, e, harness.SpecTime(exveSpecTime)))
				}
				args := []any{func(ctx SpecContext, e entry) {
					q := guard(s)
					if e.notTestable != "" {
						Skip("not testable: " + e.notTestable)
					}
					e.body(ctx, q, e.args...)
				}, labels}
				DescribeTable(s.id+" "+s.text, append(args, anySlice(es)...)...)
				continue
			}
			It(harness.SpecName("20078-2 "+s.id, prefix(s)+s.text), labels, harness.SpecTime(exveSpecTime), func(ctx SpecContext) {
				s.body(ctx, guard(s))
			})
		}
		for _, r := range exvespec.Requirements() {
			if r.OnWire() {
				continue
			}
			It(notTestableName(r), harness.Labels(harness.EXVE), harness.SpecTime(time.Second), func(SpecContext) {
				Skip("not testable: " + r.Reason)
			})
		}
	})
	return true
}

func anySlice(es []TableEntry) []any {
	out := make([]any, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func notTestableName(r exvespec.Requirement) string {
	return harness.FormatName("20078-2 "+r.ID, "not testable on the wire ("+r.Strength+", "+r.Party+")")
}

// notTestableNames are the specs that only ever report "not testable".
func notTestableNames() []string {
	var out []string
	for _, r := range exvespec.Requirements() {
		if !r.OnWire() {
			out = append(out, notTestableName(r))
		}
	}
	for _, s := range specs {
		for _, e := range s.entries {
			if e.notTestable != "" {
				out = append(out, specName(s, e.text))
			}
		}
	}
	return out
}

// guard skips a spec the profile does not call for: the role, and the
// capability a should or may requirement needs (I-232).
func guard(s *spec) harness.Requirement {
	p := run.Profile
	role := harness.RoleOfferingParty
	if s.role == apRole {
		role = harness.RoleAccessingParty
	}
	if !p.HasRole(role) {
		Skip(fmt.Sprintf("not applicable: the DUT profile %s has no %s role", p.Name, role))
	}
	if r, ok := exvespec.Lookup(s.id); ok && r.Capability != "" {
		run.Requires(r.Capability)
	}
	return requirement(s.id)
}

// quirkCases pairs each quirk with the specs it must make fail. Every
// failure must say what was expected and what came (fail), and cite the
// requirement its specs judge where they share one.
func quirkCases() []harness.QuirkCase {
	var g harness.Grouped
	add := func(q string, s *spec, text string) {
		g.Add(q, specName(s, text))
		g.Say(q, "Expected:", "Actual:")
		g.Cite(q, "Requirement: "+requirement(s.id).Clause+": ")
	}
	for _, s := range specs {
		for _, q := range s.quirks {
			add(q, s, s.text)
		}
		for _, e := range s.entries {
			for _, q := range e.quirks {
				add(q, s, e.text)
			}
		}
	}
	return g.Quirks()
}

// variantCases pairs each variant with the specs that must pass under it.
func variantCases() []harness.VariantCase {
	by := map[string][]string{}
	var order []string
	for _, s := range specs {
		names := []string{specName(s, s.text)}
		if len(s.entries) > 0 {
			names = nil
			for _, e := range s.entries {
				if e.notTestable == "" {
					names = append(names, specName(s, e.text))
				}
			}
		}
		for _, v := range variantsOf(s) {
			if _, ok := by[v]; !ok {
				order = append(order, v)
			}
			by[v] = append(by[v], names...)
		}
	}
	sort.Strings(order)
	var out []harness.VariantCase
	for _, v := range order {
		out = append(out, harness.VariantCase{Variant: v, Specs: by[v]})
	}
	return out
}

// withVariants declares that the specs whose ID is id and whose text
// starts with text (all of the ID's specs when text is "") must pass under
// the variants. It is applied when the cases are built, so it does not
// depend on the order in which Go initialises the package's variables.
func withVariants(id, text string, variants ...string) bool {
	variantDecls = append(variantDecls, variantDecl{id: id, text: text, variants: variants})
	return true
}

type variantDecl struct {
	id, text string
	variants []string
}

var variantDecls []variantDecl

// variantsOf are the variants declared for s.
func variantsOf(s *spec) []string {
	out := append([]string(nil), s.variants...)
	for _, d := range variantDecls {
		if d.id == s.id && strings.HasPrefix(s.text, d.text) {
			out = append(out, d.variants...)
		}
	}
	return out
}

// fail ends the spec with Requirement, Expected and Actual.
func fail(q harness.Requirement, expected, actual string, args ...any) {
	GinkgoHelper()
	Fail(harness.Verdict(q, expected, fmt.Sprintf(actual, args...)))
}

// check fails the spec when ok is false.
func check(ok bool, q harness.Requirement, expected, actual string, args ...any) {
	GinkgoHelper()
	if !ok {
		fail(q, expected, actual, args...)
	}
}

// answered fails the spec when no answer came.
func answered(q harness.Requirement, r *hx.Response) {
	GinkgoHelper()
	if r.Err != nil {
		fail(q, "an answer", "%s", r.Describe())
	}
}

// status fails the spec unless r has one of the codes.
func status(q harness.Requirement, r *hx.Response, codes ...int) {
	GinkgoHelper()
	answered(q, r)
	for _, c := range codes {
		if r.Status == c {
			return
		}
	}
	fail(q, fmt.Sprintf("status %v", codes), "%s", r.Describe())
}

// respT is an answer of the offering party.
type respT = hx.Response

// client shortcuts.
func opc() *hx.Client { return ex.Client("main") }

func get(ctx context.Context, path string, opts ...hx.Opt) *hx.Response {
	return opc().Do(ctx, "GET", path, opts...)
}

// obj and list walk decoded JSON.
func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func list(v any) []any         { l, _ := v.([]any); return l }

// items returns the list under key in a body.
func items(r *hx.Response, key string) []any { return list(r.Object()[key]) }

// spent returns spec seconds elapsed since t.
func spent(t time.Time) time.Duration { return run.Clock.Spec(time.Since(t)) }

// eventually polls f every 2 s of spec time until it returns true or spec time
// d (with the profile's tolerance) has passed; it reports whether f
// succeeded.
func eventually(ctx context.Context, d time.Duration, f func() bool) bool {
	deadline := time.Now().Add(run.Clock.Wall(d + run.Profile.Tolerance.Allowed(d)))
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		// Every 2 s of spec time, at least 10 ms: a device's rate limits
		// must not be spent on polling.
		time.Sleep(max(run.Clock.Wall(2*time.Second), 10*time.Millisecond))
	}
}

// vehicleID is the ID under which the offering party lists the profile's
// vehicle (its VIN, or a pseudonym). The vehicle makes an upload first
// when the offering party does not know it yet.
func vehicleID(ctx context.Context, q harness.Requirement) string {
	GinkgoHelper()
	vin := run.Profile.DUT.VIN
	find := func() string {
		r := get(ctx, "/vehicles?limit=100000")
		for _, v := range items(r, "vehicles") {
			if obj(v)["vin"] == vin {
				s, _ := obj(v)["id"].(string)
				return s
			}
		}
		return ""
	}
	if id := find(); id != "" {
		return id
	}
	uploadNow(ctx)
	var id string
	if !eventually(ctx, time.Minute, func() bool { id = find(); return id != "" }) {
		fail(q, "the vehicle "+vin+" in {b}/vehicles within a minute of an upload", "%s", get(ctx, "/vehicles?limit=100000").Describe())
	}
	return id
}

// uploadNow asks the vehicle over CAN for a real-time upload and returns
// the request ID.
func uploadNow(ctx context.Context) uint32 {
	GinkgoHelper()
	id := harness.NextRequestID()
	if err := run.TriggerUpload(ctx, bench.UploadTrigger{RealTime: true, Trigger: 'c', RequestID: id}); err != nil {
		Fail("CAN stimulus: " + err.Error())
	}
	return id
}

// onBus puts frames on the vehicle's bus.
func onBus(ctx context.Context, frames ...can.Frame) {
	GinkgoHelper()
	if err := run.Send(ctx, frames...); err != nil {
		Fail(err.Error())
	}
}

// frame encodes a bench-DBC message.
func frame(msg string, vals map[string]float64) can.Frame {
	f, err := bench.Encode(msg, vals)
	if err != nil {
		panic(err)
	}
	return f
}

// odometerFrame is an Odometer frame with a fresh random value (0.1 km
// resolution), returned with it.
func odometerFrame() (can.Frame, float64) {
	v := float64(100000+rand.IntN(800000)) / 10
	return frame("Odometer", map[string]float64{"Odometer": v, "TripMeter": 12.5}), v
}

// pushData puts an odometer value on the bus and has the vehicle upload
// it at once: a new odometer the offering party pushes to subscribers.
func pushData(ctx context.Context) float64 {
	GinkgoHelper()
	f, v := odometerFrame()
	onBus(ctx, f)
	time.Sleep(run.Clock.Wall(100 * time.Millisecond))
	uploadNow(ctx)
	return v
}

var dateTimeRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

// isDateTime reports whether v is an RFC 3339 date-time string (ISO 8601,
// I-219).
func isDateTime(v any) bool {
	s, ok := v.(string)
	if !ok || !dateTimeRe.MatchString(s) {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// jsonString renders v compactly for messages.
func jsonString(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

// resolve makes a Location absolute against the request URI (I-222).
func resolve(base, loc string) string {
	b, err := url.Parse(base)
	if err != nil {
		return loc
	}
	l, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	return b.ResolveReference(l).String()
}

// underBase reports whether u lies below the offering party's base URI.
func underBase(u string) bool {
	return strings.HasPrefix(u, strings.TrimRight(ex.Base.String(), "/")+"/")
}

// findKey walks v and reports whether a key named k appears at any depth.
func findKey(v any, k string) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		if x, ok := t[k]; ok {
			return x, true
		}
		for _, x := range t {
			if y, ok := findKey(x, k); ok {
				return y, true
			}
		}
	case []any:
		for _, x := range t {
			if y, ok := findKey(x, k); ok {
				return y, true
			}
		}
	}
	return nil, false
}

// report adds an entry to the spec's report (seen in the JSON report).
func report(name string, v any) { AddReportEntry(name, v, types.ReportEntryVisibilityFailureOrVerbose) }

// cleanup registers a DELETE of a created resource after the spec.
func cleanup(path string) {
	DeferCleanup(func(ctx SpecContext) { opc().Do(ctx, "DELETE", path) })
}

// sampleVehicle returns the ID of a vehicle whose resource res has items:
// the profile's vehicle when it has some, else the first of {b}/vehicles.
func sampleVehicle(ctx context.Context, q harness.Requirement, res string) string {
	GinkgoHelper()
	ids := []string{vehicleID(ctx, q)}
	for _, v := range items(get(ctx, "/vehicles?limit=30"), "vehicles") {
		if id, _ := obj(v)["id"].(string); id != "" && id != ids[0] {
			ids = append(ids, id)
		}
	}
	key := res
	if r, ok := ex.Catalogue.ByName(res); ok && r.Items != "" {
		key = r.Items
	}
	for _, id := range ids {
		r := get(ctx, "/vehicles/"+id+"/"+res)
		if r.Status == 200 && len(items(r, key)) > 0 {
			return id
		}
	}
	fail(q, "a vehicle with "+res+" to judge", "none of %d vehicles has any", len(ids))
	return ""
}

// vehicleIDs returns up to n vehicle IDs of {b}/vehicles.
func vehicleIDs(ctx context.Context, q harness.Requirement, n int) []string {
	GinkgoHelper()
	r := get(ctx, fmt.Sprintf("/vehicles?limit=%d", n))
	status(q, r, 200)
	var out []string
	for _, v := range items(r, "vehicles") {
		if id, ok := obj(v)["id"].(string); ok {
			out = append(out, id)
		}
	}
	return out
}

// bodyTap is a center hook that keeps the bodies of the requests a
// mounted service receives whose path ends with suffix (the recorder
// keeps only a body's digest).
type bodyTap struct {
	center.HookBase
	service, suffix string
	mu              sync.Mutex
	bodies          [][]byte
}

func (b *bodyTap) ID() string                   { return "exve-body-tap" }
func (b *bodyTap) Provides(e center.Event) bool { return e == center.OnRequest }
func (b *bodyTap) OnRequest(x *center.Exchange) center.Answer {
	if x.Service == b.service && strings.HasSuffix(x.Path, b.suffix) {
		b.mu.Lock()
		b.bodies = append(b.bodies, append([]byte(nil), x.Body...))
		b.mu.Unlock()
	}
	return center.Answer{}
}

func (b *bodyTap) all() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.bodies...)
}

// tap adds a bodyTap to the ExVe center for this spec.
func tap(service, suffix string) *bodyTap {
	t := &bodyTap{service: service, suffix: suffix}
	ex.Center.AddHook(t)
	DeferCleanup(func() { ex.Center.RemoveHook(t) })
	return t
}

// exveAttempts are the recorded requests to the offering party (service
// exve) since t.
func exveAttempts(since time.Time, keep func(harness.Attempt) bool) []harness.Attempt {
	return run.Recorder.Attempts(func(a harness.Attempt) bool {
		return a.Service == exveop.ServiceName && !a.ReceivedAt.Before(since) && (keep == nil || keep(a))
	})
}

// jsonBody sends v as the JSON body.
func jsonBody(v any) hx.Opt { return hx.JSONBody(v) }

// jsonValid reports whether b is JSON.
func jsonValid(b []byte) bool { return json.Valid(b) }

// Request options.
func hxNoAuth() hx.Opt            { return hx.NoAuth() }
func hxAccept(v string) hx.Opt    { return hx.Accept(v) }
func hxHeader(k, v string) hx.Opt { return hx.Header(k, v) }
func basicAuth(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
}

// pushRecord is a push the harness's offering party made.
type pushRecord = exveop.PushRecord

// offline switches the profile's vehicle to +B OFF (it loses power and its
// push connection) until the spec ends, then back to IG-ON, waiting until
// it holds its push connection again where the harness can see it.
func offline(ctx context.Context) {
	GinkgoHelper()
	if err := run.Ignition(ctx, bench.BOff); err != nil {
		Fail("CAN stimulus: " + err.Error())
	}
	vin := run.Profile.DUT.VIN
	if run.Center != nil {
		eventually(ctx, 10*time.Second, func() bool { return !run.Center.PushConnected(vin) })
	} else {
		run.Wait(ctx, 5*time.Second)
	}
	DeferCleanup(func(ctx SpecContext) {
		_ = run.Ignition(ctx, bench.IGOn)
		if run.Center != nil {
			eventually(ctx, 30*time.Second, func() bool { return run.Center.PushConnected(vin) })
		} else {
			run.Wait(ctx, 10*time.Second)
		}
	})
}
