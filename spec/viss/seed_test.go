package vissspec

// Transcription tests: every row of data/*.yaml is checked against the text
// of its document (../shared/spec/ and ../shared/spec/companion/). Each
// checker returns the problems it finds, so TestCheckersCatchMutations can
// prove that a transcription error makes the check fail.

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

// sharedSpec returns the shared/spec directory beside the repository (or
// beside one of its parent directories, as for a git worktree).
func sharedSpec(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "shared", "spec", "002_7d876b6064a4b11b.txt")); err == nil {
			return filepath.Join(dir, "shared", "spec")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return filepath.Join("..", "shared", "spec")
		}
		dir = parent
	}
}

// text is one document, in lines with their surrounding blanks trimmed.
type text struct {
	name  string
	lines []string
	all   string
}

var quotes = strings.NewReplacer("\u2018", "'", "\u2019", "'", "\u201c", `"`, "\u201d", `"`, "\u00a0", " ")

func loadDoc(t testing.TB, file string) *text {
	t.Helper()
	p := filepath.Join(sharedSpec(t), file)
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		t.Skipf("%s not found (the checkout needs shared/ beside the repo); transcription not checked", p)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := quotes.Replace(string(b))
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return &text{name: file, lines: lines, all: strings.Join(lines, "\n")}
}

type docs map[string]*text

func loadDocs(t testing.TB, d Dialect) docs {
	out := docs{}
	for k, doc := range d.Documents {
		if strings.HasSuffix(doc.File, ".json") {
			continue
		}
		out[k] = loadDoc(t, doc.File)
	}
	return out
}

// region returns the lines after the first line equal to start (or, when
// start is a regexp in slashes, matching it), from index from on, up to the
// next line equal to one of ends.
func (x *text) region(from int, start string, ends ...string) ([]string, int, error) {
	for i := from; i < len(x.lines); i++ {
		if x.lines[i] != start {
			continue
		}
		for j := i + 1; j < len(x.lines); j++ {
			if slices.Contains(ends, x.lines[j]) {
				return x.lines[i+1 : j], j, nil
			}
		}
		return x.lines[i+1:], len(x.lines), nil
	}
	return nil, 0, fmt.Errorf("%s: no line %q", x.name, start)
}

func report(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

// ---- sections ----

// checkSections: every heading is a line of its document, and within one
// document the sections come in text order with ascending clause IDs.
func checkSections(ds docs, d Dialect) (problems []string) {
	pos := map[string]int{}
	last := map[string]string{}
	for _, s := range d.Sections {
		x := ds[s.Doc]
		i := pos[s.Doc]
		for ; i < len(x.lines) && x.lines[i] != s.Heading; i++ {
		}
		if i == len(x.lines) {
			problems = append(problems, fmt.Sprintf("%s section %s: heading %q not found in %s after the previous section", d.Name, s.ID, s.Heading, x.name))
			continue
		}
		pos[s.Doc] = i + 1
		if prev, ok := last[s.Doc]; ok && !clauseLess(prev, s.ID) {
			problems = append(problems, fmt.Sprintf("%s section %s comes after %s in the text but its ID does not ascend", d.Name, s.ID, prev))
		}
		last[s.Doc] = s.ID
	}
	return problems
}

// clauseLess orders clause IDs: numbers before letters, part by part.
func clauseLess(a, b string) bool {
	a, b = strings.TrimPrefix(a, "T"), strings.TrimPrefix(b, "T")
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		switch {
		case ea == nil && eb == nil && na != nb:
			return na < nb
		case ea == nil && eb != nil:
			return true
		case ea != nil && eb == nil:
			return false
		case ea != nil && eb != nil && pa[i] != pb[i]:
			return pa[i] < pb[i]
		}
	}
	return len(pa) < len(pb)
}

// ---- the transport's status-code table ----

var statusLine = regexp.MustCompile(`^(\d{3}) \(([^)]*)\)$`)

// parseStatus reads the status table: "NNN (Phrase)", reason, message.
func parseStatus(lines []string) (rows []ErrorRow) {
	for i := 0; i+2 < len(lines); i++ {
		m := statusLine.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		rows = append(rows, ErrorRow{Number: n, Reason: strings.TrimSpace(lines[i+1]), Message: strings.TrimSpace(lines[i+2])})
		i += 2
	}
	return rows
}

func checkErrors(ds docs, d Dialect) (problems []string) {
	x := ds["transport"]
	reg, _, err := x.region(0, "## Status Codes", "## In-line Error Reporting", "## Transport Payload")
	if err != nil {
		return []string{err.Error()}
	}
	got := parseStatus(reg)
	if len(got) != len(d.Errors) {
		problems = append(problems, fmt.Sprintf("%s: the status table has %d rows, the data %d", d.Name, len(got), len(d.Errors)))
	}
	for i := 0; i < len(got) && i < len(d.Errors); i++ {
		g, w := got[i], d.Errors[i]
		if g.Number != w.Number || g.Reason != w.Reason || g.Message != w.Message {
			problems = append(problems, fmt.Sprintf("%s status row %d: text %d %s %q, data %d %s %q", d.Name, i+1, g.Number, g.Reason, g.Message, w.Number, w.Reason, w.Message))
		}
	}
	return problems
}

// ---- v3 Common Error Scenarios ----

var scenarioMsg = regexp.MustCompile(`^(\d{3}) - (\S+) - (.+)$`)

func checkScenarios(ds docs, d Dialect) (problems []string) {
	if d.Name != V3 {
		return nil
	}
	reg, _, err := ds["transport"].region(0, "## Common Error Scenarios", "## 400 Bad Request Error Descriptions")
	if err != nil {
		return []string{err.Error()}
	}
	var got []Scenario
	for i := 1; i < len(reg); i++ {
		if m := scenarioMsg.FindStringSubmatch(reg[i]); m != nil {
			n, _ := strconv.Atoi(m[1])
			got = append(got, Scenario{Scenario: reg[i-1], Number: n, Reason: m[2], Description: m[3]})
		}
	}
	if len(got) != len(d.Scenarios) {
		problems = append(problems, fmt.Sprintf("v3: Common Error Scenarios has %d rows, the data %d", len(got), len(d.Scenarios)))
	}
	for i := 0; i < len(got) && i < len(d.Scenarios); i++ {
		g, w := got[i], d.Scenarios[i]
		if g.Scenario != w.Scenario || g.Number != w.Number || g.Reason != w.Reason || g.Description != w.Description {
			problems = append(problems, fmt.Sprintf("v3 scenario row %d: text %+v, data %+v", i+1, g, w))
		}
		if s, ok := d.Situation(w.Situation); ok && s.Errors[0].Number != w.Number {
			problems = append(problems, fmt.Sprintf("v3 scenario %q: situation %s answers %v, the table %d %s", w.Scenario, w.Situation, s.Errors[0], w.Number, w.Reason))
		}
	}
	return problems
}

// ---- message tables ----

// parseMessages reads "Object Name / Attribute / Type / Required" tables
// between start and end: an object's name is alone on its line or the first
// of four cells.
func parseMessages(lines []string) (out []Message) {
	in := false
	for _, l := range lines {
		cells := strings.Split(l, "\t")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		cells = slices.DeleteFunc(cells, func(c string) bool { return c == "" })
		switch {
		case len(cells) == 4 && cells[0] == "Object Name":
			in = true
		case !in:
		case len(cells) == 1 && objectName.MatchString(cells[0]):
			out = append(out, Message{Name: cells[0]})
		case len(cells) == 4 && objectName.MatchString(cells[0]):
			out = append(out, Message{Name: cells[0]})
			cells = cells[1:]
			fallthrough
		case len(cells) == 3 && len(out) > 0 && (cells[2] == "Yes" || cells[2] == "Optional"):
			m := &out[len(out)-1]
			m.Fields = append(m.Fields, Field{Name: cells[0], Type: cells[1], Required: cells[2] == "Yes"})
		default:
			in = false
		}
	}
	return out
}

var objectName = regexp.MustCompile(`^(get|set|subscribe|subscription|unsubscribe)[A-Z][A-Za-z]*$`)

func checkMessages(ds docs, d Dialect) (problems []string) {
	start, end := "## Secure WebSocket", "## HTTPS"
	if d.Name == Gen2 {
		start, end = "## Secure WebSockets", "## Definitions"
	}
	reg, _, err := ds["transport"].region(0, start, end)
	if err != nil {
		return []string{err.Error()}
	}
	got := parseMessages(reg)
	if len(got) != len(d.Messages) {
		problems = append(problems, fmt.Sprintf("%s: %d message tables in the text, %d in the data", d.Name, len(got), len(d.Messages)))
	}
	for i := 0; i < len(got) && i < len(d.Messages); i++ {
		g, w := got[i], d.Messages[i]
		if g.Name != w.Name || !slices.Equal(g.Fields, w.Fields) {
			problems = append(problems, fmt.Sprintf("%s message %d: text %s %+v, data %s %+v", d.Name, i+1, g.Name, g.Fields, w.Name, w.Fields))
		}
	}
	return problems
}

// ---- the core's access-control table, permissions, audience, claims ----

var tokenRow = regexp.MustCompile(`^(\d{3}) \([^)]*\) (\S+) (.+)$`)

func checkAccessControl(ds docs, d Dialect) (problems []string) {
	x := ds["core"]
	head := "Error Number (Code) Error Reason Error Message"
	if d.Name == V3 {
		head = "Error Number (Code) Error Reason Error Description"
	}
	i := slices.Index(x.lines, head)
	if i < 0 {
		return []string{fmt.Sprintf("%s: no line %q", d.Name, head)}
	}
	var got []ErrorRow
	for _, l := range x.lines[i+1:] {
		m := tokenRow.FindStringSubmatch(l)
		if m == nil {
			break
		}
		n, _ := strconv.Atoi(m[1])
		got = append(got, ErrorRow{Number: n, Reason: m[2], Message: m[3]})
	}
	if !slices.Equal(got, d.AccessControl.CoreTokenErrors) {
		problems = append(problems, fmt.Sprintf("%s: the core's access-control error table reads %+v, the data %+v", d.Name, got, d.AccessControl.CoreTokenErrors))
	}
	// Every core-table code of a situation is a row of that table.
	for _, s := range d.Situations {
		for _, e := range s.Errors {
			if e.CoreTable && !slices.ContainsFunc(got, func(r ErrorRow) bool { return r.Number == e.Number && r.Reason == e.Reason }) {
				problems = append(problems, fmt.Sprintf("%s situation %s: %v is marked core_table but is not in the core's table", d.Name, s.Name, e))
			}
		}
	}
	perm := "ValidationRead-onlyRead-write"
	if d.Name == V3 {
		perm = "Permissionread-onlyread-write"
	}
	j := slices.Index(x.lines, perm)
	if j < 0 || j+6 >= len(x.lines) {
		return append(problems, fmt.Sprintf("%s: no permission table %q", d.Name, perm))
	}
	// The flattened table: the three request kinds, then one OkOk/NokOk line per kind.
	for k, p := range d.AccessControl.Permissions {
		cell := func(ok bool) string {
			if ok {
				return "Ok"
			}
			return "Nok"
		}
		if x.lines[j+1+k] != p.Request || x.lines[j+4+k] != cell(p.ReadOnly)+cell(p.ReadWrite) {
			problems = append(problems, fmt.Sprintf("%s permission %s: text %q %q, data %+v", d.Name, p.Request, x.lines[j+1+k], x.lines[j+4+k], p))
		}
	}
	if !strings.Contains(x.all, `"aud": "`+d.AccessControl.Audience+`"`) {
		problems = append(problems, fmt.Sprintf("%s: audience %q is not in the token examples", d.Name, d.AccessControl.Audience))
	}
	// The access token example: from its heading to the next heading.
	k := slices.Index(x.lines, "Access Token")
	k2 := slices.Index(x.lines[k+1:], "Proof of Possession")
	if k < 0 || k2 < 0 {
		return append(problems, d.Name.String()+": no Access Token section")
	}
	ex := strings.Join(x.lines[k:k+1+k2], "\n")
	for _, c := range append(slices.Clone(d.AccessControl.AccessTokenClaims.Required), d.AccessControl.AccessTokenClaims.Optional...) {
		if !strings.Contains(ex, `"`+c+`":`) {
			problems = append(problems, fmt.Sprintf("%s: claim %s is not in the access token example", d.Name, c))
		}
	}
	if d.AccessControl.VINClaim != strings.Contains(x.all, "If a vehicle identity claim (vin) is present in the token, then it MUST be validated") {
		problems = append(problems, fmt.Sprintf("%s: vin_claim %v disagrees with the text", d.Name, d.AccessControl.VINClaim))
	}
	for _, m := range d.AccessControl.SelectionModes {
		if !strings.Contains(x.all, `"`+m+`"`) {
			problems = append(problems, fmt.Sprintf("%s: selection mode %q is not in the text", d.Name, m))
		}
	}
	return problems
}

func (n DialectName) String() string { return string(n) }

// ---- rules stated in sentences ----

func checkRules(ds docs, d Dialect) (problems []string) {
	core, tr := ds["core"], ds["transport"]
	need := func(x *text, s, what string) {
		if !strings.Contains(x.all, s) {
			problems = append(problems, fmt.Sprintf("%s %s: %q not in %s", d.Name, what, s, x.name))
		}
	}
	if !slices.Contains(core.lines, d.Timestamp.Format) {
		problems = append(problems, fmt.Sprintf("%s: timestamp format %q is not a line of the core", d.Name, d.Timestamp.Format))
	}
	need(core, "using the UTC format with a trailing Z", "timestamp")
	switch d.Name {
	case V3:
		need(tr, "The sub-protocol name SHALL be '"+d.Subprotocol+"'", "subprotocol")
		need(tr, "the server MUST reject 'ws' connection requests", "ws refused")
		need(core, "MUST make use of TLS v"+d.MinTLS, "TLS")
		for k, v := range map[string]string{"http": "HTTP port number = %d.", "ws": "Websocket port number = %d.", "mqtt": "MQTT port number = %d.",
			"agts": "access grant token server shall use the port number %d.", "ats": "access token server shall use the port number %d."} {
			need(core, fmt.Sprintf(v, d.Ports[k]), "port "+k)
		}
		ops := `["` + strings.Join(d.Operators, `", "`) + `"]`
		need(core, "The supported boundary operators are "+ops, "range operators")
		need(core, "The supported logic operators are "+ops, "change operators")
		need(core, `the value "`+d.CombinationOps[0]+`", or the value "`+d.CombinationOps[1]+`"`, "combination operators")
		need(core, `"`+raws[V3].RangeOperatorKey[RevisionRC0]+`":"gt"`, "rc0 range operator key")
		need(tr, `"`+raws[V3].RangeOperatorKey[RevisionPublished]+`":"gt", "boundary"`, "published range operator key")
		need(core, fmt.Sprintf("The number of days shall be less than %d.", d.HistoryMaxDays), "history")
		var mand, sub []string
		for _, f := range d.Filters {
			if f.Mandatory {
				mand = append(mand, f.Variant)
			}
			if !slices.Contains(f.Methods, "get") {
				sub = append(sub, f.Variant)
			}
		}
		need(core, "The server MUST support the "+strings.Join(mand, " and ")+" variants", "mandatory filters")
		need(core, "The variants "+strings.Join(sub[:len(sub)-1], ", ")+", and "+sub[len(sub)-1]+" are only applicable for subscription requests.", "subscribe-only filters")
		need(tr, d.InlineErrorValue, "in-line error value")
		need(tr, "number\tstring\tYes", "error number type")
		reg, _, err := core.region(0, "Server Feature Naming", "Data Compression")
		if err != nil {
			return append(problems, err.Error())
		}
		feat := strings.Join(reg, "\n")
		f := d.ServerFeatures
		for _, name := range slices.Concat(f.Protocol, f.Filter, f.FileTransfer, f.DataCompression, f.Security, f.AccessControlFlow) {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `( |$)`).MatchString(feat) {
				problems = append(problems, fmt.Sprintf("v3: server feature %q is not in Server Feature Naming", name))
			}
		}
		for _, v := range f.Filter {
			if _, ok := d.Filter(v); !ok {
				problems = append(problems, fmt.Sprintf("v3: feature filter %q has no filter variant", v))
			}
		}
	case Gen2:
		need(tr, "The sub-protocol name SHALL be 'gen2' with a version number suffix, e.g. "+DefaultOptions().Gen2Subprotocol+".", "subprotocol")
		need(tr, "the server MUST refuse 'ws' connection requests", "ws refused")
		need(tr, "number\tinteger\tYes", "error number type")
		forms := map[string]string{"$spec": "$spec EQ depth", "$path": "$path EQ search-expression", "$data": "$data comparison-operator value",
			"$interval": "$interval EQ value", "$range": "$range comparison-operator value", "$change": "$change comparison-operator value"}
		opText := map[string]string{"EQ": "equal sign (EQ)", "GT": "greater than sign (GT)", "LT": "less than sign (LT)", "NEQ": "not equal sign (NEQ)"}
		for _, q := range d.QueryWords {
			need(core, forms[q.Word], "query "+q.Word)
			// The where-clause after the form names the operators.
			i := slices.Index(core.lines, forms[q.Word])
			if i < 0 || i+3 >= len(core.lines) {
				continue
			}
			ops := core.lines[i+3]
			for _, o := range []string{"EQ", "GT", "LT", "NEQ"} {
				in := strings.Contains(ops, opText[o])
				if in != slices.Contains(q.Operators, o) {
					problems = append(problems, fmt.Sprintf("gen2 %s: operator %s listed %v in the data, the text says %q", q.Word, o, slices.Contains(q.Operators, o), ops))
				}
			}
			row := fmt.Sprintf("%d. %s ", q.Index, q.Name)
			var with []string
			for _, c := range d.Combinations {
				if c.Index == q.Index {
					for _, w := range c.With {
						with = append(with, strconv.Itoa(w))
					}
				}
			}
			want := row + strings.Join(with, "+")
			if len(with) == 0 {
				want = row + "None"
			}
			if !slices.Contains(core.lines, want) {
				problems = append(problems, fmt.Sprintf("gen2 Table 1: no line %q", want))
			}
		}
		need(core, fmt.Sprintf("N is maximum %s.", map[int]string{4: "four"}[d.MaxQueries]), "max queries")
	}
	return problems
}

// ---- the tests ----

type checker func(docs, Dialect) []string

var checkers = map[string]checker{
	"sections": checkSections, "errors": checkErrors, "scenarios": checkScenarios,
	"messages": checkMessages, "access control": checkAccessControl, "rules": checkRules,
}

func TestSeedTranscription(t *testing.T) {
	for _, n := range Dialects() {
		d := MustLoad(n, DefaultOptions())
		ds := loadDocs(t, d)
		for name, c := range checkers {
			t.Run(string(n)+"/"+name, func(t *testing.T) { report(t, c(ds, d)) })
		}
	}
}

// TestCheckersCatchMutations changes one field of a row at a time and
// checks that the checkers notice.
func TestCheckersCatchMutations(t *testing.T) {
	mutations := []struct {
		name    string
		dialect DialectName
		mutate  func(*Dialect)
	}{
		{"error number", V3, func(d *Dialect) { d.Errors[1].Number = 401 }},
		{"error reason", Gen2, func(d *Dialect) { d.Errors[3].Reason = "token_expire" }},
		{"error message", V3, func(d *Dialect) { d.Errors[0].Message = "Bad request" }},
		{"missing error row", Gen2, func(d *Dialect) { d.Errors = d.Errors[1:] }},
		{"scenario reason", V3, func(d *Dialect) { d.Scenarios[2].Reason = "invalid_path" }},
		{"message field required", V3, func(d *Dialect) { d.Messages[0].Fields[1].Required = false }},
		{"message field dropped", Gen2, func(d *Dialect) { d.Messages[12].Fields = d.Messages[12].Fields[:2] }},
		{"core token error", V3, func(d *Dialect) { d.AccessControl.CoreTokenErrors[1].Number = 401 }},
		{"permission", Gen2, func(d *Dialect) { d.AccessControl.Permissions[1].ReadOnly = true }},
		{"audience", V3, func(d *Dialect) { d.AccessControl.Audience = "w3.org/gen2" }},
		{"claim", Gen2, func(d *Dialect) {
			d.AccessControl.AccessTokenClaims.Required = append(d.AccessControl.AccessTokenClaims.Required, "vin")
		}},
		{"vin claim", Gen2, func(d *Dialect) { d.AccessControl.VINClaim = true }},
		{"section heading", V3, func(d *Dialect) { d.Sections[3].Heading = "Get" }},
		{"section order", Gen2, func(d *Dialect) { d.Sections[3], d.Sections[4] = d.Sections[4], d.Sections[3] }},
		{"subprotocol", V3, func(d *Dialect) { d.Subprotocol = "VISSv2" }},
		{"timestamp", Gen2, func(d *Dialect) { d.Timestamp.Format = "YYYY-MM-DDTHH:MM:SSZ" }},
		{"operators", V3, func(d *Dialect) { d.Operators = d.Operators[:5] }},
		{"mandatory filter", V3, func(d *Dialect) { d.Filters[3].Mandatory = true }},
		{"port", V3, func(d *Dialect) { d.Ports["ws"] = 443 }},
		{"query operator", Gen2, func(d *Dialect) { d.QueryWords[5].Operators = []string{"GT"} }},
		{"combination", Gen2, func(d *Dialect) { d.Combinations[4].With = []int{2, 5} }},
		{"server feature", V3, func(d *Dialect) { d.ServerFeatures.Security = append(d.ServerFeatures.Security, "encryption") }},
		{"core-table marking", V3, func(d *Dialect) { d.Situations[len(d.Situations)-1].Errors[1].Reason = "insufficient_privileges" }},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			d := MustLoad(m.dialect, DefaultOptions())
			ds := loadDocs(t, d)
			m.mutate(&d)
			var all []string
			for _, c := range checkers {
				all = append(all, c(ds, d)...)
			}
			if len(all) == 0 {
				t.Errorf("mutation %q went unnoticed", m.name)
			}
		})
	}
}

// TestInterpretationsExist checks that every reading the data names is in
// the register, and that every VISS entry lies in I-260..I-319 or
// I-330..I-339.
func TestInterpretationsExist(t *testing.T) {
	known := map[string]bool{}
	for _, e := range spec.Interpretations() {
		known[e.ID] = true
	}
	for _, n := range Dialects() {
		for _, s := range MustLoad(n, DefaultOptions()).Situations {
			for _, id := range s.Interpretations {
				if !known[id] {
					t.Errorf("%s situation %s names %s, which is not in the register", n, s.Name, id)
				}
				if (id < "I-260" || id > "I-319") && (id < "I-330" || id > "I-339") {
					t.Errorf("%s situation %s names %s, outside the VISS ranges I-260..I-319 and I-330..I-339", n, s.Name, id)
				}
			}
		}
	}
}
