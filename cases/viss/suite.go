// Package visscases holds the VISS conformance specs, written once and
// registered per dialect by the suites in v3/ (seed 002 with the v3.0
// TRANSPORT) and gen2/ (seed 001 with the Gen2 TRANSPORT): the DUT is a
// VISS server (the reference vehicle's in the sim, a real vehicle's on a
// bench), the harness plays the client (harness/vissclient) and the access
// token servers (harness/visstoken), and puts the signals on the CAN bus
// itself, so its oracle knows every value and every event that must
// arrive. Files are named by the v3 clause (the Gen2 clause is in each
// spec's table row); each spec's name carries the dialect and its own
// clause, e.g. [VISSv3 7.5 change], [VISSgen2 T4.1 401 token_expired].
package visscases

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/harness/vissclient"
	"github.com/icoc-dev/icoc/harness/visstoken"
	"github.com/icoc-dev/icoc/spec/viss"
	. "github.com/onsi/ginkgo/v2"
)

// clause is where a spec's rule is in one dialect, with the rule quoted.
type clause struct {
	id   string
	rule string
}

// specDef is one spec for the dialects it has a clause in.
type specDef struct {
	// topic is the spec ID's last part ("change", "401 token_expired").
	topic string
	v3    *clause
	gen2  *clause
	// text is the spec's description; it may differ per dialect.
	text     string
	gen2Text string
	// quirks must make the spec fail; variants must let it pass. The
	// gen2/v3 lists apply to that dialect only.
	quirks, v3Quirks, gen2Quirks []string
	variants                     []string
	// notApplicable, when set, makes the spec report not applicable with
	// this reason (a table row no stimulus can provoke).
	notApplicable string
	body          func(t *T)
}

func (sd *specDef) clause(n vissspec.DialectName) *clause {
	if n == vissspec.V3 {
		return sd.v3
	}
	return sd.gen2
}

func (sd *specDef) name(n vissspec.DialectName) string {
	c := sd.clause(n)
	text := sd.text
	if n == vissspec.Gen2 && sd.gen2Text != "" {
		text = sd.gen2Text
	}
	return harness.FormatName(tag(n)+" "+c.id+" "+sd.topic, text)
}

func (sd *specDef) quirksFor(n vissspec.DialectName) []string {
	out := slices.Clone(sd.quirks)
	if n == vissspec.V3 {
		out = append(out, sd.v3Quirks...)
	} else {
		out = append(out, sd.gen2Quirks...)
	}
	return out
}

func tag(n vissspec.DialectName) string {
	if n == vissspec.V3 {
		return "VISSv3"
	}
	return "VISSgen2"
}

// defs collects every spec; the files add theirs from init functions.
var (
	defsMu sync.Mutex
	defs   []*specDef
)

func add(ds ...*specDef) {
	defsMu.Lock()
	defer defsMu.Unlock()
	defs = append(defs, ds...)
}

// specsOf returns the specs of dialect n in registration order.
func specsOf(n vissspec.DialectName) []*specDef {
	defsMu.Lock()
	defer defsMu.Unlock()
	var out []*specDef
	for _, d := range defs {
		if d.clause(n) != nil {
			out = append(out, d)
		}
	}
	return out
}

// suite is the specs of one dialect and the run they share.
type suite struct {
	run  **harness.Run
	name vissspec.DialectName

	mu     sync.Mutex
	tokens *visstoken.Servers
	oracle *vissclient.Oracle
}

// vissSpecTime bounds the spec time of every VISS spec (harness.SpecTime):
// a request, a subscription's notifications, a token's expiry, each a
// matter of seconds to a minute.
const vissSpecTime = 2 * time.Minute

// Register adds every spec of dialect n to the calling test package's
// Ginkgo tree; the specs use the run SetUpSuite fills (with
// harness.WithVISS). Call it once, at package level.
func Register(run **harness.Run, n vissspec.DialectName) bool {
	s := &suite{run: run, name: n}
	Describe(tag(n)+" conformance", func() {
		for _, sd := range specsOf(n) {
			c := sd.clause(n)
			It(harness.SpecName(tag(n)+" "+c.id+" "+sd.topic, textOf(sd, n)), harness.Labels(harness.VISS), harness.SpecTime(vissSpecTime), func(ctx SpecContext) {
				s.runSpec(ctx, sd, c)
			})
		}
	})
	// The token servers (started on first use) live as long as the test
	// process: the harness's AfterSuite is the suite's only one.
	return true
}

func textOf(sd *specDef, n vissspec.DialectName) string {
	if n == vissspec.Gen2 && sd.gen2Text != "" {
		return sd.gen2Text
	}
	return sd.text
}

// QuirkCases pairs each quirk of the reference vehicle's VISS servers with
// the specs of dialect n that must catch it.
func QuirkCases(n vissspec.DialectName) []harness.QuirkCase {
	m := map[string][]string{}
	for _, sd := range specsOf(n) {
		if sd.notApplicable != "" {
			continue
		}
		for _, q := range sd.quirksFor(n) {
			m[q] = append(m[q], sd.name(n))
		}
	}
	var out []harness.QuirkCase
	for q, specs := range m {
		out = append(out, harness.QuirkCase{Quirk: "viss." + q, Specs: specs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Quirk < out[j].Quirk })
	return out
}

// VariantCases pairs each variant (another choice the documents allow)
// with the specs of dialect n that must pass under it.
func VariantCases(n vissspec.DialectName) []harness.VariantCase {
	m := map[string][]string{}
	for _, sd := range specsOf(n) {
		if sd.notApplicable != "" {
			continue
		}
		for _, v := range sd.variants {
			m[v] = append(m[v], sd.name(n))
		}
	}
	var out []harness.VariantCase
	for v, specs := range m {
		out = append(out, harness.VariantCase{Variant: "viss." + v, Specs: specs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Variant < out[j].Variant })
	return out
}

// NotApplicable names the specs of dialect n that only ever report not
// applicable (error-table rows no stimulus can provoke).
func NotApplicable(n vissspec.DialectName) []string {
	var out []string
	for _, sd := range specsOf(n) {
		if sd.notApplicable != "" {
			out = append(out, sd.name(n))
		}
	}
	return out
}

// r returns the run.
func (s *suite) r() *harness.Run { return *s.run }

// runSpec checks applicability and runs one spec's body.
func (s *suite) runSpec(ctx context.Context, sd *specDef, c *clause) {
	r := s.r()
	r.Requires("viss")
	if sd.notApplicable != "" {
		Skip("not applicable: " + sd.notApplicable)
	}
	ep, ok := r.VISS.Endpoint(s.name)
	if !ok {
		Skip(fmt.Sprintf("not applicable: the DUT profile %s has no %s server (viss.servers)", r.Profile.Name, s.name))
	}
	t := &T{ctx: ctx, s: s, d: ep.Dialect, ep: ep, req: harness.Requirement{Clause: tag(s.name) + " " + c.id + " " + heading(ep.Dialect, c.id), Rule: c.rule}}
	DeferCleanup(t.cleanup)
	sd.body(t)
}

// heading is a clause's heading, from the dialect's sections.
func heading(d vissspec.Dialect, id string) string {
	if s, ok := d.Section(id); ok {
		return "(" + strings.TrimPrefix(s.Heading, "## ") + ")"
	}
	return ""
}

// tokenServers starts the harness's AGTS and ATS once per run.
func (s *suite) tokenServers() *visstoken.Servers {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		v := &s.r().VISS
		ts, err := visstoken.Start(v.Secret, v.Purposes)
		if err != nil {
			Fail("harness: starting the access token servers: " + err.Error())
		}
		s.tokens = ts
	}
	return s.tokens
}

// theOracle returns the run's CAN-to-VSS oracle.
func (s *suite) theOracle() *vissclient.Oracle {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oracle == nil {
		s.oracle = vissclient.NewOracle(s.r())
	}
	return s.oracle
}

// answerTimeout is how long (wall) a request may take to be answered.
func (s *suite) answerTimeout() time.Duration {
	return max(s.r().Clock.Wall(30*time.Second), 3*time.Second)
}
