package exve

// Transcription tests: every requirement and every table row of data/*.yaml
// is checked against the seed text of ISO 20078-2 (004, and 003 where 004
// lost text in extraction). Each checker takes the seed and the data and
// returns the problems it finds, so TestSeedCheckersCatchMutations can prove
// that a transcription error makes the check fail.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/icoc-dev/icoc/spec"
)

const (
	seedFull    = "004_ce971432b97497c9.txt"
	seedPreview = "003_596440db0454152d.txt"
)

type seed struct {
	lines []string
	text  string
}

func loadSeed(t testing.TB, name string) *seed {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
	// The seeds are in shared/spec/ beside the checkout, or beside one of
	// its parents (a worktree under wt/); ICOC_SEEDS names the directory
	// outright.
	p := filepath.Join(os.Getenv("ICOC_SEEDS"), name)
	if os.Getenv("ICOC_SEEDS") == "" {
		for d := dir; ; d = filepath.Dir(d) {
			p = filepath.Join(filepath.Dir(d), "shared", "spec", name)
			if _, err := os.Stat(p); err == nil || filepath.Dir(d) == d {
				break
			}
		}
	}
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		t.Skipf("seed not found at %s (the checkout needs shared/ beside the repo); transcription not checked", p)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return &seed{lines: strings.Split(s, "\n"), text: s}
}

// region returns the lines after the first line matching start up to the
// next line matching end.
func (s *seed) region(start, end string) ([]string, error) {
	sr, er := regexp.MustCompile(start), regexp.MustCompile(end)
	for i, l := range s.lines {
		if !sr.MatchString(l) {
			continue
		}
		for j := i + 1; j < len(s.lines); j++ {
			if er.MatchString(s.lines[j]) {
				return s.lines[i+1 : j], nil
			}
		}
		return nil, fmt.Errorf("region %q: end %q not found", start, end)
	}
	return nil, fmt.Errorf("region start %q not found", start)
}

var (
	tagRe    = regexp.MustCompile(`<[^>]+>`)
	trailRe  = regexp.MustCompile(`\s*\|?\s*-+\s*\|?\s*$`)
	spacesRe = regexp.MustCompile(`\s+`)
	reqRe    = regexp.MustCompile(`^(REQ_\d\d_\d\d_\d\d)\t(.*)$`)
	headRe   = regexp.MustCompile(`^(\d+(\.\d+)+|\d) [A-Z]`)
)

// cleanText is how data/requirements.yaml writes a requirement's sentence:
// markup removed, the table border the extraction left dropped, white space
// collapsed.
func cleanText(t string) string {
	t = tagRe.ReplaceAllString(t, " ")
	t = strings.ReplaceAll(t, "\t", " ")
	t = trailRe.ReplaceAllString(t, "")
	return strings.TrimSpace(spacesRe.ReplaceAllString(t, " "))
}

var verbRe = map[string]*regexp.Regexp{
	Shall: regexp.MustCompile(`\bshall\b`), Should: regexp.MustCompile(`\bshould\b`),
	May: regexp.MustCompile(`\bmay\b`), Can: regexp.MustCompile(`\bcan\b`),
}

func checkRequirements(s *seed, reqs []Requirement) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf("requirements: "+f, a...)) }
	type seedReq struct{ id, text, clause string }
	var got []seedReq
	clause := ""
	for _, l := range s.lines {
		if m := headRe.FindStringSubmatch(l); m != nil && !strings.HasPrefix(l, "REQ") {
			clause = m[1]
		}
		if m := reqRe.FindStringSubmatch(l); m != nil {
			got = append(got, seedReq{id: m[1], text: cleanText(m[2]), clause: clause})
		}
	}
	if len(got) != len(reqs) {
		bad("seed has %d REQ rows, data %d", len(got), len(reqs))
	}
	for i := 0; i < len(got) && i < len(reqs); i++ {
		g, r := got[i], reqs[i]
		if g.id != r.ID {
			bad("row %d: seed %s, data %s", i+1, g.id, r.ID)
			continue
		}
		if g.text != r.Text {
			bad("%s: text differs from the seed:\n  seed: %s\n  data: %s", r.ID, g.text, r.Text)
		}
		if g.clause != r.Clause {
			bad("%s: seed clause %s, data %s", r.ID, g.clause, r.Clause)
		}
		var verbs []string
		for _, v := range []string{Shall, Should, May, Can} {
			if verbRe[v].MatchString(r.Text) {
				verbs = append(verbs, v)
			}
		}
		switch {
		case r.Strength == Statement && len(verbs) > 0:
			bad("%s: a statement, yet the text has %v", r.ID, verbs)
		case r.Strength != Statement && !slices.Contains(verbs, r.Strength):
			bad("%s: strength %s, but the text has only %v", r.ID, r.Strength, verbs)
		}
	}
	return problems
}

func TestSeedRequirements(t *testing.T) {
	for _, p := range checkRequirements(loadSeed(t, seedFull), Requirements()) {
		t.Error(p)
	}
}

// Every interpretation a requirement cites is an entry of the register.
func TestRequirementInterpretationsExist(t *testing.T) {
	known := map[string]bool{}
	for _, in := range spec.Interpretations() {
		known[in.ID] = true
	}
	for _, r := range Requirements() {
		for _, id := range r.Interpretations {
			if !known[id] {
				t.Errorf("%s cites %s, which the register lacks", r.ID, id)
			}
			if n, _ := strconv.Atoi(strings.TrimPrefix(id, "I-")); n < 200 || n > 259 {
				t.Errorf("%s cites %s, outside the ExVe range I-200..I-259", r.ID, id)
			}
		}
	}
}

var statusRowRe = regexp.MustCompile(`^(\d{3})\t([^\t]+)\t`)

func checkStatusCodes(s *seed, rows []StatusCode) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf("Tables 31-33: "+f, a...)) }
	var got []StatusCode
	for _, tbl := range []struct{ n, end string }{
		{"31", `^\[Table 32\]`}, {"32", `^Table 33 provides`}, {"33", `^4\.11 Error messaging`},
	} {
		reg, err := s.region(`^Table `+tbl.n+` — Minimum server-side`, tbl.end)
		if err != nil {
			return []string{err.Error()}
		}
		for _, l := range reg {
			if m := statusRowRe.FindStringSubmatch(l); m != nil {
				c, _ := strconv.Atoi(m[1])
				got = append(got, StatusCode{Code: c, Reason: strings.TrimSpace(m[2]), Table: tbl.n})
			}
		}
	}
	if !slices.Equal(got, rows) {
		bad("seed %v, data %v", got, rows)
	}
	if !strings.Contains(s.text, "Tables 22, 23, 24 and 18 shall be supported as a minimum set") {
		bad("the stale reference of REQ_04_10_02 (I-206) is not in the seed any more: revisit the register")
	}
	return problems
}

func TestSeedStatusCodes(t *testing.T) {
	for _, p := range checkStatusCodes(loadSeed(t, seedFull), StatusCodes()) {
		t.Error(p)
	}
}

var reasonRowRe = regexp.MustCompile(`^([A-Z_]+)\t(.+?)\s*$`)

func checkDeactivationReasons(s *seed, rows []DeactivationReason) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf("Table 27: "+f, a...)) }
	reg, err := s.region(`^Table 27 — Reason for deactivation`, `^NOTE 15`)
	if err != nil {
		return []string{err.Error()}
	}
	var got [][2]string
	for _, l := range reg {
		if m := reasonRowRe.FindStringSubmatch(l); m != nil {
			got = append(got, [2]string{m[1], m[2]})
		}
	}
	if len(got) != len(rows) {
		bad("seed has %d rows, data %d", len(got), len(rows))
	}
	for i := 0; i < len(got) && i < len(rows); i++ {
		if got[i][0] != rows[i].Reason || got[i][1] != rows[i].Description {
			bad("row %d: seed %q %q, data %q %q", i+1, got[i][0], got[i][1], rows[i].Reason, rows[i].Description)
		}
	}
	return problems
}

func TestSeedDeactivationReasons(t *testing.T) {
	for _, p := range checkDeactivationReasons(loadSeed(t, seedFull), DeactivationReasons()) {
		t.Error(p)
	}
}

var stateRowRe = regexp.MustCompile(`^(Pending|InProgress|Complete|Fail|[A-Z][A-Za-z]+)\t(The requested .+?)\s*$`)

func checkAsyncStates(s *seed, rows []AsyncState, keys []Key) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf("Table 34: "+f, a...)) }
	reg, err := s.region(`^Table 34 — List of introduced codes`, `^REQ_04_12_07`)
	if err != nil {
		return []string{err.Error()}
	}
	var got []AsyncState
	for _, l := range reg {
		if m := stateRowRe.FindStringSubmatch(l); m != nil {
			got = append(got, AsyncState{State: m[1], Description: m[2]})
		}
	}
	if !slices.Equal(got, rows) {
		bad("seed %v, data %v", got, rows)
	}
	// REQ_04_12_06 lists the same states in its sentence.
	r, _ := Lookup("REQ_04_12_06")
	var names []string
	for _, a := range rows {
		names = append(names, a.State)
	}
	if !strings.Contains(r.Text, strings.Join(names, ", ")) {
		bad("REQ_04_12_06 does not list %v", names)
	}
	for _, k := range keys {
		kr, ok := Lookup(k.Req)
		if !ok || !strings.Contains(kr.Text, `"`+k.Key+`"`) && !strings.Contains(kr.Text, "“"+k.Key+"”") {
			bad("async key %s is not named by %s", k.Key, k.Req)
		}
	}
	return problems
}

func TestSeedAsync(t *testing.T) {
	tb := AllTables()
	for _, p := range checkAsyncStates(loadSeed(t, seedFull), tb.AsyncStates, tb.AsyncKeys) {
		t.Error(p)
	}
}

func checkKeysAndHeaders(s *seed, tb Tables) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf("keys: "+f, a...)) }
	for _, k := range tb.ErrorKeys {
		r, ok := Lookup(k.Req)
		switch {
		case !ok:
			bad("%s: unknown %s", k.Key, k.Req)
		case k.Key == "exveErrors":
			// The key of several errors is taken from Examples 7 and 9 (I-211).
			if !strings.Contains(s.text, `"exveErrors": [`) || !strings.Contains(s.text, "<exveErrors>") {
				bad("exveErrors is not in Examples 7 and 9")
			}
		case !strings.Contains(r.Text, k.Key):
			bad("%s is not named by %s", k.Key, k.Req)
		case r.Strength != k.Strength:
			bad("%s: strength %s, %s is %s", k.Key, k.Strength, k.Req, r.Strength)
		}
	}
	for _, h := range tb.RateLimitHeaders {
		r, ok := Lookup(h.Req)
		if !ok || !strings.Contains(r.Text, "'"+h.Name+"'") {
			bad("header %s is not named by %s", h.Name, h.Req)
		}
	}
	if r, _ := Lookup("REQ_04_08_06"); !strings.Contains(r.Text, "HTTP "+strconv.Itoa(tb.RateLimitStatus)+" shall be returned") {
		bad("REQ_04_08_06 does not say %d", tb.RateLimitStatus)
	}
	for _, m := range tb.MediaTypes {
		r, ok := Lookup(m.Req)
		if !ok || !strings.Contains(r.Text, m.Type) || r.Strength != m.Strength {
			bad("media type %s (%s) is not in %s as %s", m.Type, m.Strength, m.Req, r.Strength)
		}
	}
	vp := tb.VersionParameter
	if r, _ := Lookup(vp.Req); !strings.HasSuffix(r.Text, vp.Syntax) {
		bad("version syntax %q is not REQ_04_06_04's", vp.Syntax)
	}
	if !strings.Contains(s.text, vp.Example) {
		bad("version example %q is not in the seed", vp.Example)
	}
	re := regexp.MustCompile(vp.Pattern)
	for _, v := range []string{"resourcereadout.v1.0", "container.v1.0", "odometer.v12.3"} {
		if !re.MatchString(v) {
			bad("version pattern refuses %q", v)
		}
	}
	for _, v := range []string{"v1.0", "odometer-1.0", "odometer.v1", "odometer.1.0", "Odometer.v1.0"} {
		if re.MatchString(v) {
			bad("version pattern takes %q", v)
		}
	}
	if !strings.Contains(s.text, tb.ContainerMediaType) {
		bad("container media type %q is not in Annex A", tb.ContainerMediaType)
	}
	return problems
}

func TestSeedKeysAndHeaders(t *testing.T) {
	for _, p := range checkKeysAndHeaders(loadSeed(t, seedFull), AllTables()) {
		t.Error(p)
	}
}

var codeRe = regexp.MustCompile(`\b(\d{3}) [A-Z]`)

func checkContainers(s *seed, tb Tables) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf("containers: "+f, a...)) }
	if !strings.Contains(s.text, "Status of the container: "+strings.Join(tb.ContainerStatuses, ", ")) {
		bad("container statuses %v not in Table A.2", tb.ContainerStatuses)
	}
	if !strings.Contains(s.text, "Status of user's consent: "+strings.Join(tb.ConsentStatuses, ", ")) {
		bad("consent statuses %v not in Table A.4", tb.ConsentStatuses)
	}
	r10, _ := Lookup("REQ_05_02_10")
	for _, e := range tb.ContainerEvents {
		if !strings.Contains(r10.Text, "— "+e.Event) {
			bad("event %s not in REQ_05_02_10", e.Event)
		}
		if !regexp.MustCompile(`(?m)^` + e.Event + `\t` + regexp.QuoteMeta(e.Description) + `\s*$`).MatchString(s.text) {
			bad("event %s: description %q not in Table 44", e.Event, e.Description)
		}
	}
	for i, op := range tb.ContainerOperations {
		start := `^Table ` + regexp.QuoteMeta(op.Table) + ` — `
		var reg []string
		var err error
		if i == len(tb.ContainerOperations)-1 {
			reg, err = tailFrom(s, start) // the seed ends inside Table A.7 (I-218)
		} else {
			reg, err = s.region(start, `Table A\.`+strconv.Itoa(i+3)+`\S* describes`)
		}
		if err != nil {
			bad("%s: %v", op.Table, err)
			continue
		}
		var codes []int
		hasPath, inCodes := false, false
		for _, l := range reg {
			if strings.HasPrefix(tagRe.ReplaceAllString(l, ""), "HTTP status codes") {
				inCodes = true
			}
			if inCodes {
				for _, m := range codeRe.FindAllStringSubmatch(l, -1) {
					c, _ := strconv.Atoi(m[1])
					codes = append(codes, c)
				}
			}
			if strings.Contains(l, op.Method+" {baseURI}"+op.Path) {
				hasPath = true
			}
		}
		if !slices.Equal(codes, op.Codes) {
			bad("%s: seed codes %v, data %v", op.Table, codes, op.Codes)
		}
		if !hasPath {
			bad("%s: %s %s not in the table", op.Table, op.Method, op.Path)
		}
		if r, ok := Lookup(op.Req); !ok || !regexp.MustCompile(`(?m)`+regexp.QuoteMeta(op.Method+" {baseURI}"+op.Path)+`\s*\t?Table `+regexp.QuoteMeta(op.Table)).MatchString(s.text) {
			bad("%s: Table A.1 does not give %s %s for %s (%v)", op.Table, op.Method, op.Path, op.Req, r.ID)
		}
	}
	return problems
}

func tailFrom(s *seed, start string) ([]string, error) {
	re := regexp.MustCompile(start)
	for i, l := range s.lines {
		if re.MatchString(l) {
			return s.lines[i+1:], nil
		}
	}
	return nil, fmt.Errorf("region start %q not found", start)
}

func TestSeedContainers(t *testing.T) {
	for _, p := range checkContainers(loadSeed(t, seedFull), AllTables()) {
		t.Error(p)
	}
}

// The repairs of the register that rest on the preview (003) and on the
// seed's own damage: the checks fail when the seeds change under them.
func TestSeedRepairs(t *testing.T) {
	full, preview := loadSeed(t, seedFull), loadSeed(t, seedPreview)
	for _, c := range []struct {
		id, why string
		ok      bool
	}{
		{"I-221", "004 Table 11 lost the wildcard's slash", strings.Contains(full.text, "{baseURI}/{entities}*/{entities2}")},
		{"I-221", "003 Table 11 has the slashed wildcard", strings.Contains(preview.text, "{baseURI}/{entities}/*/{entities2}") && strings.Contains(preview.text, "{baseURI}/vehicles/*/positions")},
		{"I-220", "Table 45 puts events in an element of its own", strings.Contains(full.text, `{"containerId": "2a53b196-e04f-4857-92cb-9dbcb5dcb956"}, {"events"`)},
		{"I-219", "the examples have the hour 010", strings.Contains(full.text, `"updated": "2020-05-10T010:00:00Z"`)},
		{"I-218", "the seed ends inside Table A.7", strings.Contains(full.lines[len(full.lines)-2]+full.lines[len(full.lines)-1], "exve-resourceversion= container.v1.0")},
		{"I-203", "Tables 18 to 20 write token-type and callBackBaseURI with =", strings.Contains(full.text, `"token-type"="refresh_token"`) && strings.Contains(full.text, `"callBackBaseURI"=`)},
		{"I-217", "Table 28 pairs 402 with AUTH_ERROR", strings.Contains(full.text, `"reason": "AUTH_ERROR", "httpStatusCode": "402"`)},
		{"I-215", "discovery versions v1.0 and 1.0", strings.Contains(full.text, `"version": "v1.0"`) && strings.Contains(full.text, `"version": "1.0"`)},
	} {
		if !c.ok {
			t.Errorf("%s: %s: not found in the seed; revisit the register", c.id, c.why)
		}
	}
}

// Each checker must fail on a transcription error.
func TestSeedCheckersCatchMutations(t *testing.T) {
	full := loadSeed(t, seedFull)
	mutate := func(name string, problems []string) {
		t.Helper()
		if len(problems) == 0 {
			t.Errorf("%s: the mutation went unnoticed", name)
		}
	}
	reqs := Requirements()
	r := slices.Clone(reqs)
	r[3].Text = strings.Replace(r[3].Text, "client", "server", 1)
	mutate("requirement text", checkRequirements(full, r))
	r = slices.Clone(reqs)
	r[0].Strength = Should
	mutate("requirement strength", checkRequirements(full, r))
	r = slices.Clone(reqs)
	r[10].Clause = "4.3"
	mutate("requirement clause", checkRequirements(full, r))
	mutate("missing requirement", checkRequirements(full, reqs[1:]))

	tb := AllTables()
	sc := slices.Clone(tb.StatusCodes)
	sc[9].Code = 428
	mutate("status code", checkStatusCodes(full, sc))
	mutate("missing status code", checkStatusCodes(full, tb.StatusCodes[1:]))
	dr := slices.Clone(tb.DeactivationReasons)
	dr[1].Reason = "AUTHORIZATION_ERROR"
	mutate("deactivation reason", checkDeactivationReasons(full, dr))
	as := slices.Clone(tb.AsyncStates)
	as[1].State = "Running"
	mutate("async state", checkAsyncStates(full, as, tb.AsyncKeys))
	ak := slices.Clone(tb.AsyncKeys)
	ak[1].Key = "asyncDelay"
	mutate("async key", checkAsyncStates(full, tb.AsyncStates, ak))
	m := AllTables()
	m.RateLimitHeaders[0].Name = "X-RateLimit-Limit"
	mutate("rate-limit header", checkKeysAndHeaders(full, m))
	m = AllTables()
	m.VersionParameter.Pattern = `.*`
	mutate("version pattern", checkKeysAndHeaders(full, m))
	m = AllTables()
	m.ErrorKeys[1].Key = "exveErrorMessage"
	mutate("error key", checkKeysAndHeaders(full, m))
	m = AllTables()
	m.ContainerOperations[0].Codes = append(m.ContainerOperations[0].Codes, 429)
	mutate("container codes", checkContainers(full, m))
	m = AllTables()
	m.ConsentStatuses[0] = "WAITING"
	mutate("consent status", checkContainers(full, m))
}
