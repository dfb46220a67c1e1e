package spec

// Transcription tests: every row of every table in data/*.yaml is checked
// against the seed text itself. Each checker takes the seed and the rows and
// returns the problems it finds, so TestSeedCheckersCatchMutations can prove
// that a transcription error (a changed code, name, retry value, interval,
// an extra or a missing row) makes the check fail.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const seedFile = "000_f552bc2a06c36321.txt"

// seedPath returns <repo root>/../shared/spec/<seed>, the root being the
// nearest directory above the working directory holding go.mod.
func seedPath(t testing.TB) string {
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
			t.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
	return filepath.Join(dir, "..", "shared", "spec", seedFile)
}

// seed is the seed text, split in lines, with homoglyphs folded to ASCII.
type seed struct {
	lines []string
	text  string // lines joined by "\n"
}

var homoglyphs = strings.NewReplacer(
	"\u041e", "O", "\u041a", "K", "\u0410", "A", "\u0415", "E", "\u0421", "C", "\u0420", "P",
	"\u0422", "T", "\u0425", "X", "\u041c", "M", "\u041d", "H", "\u0412", "B",
	"\u043e", "o", "\u0430", "a", "\u0435", "e", "\u0441", "c", "\u0440", "p", "\u0443", "y", "\u0445", "x",
)

func loadSeed(t testing.TB) *seed {
	t.Helper()
	p := seedPath(t)
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		t.Skipf("seed not found at %s (the checkout needs shared/ beside the repo); transcription not checked", p)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := homoglyphs.Replace(string(b))
	return &seed{lines: strings.Split(s, "\n"), text: s}
}

// region returns the lines after the first line matching start, up to (not
// including) the next line matching end. It reports a problem if either is
// missing or if start matches more than one line.
func (s *seed) region(start, end string) ([]string, error) {
	sr, er := regexp.MustCompile(start), regexp.MustCompile(end)
	n := 0
	for _, l := range s.lines {
		if sr.MatchString(l) {
			n++
		}
	}
	if n > 1 {
		return nil, fmt.Errorf("region start %q is ambiguous: %d lines match", start, n)
	}
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

func report(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

func has(ids []string, id string) bool { return slices.Contains(ids, id) }

// ---- Table 7-8 ----

var httpRowRe = regexp.MustCompile(`^([A-Za-z ]*)\t(\d{3})\t([^\t]*)\t([^\t]*?)\s*$`)

// seedArtefacts maps an extraction artefact of a cell to what it stands for (I-030).
var seedArtefacts = map[string]string{"OK.": "OK", "res": "Yes", "DEADLINE_EXCEEDE": "DEADLINE_EXCEEDED"}

func fixCell(c string) string {
	c = strings.TrimSpace(c)
	if v, ok := seedArtefacts[c]; ok {
		return v
	}
	return c
}

func checkHTTPStatus(s *seed, rows []HTTPStatus) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf("T7-8: "+f, a...)) }
	reg, err := s.region(`^#+ Table 7-8 HTTP/1.1 response status codes\s*$`, `7\.2\.2\.5\. Timeout Specification`)
	if err != nil {
		return []string{err.Error()}
	}
	i, class := 0, ""
	for _, l := range reg {
		m := httpRowRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		code, _ := strconv.Atoi(m[2])
		if c := strings.TrimSpace(m[1]); c != "" {
			class = c
		}
		if i >= len(rows) {
			bad("seed row %d %s is not transcribed", code, m[3])
			i++
			continue
		}
		r := rows[i]
		i++
		if r.Code != code {
			bad("row %d: seed has code %d, data %d", i, code, r.Code)
			continue
		}
		if reason := fixCell(m[3]); r.Reason != reason {
			bad("%d: reason %q, seed %q", code, r.Reason, reason)
		}
		if r.Class != class {
			bad("%d: class %q, seed %q", code, r.Class, class)
		}
		switch cell := fixCell(m[4]); cell {
		case "Yes", "No":
			if r.Retry != (cell == "Yes") || !r.RetryStated {
				bad("%d: retry %v (stated %v), seed row says %s", code, r.Retry, r.RetryStated, cell)
			}
		case "":
			if r.RetryStated || !has(r.Interpretations, "I-008") {
				bad("%d: seed row has no Retry value: want retry_stated false and I-008", code)
			}
		default:
			bad("%d: unexpected Retry cell %q", code, cell)
		}
		if n := regexp.MustCompile(`for (\d+) minutes`).FindStringSubmatch(r.Reason); n != nil {
			mins, _ := strconv.Atoi(n[1])
			if r.Silence != SilenceFor || r.SilenceS != float64(mins*60) {
				bad("%d: want silence for %d s", code, mins*60)
			}
		} else if strings.Contains(r.Reason, "until next IGON") {
			if r.Silence != SilenceUntilIGOn {
				bad("%d: want silence until-ig-on", code)
			}
		} else if r.Silence != "" {
			bad("%d: silence %q not in the seed row", code, r.Silence)
		}
	}
	if i != len(rows) {
		bad("seed has %d rows, data %d", i, len(rows))
	}
	// 7.2.2.4: rolled back, never retried.
	m := regexp.MustCompile(`\(Code:([0-9, ]+)\) that depend on server-side status`).FindStringSubmatch(s.text)
	if m == nil {
		return append(problems, "7.2.2.4: rollback sentence not found")
	}
	var want []int
	for _, f := range strings.Split(m[1], ",") {
		n, _ := strconv.Atoi(strings.TrimSpace(f))
		want = append(want, n)
	}
	var got []int
	for _, r := range rows {
		if r.RollBack {
			got = append(got, r.Code)
			if r.Retry {
				bad("%d is rolled back and must not retry", r.Code)
			}
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		bad("rollback codes %v, seed %v", got, want)
	}
	return problems
}

func TestSeedHTTPStatus(t *testing.T) {
	report(t, checkHTTPStatus(loadSeed(t), HTTPStatuses()))
}

// ---- Table 7-20 ----

var (
	grpcRowRe  = regexp.MustCompile(`^(\d+)\t([A-Z_]+)\t(\d{3})(?: ([^\t]+))?\t(Yes|No)\s*$`)
	grpcContRe = regexp.MustCompile(`^\t\t([^\t]+?)\s*$`)
)

func checkGRPCStatus(s *seed, rows []GRPCStatus) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf("T7-20: "+f, a...)) }
	reg, err := s.region(`^\**Table 7-20 Response Status Code and Retry Required\** *$`, `7\.2\.4\.6\. Session Management`)
	if err != nil {
		return []string{err.Error()}
	}
	type srow struct {
		code, http   int
		name, reason string
		retry        bool
	}
	var got []*srow
	for _, l := range reg {
		if m := grpcRowRe.FindStringSubmatch(l); m != nil {
			c, _ := strconv.Atoi(m[1])
			h, _ := strconv.Atoi(m[3])
			got = append(got, &srow{code: c, http: h, name: fixCell(m[2]), reason: m[4], retry: m[5] == "Yes"})
		} else if m := grpcContRe.FindStringSubmatch(l); m != nil && len(got) > 0 && got[len(got)-1].reason == "" {
			got[len(got)-1].reason = m[1]
		}
	}
	if len(got) != len(rows) {
		bad("seed has %d rows, data %d", len(got), len(rows))
	}
	for _, g := range got {
		i := slices.IndexFunc(rows, func(r GRPCStatus) bool { return r.Code == g.code })
		if i < 0 {
			bad("seed code %d not transcribed", g.code)
			continue
		}
		r := rows[i]
		if r.Name != g.name || r.HTTP != g.http || r.HTTPReason != g.reason || r.Retry != g.retry {
			bad("%d: data {%s %d %q %v}, seed {%s %d %q %v}", g.code, r.Name, r.HTTP, r.HTTPReason, r.Retry, g.name, g.http, g.reason, g.retry)
		}
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].Code <= rows[i-1].Code {
			bad("not in code order at %d", rows[i].Code)
		}
	}
	return problems
}

func TestSeedGRPCStatus(t *testing.T) {
	report(t, checkGRPCStatus(loadSeed(t), GRPCStatuses()))
}

// ---- Tables 7-21..7-24 ----

var (
	mqttRowRe  = regexp.MustCompile(`^(\d+)[\t ]+(0x[0-9A-F]{2})\t+(.+?)\t(Yes|No)\s*$`)
	mqttContRe = regexp.MustCompile(`^\t\t([^\t]+?)\t?\s*$`)
)

func checkMQTT(s *seed, table, start, end string, rows []MQTTReason) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf(table+": "+f, a...)) }
	reg, err := s.region(start, end)
	if err != nil {
		return []string{err.Error()}
	}
	type srow struct {
		code      int
		hex, name string
		retry     bool
	}
	var got []*srow
	for _, l := range reg {
		if m := mqttRowRe.FindStringSubmatch(l); m != nil {
			c, _ := strconv.Atoi(m[1])
			got = append(got, &srow{code: c, hex: m[2], name: strings.TrimSpace(m[3]), retry: m[4] == "Yes"})
		} else if m := mqttContRe.FindStringSubmatch(l); m != nil && len(got) > 0 {
			got[len(got)-1].name += " " + m[1]
		}
	}
	if len(got) != len(rows) {
		bad("seed has %d rows, data %d", len(got), len(rows))
	}
	for i := 0; i < len(got) && i < len(rows); i++ {
		g, r := got[i], rows[i]
		if r.Code != g.code || r.Hex != g.hex || r.Name != g.name || r.Retry != g.retry {
			bad("row %d: data {%d %s %q %v}, seed {%d %s %q %v}", i+1, r.Code, r.Hex, r.Name, r.Retry, g.code, g.hex, g.name, g.retry)
		}
		if want := table + " " + g.hex; r.Row != want {
			bad("row %d: row id %q, want %q", i+1, r.Row, want)
		}
	}
	return problems
}

var mqttTables = []struct{ table, start, end, packet string }{
	{"T7-21", `^#+ Table 7-21 Reason Code and Retry Required \(CONNACK\)\s*$`, `Table 7-22 Reason Code`, "CONNACK"},
	{"T7-22", `^Table 7-22 Reason Code and Retry Required \(PUBACK\)\s*$`, `SUBSCRIBE \(SUBACK\)`, "PUBACK"},
	{"T7-23", `^Table 7-23 Reason Code and Retry Required \(SUBACK\)\s*$`, `Unsubscribe \(UNSUBACK\)`, "SUBACK"},
	{"T7-24", `^Table 7-24 Reason Code and Retry Required or Not \(UNSUBACK\)\s*$`, `7\.2\.5\.5\. Timeout specification`, "UNSUBACK"},
}

func TestSeedMQTTReasons(t *testing.T) {
	s := loadSeed(t)
	all := MQTTReasons()
	for _, m := range mqttTables {
		report(t, checkMQTT(s, m.table, m.start, m.end, all.Table(m.packet)))
	}
}

// ---- 7.2.2.6 and Table 7-25 ----

func checkRetry(s *seed, table, start, end string, rows []RetryRule) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf(table+": "+f, a...)) }
	reg, err := s.region(start, end)
	if err != nil {
		return []string{err.Error()}
	}
	type srow struct {
		useCase    string
		realTime   bool
		applicable bool
		retries    int
		intervalS  float64
	}
	var got []srow
	useCase := ""
	for _, l := range reg {
		var f []string
		for _, c := range strings.Split(l, "\t") {
			if c = strings.TrimSpace(c); c != "" {
				f = append(f, c)
			}
		}
		for _, c := range f {
			if strings.HasPrefix(c, "Data upload") || strings.HasPrefix(c, "Data download") {
				useCase = c
			}
		}
		k := slices.IndexFunc(f, func(c string) bool { return c == "Required" || c == "Not required" })
		if k < 0 || k+2 >= len(f) {
			continue
		}
		r := srow{useCase: useCase, realTime: f[k] == "Required"}
		if f[k+1] != "N/A" {
			r.applicable = true
			r.retries, _ = strconv.Atoi(f[k+1])
			iv := regexp.MustCompile(`^(\d+)(sec|min)$`).FindStringSubmatch(f[k+2])
			if iv == nil {
				bad("interval cell %q", f[k+2])
				continue
			}
			n, _ := strconv.Atoi(iv[1])
			r.intervalS = float64(n)
			if iv[2] == "min" {
				r.intervalS *= 60
			}
		}
		got = append(got, r)
	}
	if len(got) != len(rows) {
		bad("seed has %d rows, data %d", len(got), len(rows))
	}
	for i := 0; i < len(got) && i < len(rows); i++ {
		g, r := got[i], rows[i]
		if !strings.HasPrefix(r.UseCase, g.useCase) || r.RealTime != g.realTime || r.Applicable != g.applicable ||
			r.Retries != g.retries || r.IntervalS != g.intervalS {
			bad("row %d (%s): data {%q rt=%v app=%v %d %gs}, seed {%q rt=%v app=%v %d %gs}", i+1, r.ID,
				r.UseCase, r.RealTime, r.Applicable, r.Retries, r.IntervalS, g.useCase, g.realTime, g.applicable, g.retries, g.intervalS)
		}
	}
	return problems
}

func retryRows(table string) []RetryRule {
	var out []RetryRule
	for _, r := range RetryRules() {
		if r.Table == table {
			out = append(out, r)
		}
	}
	return out
}

func TestSeedRetryRules(t *testing.T) {
	s := loadSeed(t)
	report(t, checkRetry(s, "7.2.2.6", `^#* *7\.2\.2\.6\. Retry Specification`, `7\.2\.2\.7\. Session Management`, retryRows("7.2.2.6")))
	report(t, checkRetry(s, "T7-25", `^Table 7-25 Use cases requiring retry, number of retries, and retry interval\s*$`, `7\.2\.5\.7\. Session Management`, retryRows("T7-25")))
	if len(RetryRules()) != len(retryRows("7.2.2.6"))+len(retryRows("T7-25")) {
		t.Errorf("retry rules from an unknown table")
	}
}

// ---- Tables 7-4 and 7-5 ----

type seedScenario struct{ row, title, retry, term string }

func join(a, b string) string {
	if a == "" {
		return b
	}
	if strings.HasSuffix(a, "-") {
		return a + b
	}
	return a + " " + b
}

func parseScenarios(reg []string) []*seedScenario {
	var out []*seedScenario
	var cur *seedScenario
	mode := ""
	rowRe := regexp.MustCompile(`^([A-M]): (.*)$`)
	for _, l := range reg {
		if strings.TrimSpace(l) == "" || strings.Contains(l, "CONFIDENTIAL") || strings.Contains(l, "No.") ||
			strings.Contains(l, "Abnormal Scenario") || !strings.Contains(l, "\t") {
			continue
		}
		f := strings.Split(l, "\t")
		for len(f) < 3 {
			f = append(f, "")
		}
		c0, c1, c2 := strings.TrimSpace(f[0]), strings.TrimSpace(f[1]), strings.TrimSpace(f[2])
		if m := rowRe.FindStringSubmatch(c0); m != nil {
			cur = &seedScenario{row: m[1], title: m[2]}
			out = append(out, cur)
			mode = ""
		} else if c0 != "" && cur != nil {
			cur.title = join(cur.title, c0)
		}
		switch c1 {
		case "Retry":
			mode = "retry"
		case "Termination condition":
			mode = "term"
		}
		if c2 == "" || cur == nil {
			continue
		}
		switch mode {
		case "retry":
			cur.retry = join(cur.retry, c2)
		case "term":
			cur.term = join(cur.term, c2)
		}
	}
	return out
}

func checkScenarios(s *seed, table, start, end string, rows []TLSScenario) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf(table+": "+f, a...)) }
	reg, err := s.region(start, end)
	if err != nil {
		return []string{err.Error()}
	}
	got := parseScenarios(reg)
	if len(got) != len(rows) {
		bad("seed has %d rows, data %d", len(got), len(rows))
	}
	intervalRe := regexp.MustCompile(`by (\d+) sec interval`)
	timeoutRe := regexp.MustCompile(`(\d+) sec timeout`)
	for i := 0; i < len(got) && i < len(rows); i++ {
		g, r := got[i], rows[i]
		id := table + " " + g.row
		if r.Row != g.row || r.Table != table || r.Clause != "7.1.1.7" {
			bad("row %d: data %s %s (clause %s), seed row %s", i+1, r.Table, r.Row, r.Clause, g.row)
			continue
		}
		if r.Title != g.title {
			bad("%s: title %q, seed %q", id, r.Title, g.title)
		}
		if r.RetryText != g.retry {
			bad("%s: retry text %q, seed %q", id, r.RetryText, g.retry)
		}
		if r.Termination != g.term {
			bad("%s: termination %q, seed %q", id, r.Termination, g.term)
		}
		retry := g.retry != "None"
		if r.Retry != retry {
			bad("%s: retry %v, seed %q", id, r.Retry, g.retry)
		}
		var interval, timeout float64
		if m := intervalRe.FindStringSubmatch(g.retry); m != nil {
			interval, _ = strconv.ParseFloat(m[1], 64)
		}
		if m := timeoutRe.FindStringSubmatch(g.retry + " " + g.term); m != nil {
			timeout, _ = strconv.ParseFloat(m[1], 64)
		}
		if r.RetryIntervalS != interval || r.TimeoutS != timeout {
			bad("%s: interval %gs timeout %gs, seed says %gs and %gs", id, r.RetryIntervalS, r.TimeoutS, interval, timeout)
		}
		switch {
		case !retry:
			if r.RetryCount != 0 {
				bad("%s: retry count %d without retry", id, r.RetryCount)
			}
		case strings.Contains(g.term, "one-time retry") || strings.Contains(strings.ToLower(g.term), "one-time retry") ||
			strings.Contains(g.term, "same error occurs after retry"):
			if r.RetryCount != 1 || !r.RetryCountStated {
				bad("%s: retry count %d (stated %v), seed says once", id, r.RetryCount, r.RetryCountStated)
			}
		case strings.Contains(g.term, "X times"):
			if r.RetryCountStated || !has(r.Interpretations, "I-006") || r.RetryCount != DefaultOptions().ServerAuthRowIRetries {
				bad("%s: \"X times\" must be the I-006 default, unstated", id)
			}
		default:
			bad("%s: cannot derive the retry count from %q", id, g.term)
		}
		discard := DiscardNothing
		if strings.Contains(g.term, "Discard acquired certificate") {
			discard = DiscardCertificate
		} else if strings.Contains(g.term, "Discard acquired CRL") {
			discard = DiscardCRL
		}
		if r.Discard != discard {
			bad("%s: discard %q, seed %q", id, r.Discard, discard)
		}
	}
	return problems
}

func TestSeedTLSScenarios(t *testing.T) {
	s := loadSeed(t)
	report(t, checkScenarios(s, "T7-4", `^#+ Table 7-4 Correspondence to abnormal scenario in TLS authentication phase\s*$`,
		`^Regarding the abnormal system scenario in client`, TLSServerAuth()))
	report(t, checkScenarios(s, "T7-5", `^#+ Table 7-5 Correspondence to abnormal scenario in Client authentication\s*$`,
		`^#* *7\.2\. Application Protocol`, TLSClientAuth()))
	letters := func(rows []TLSScenario) (s string) {
		for _, r := range rows {
			s += r.Row
		}
		return s
	}
	if l := letters(TLSServerAuth()); l != "ABCDEFGHIJKL" {
		t.Errorf("T7-4 rows %s", l)
	}
	if l := letters(TLSClientAuth()); l != "ABCDEFGHIJKLM" {
		t.Errorf("T7-5 rows %s", l)
	}
}

// ---- 7.1.1.2: Table 7-1, key exchange, signatures; 7.1.1.1, 7.1.1.4 ----

func checkCiphers(s *seed, rows []CipherSuite) (problems []string) {
	reg, err := s.region(`^\**Table 7-1 Cipher suites\** *$`, `7\.1\.1\.2\.2\. Key Exchange`)
	if err != nil {
		return []string{err.Error()}
	}
	n := 0
	for _, l := range reg {
		f := strings.Split(l, "\t")
		if len(f) < 3 || !strings.HasPrefix(strings.TrimSpace(f[1]), "TLS_") {
			continue
		}
		prio, _ := strconv.Atoi(strings.TrimSpace(f[0]))
		name := strings.ReplaceAll(f[1], " ", "")
		enc := strings.NewReplacer("CHCHA20", "CHACHA20").Replace(strings.TrimSpace(f[2]))
		if n >= len(rows) {
			problems = append(problems, "T7-1: seed row "+name+" not transcribed")
			n++
			continue
		}
		r := rows[n]
		n++
		if r.Name != name || r.Priority != prio || "Enc="+r.Enc+" Mac="+r.Mac != enc {
			problems = append(problems, fmt.Sprintf("T7-1: data {%s %d Enc=%s Mac=%s}, seed {%s %d %s}", r.Name, r.Priority, r.Enc, r.Mac, name, prio, enc))
		}
	}
	if n != len(rows) {
		problems = append(problems, fmt.Sprintf("T7-1: seed has %d rows, data %d", n, len(rows)))
	}
	return problems
}

func TestSeedTLS(t *testing.T) {
	s := loadSeed(t)
	report(t, checkCiphers(s, CipherSuites()))

	reg, err := s.region(`7\.1\.1\.2\.2\. Key Exchange Method`, `7\.1\.1\.2\.3\. Signature Method`)
	if err != nil {
		t.Fatal(err)
	}
	var ke []string
	for _, m := range regexp.MustCompile(`(ECDHE|DHE) (\d+) bits or more`).FindAllStringSubmatch(strings.Join(reg, " "), -1) {
		ke = append(ke, m[1]+" "+m[2])
	}
	var keData []string
	for _, k := range KeyExchanges() {
		keData = append(keData, fmt.Sprintf("%s %d", k.Method, k.MinBits))
	}
	if !slices.Equal(ke, keData) {
		t.Errorf("7.1.1.2.2: data %v, seed %v", keData, ke)
	}

	reg, err = s.region(`7\.1\.1\.2\.3\. Signature Method`, `7\.1\.1\.3\. Client Authentication`)
	if err != nil {
		t.Fatal(err)
	}
	var sigs []string
	for _, l := range reg {
		if m := regexp.MustCompile(`^\s*(?:- )?(?:-|>)\s+((?:ECDSA|RSASSA)\S*(?: \S+)*)\s*$`).FindStringSubmatch(l); m != nil {
			sigs = append(sigs, m[1])
		}
	}
	var sigData []string
	for _, g := range Signatures() {
		sigData = append(sigData, strings.TrimPrefix(g.Row, "7.1.1.2.3 "))
	}
	if !slices.Equal(sigs, sigData) {
		t.Errorf("7.1.1.2.3: data %v, seed %v", sigData, sigs)
	}

	for _, want := range []string{
		"conform to the following TLS1.3 specification", "Support SNI.", "it should be compliant with RFC7301",
		"stateless resumption PSK+(EC)DHE 1-RTT method", "0-RTT method should not be applied",
		"TLS session timeout shall be set as 12 hours", "Take care not to generate SIGPIPE",
	} {
		if !strings.Contains(s.text, want) {
			t.Errorf("seed lacks %q", want)
		}
	}
	ss := TLSSessionRules()
	if ss.SessionTimeoutS != 12*3600 || ss.SessionTimeout != TLSSessionTimeout || ss.EarlyData {
		t.Errorf("7.1.1.4: %+v", ss)
	}
}

// ---- headers, media types, timeouts, ports, file names ----

func TestSeedHeadersAndMedia(t *testing.T) {
	s := loadSeed(t)
	for _, r := range []struct{ start, end string }{
		{`^#* *7\.2\.2\.3\. Header Definition`, `User-Agent shall be used`},
		{`^#* *7\.2\.5\.3\. Header Definition`, `7\.2\.5\.4\. Response Status Code`},
	} {
		reg, err := s.region(r.start, r.end)
		if err != nil {
			t.Fatal(err)
		}
		var mts []string
		for _, l := range reg {
			if m := regexp.MustCompile(`^\s*- (\S+/\S+) \(`).FindStringSubmatch(l); m != nil {
				mts = append(mts, m[1])
			}
		}
		if !slices.Equal(mts, MediaTypes()) {
			t.Errorf("%s: data %v, seed %v", r.start, MediaTypes(), mts)
		}
	}
	ua := All().UserAgent
	for _, w := range []string{
		strings.Join(ua.ForbiddenContent, ", ") + ", etc. shall not be embeded in User-Agent",
		strings.Join(ua.ForbiddenHeaderExamples, ", ") + ", etc.",
		"shall always include the information management key", "The vehicle identifier shall be assigned as a custom header",
		"case-insensitive", GRPCContentTypeValue,
		"Topic= <Vehicle identifier>/<Application Name>", "C2V (Center→in-Car unit), V2C (in-Car unit→Center)",
		"Response Topic included in the PUBLISH of the PUSH notification",
	} {
		if !strings.Contains(s.text, w) {
			t.Errorf("seed lacks %q", w)
		}
	}
}

func TestSeedTimeouts(t *testing.T) {
	s := loadSeed(t)
	m := regexp.MustCompile(`no center response after sending a request is (\d+) seconds`).FindStringSubmatch(s.text)
	if m == nil {
		t.Fatal("7.2.2.5 sentence not found")
	}
	n, _ := strconv.Atoi(m[1])
	if HTTPResponseTimeout.Seconds() != float64(n) || All().HTTPTimeout.TimeoutS != float64(n) || All().HTTPResponseTimeout() != HTTPResponseTimeout {
		t.Errorf("7.2.2.5: %v, seed %d s", HTTPResponseTimeout, n)
	}
	if !strings.Contains(s.text, "shall not include the line connection time") {
		t.Error("7.2.2.5: connection-time sentence not found")
	}
	stated := map[string]float64{}
	for _, m := range regexp.MustCompile(`(CONNACK|PUBACK|SUBACK|UNSUBACK) wait(?:ing)? time: (\d+) seconds`).FindAllStringSubmatch(s.text, -1) {
		stated[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	n = 0
	for _, a := range MQTTAckTimeouts() {
		v, ok := stated[a.Packet]
		if ok != a.Stated || (ok && a.TimeoutS != v) {
			t.Errorf("7.2.5.5 %s: data %gs stated=%v, seed %v %gs", a.Packet, a.TimeoutS, a.Stated, ok, v)
		}
		if ok {
			n++
		}
	}
	if n != len(stated) {
		t.Errorf("7.2.5.5: seed states %d waits, data %d", len(stated), n)
	}
}

func TestSeedPorts(t *testing.T) {
	s := loadSeed(t)
	for i, p := range Ports() {
		sec := fmt.Sprintf("1.%d.2", i+1)
		if p.Clause != "A2 "+sec {
			t.Errorf("port %s: clause %s, want A2 %s", p.Protocol, p.Clause, sec)
		}
		reg, err := s.region(`^#+ `+regexp.QuoteMeta(sec)+`\. Port Number`, `^#+ `)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.Join(reg, " ")
		if m := regexp.MustCompile(`TCP:(\d+)`).FindStringSubmatch(body); m != nil {
			if p.TBD || strconv.Itoa(p.Port) != m[1] {
				t.Errorf("port %s: data %d tbd=%v, seed %s", p.Protocol, p.Port, p.TBD, m[1])
			}
		} else if !strings.Contains(body, "T.B.D") || !p.TBD {
			t.Errorf("port %s: seed %q, data tbd=%v", p.Protocol, body, p.TBD)
		}
	}
	if len(Ports()) != 4 {
		t.Errorf("Appendix 2 has 4 port clauses, data %d", len(Ports()))
	}
}

func TestSeedDataFormatAndFileName(t *testing.T) {
	s := loadSeed(t)
	for _, w := range []string{
		"if the data size is 2KB\\* or larger", "compressed using gzip", "Big endian shall be adopted",
		"Character code to be used shall be UTF-8",
		`YYYYMMDD\_HHMMSS\_<generation>\_<function>\_<counter value>\_<request ID>\_<trigger identifier>.<extension>`,
		"1-digit alphanumeric and 2-digit decimal number", "3-digit decimal number", "Expressed by 2-digit decimal number",
		`("FFF $\cdots$ " for binary and "000 $\cdots$ " for text and json)`, "The extension should be in lower case",
		`the time shall be set as 00000000\_000000`, "add a character string after the trigger identifier",
	} {
		if !strings.Contains(s.text, w) {
			t.Errorf("seed lacks %q", w)
		}
	}
	if GzipThreshold != 2*1024 {
		t.Errorf("GzipThreshold %d: the register reads 2KB as 2048", GzipThreshold)
	}
	var trig []Trigger
	for _, m := range regexp.MustCompile(`(?m)♦ (\w): (.+?)\s*$`).FindAllStringSubmatch(s.text, -1) {
		trig = append(trig, Trigger{ID: m[1], Meaning: m[2]})
	}
	if !slices.Equal(trig, All().FileName.Triggers) {
		t.Errorf("A1 2 triggers: data %v, seed %v", All().FileName.Triggers, trig)
	}
}

func TestSeedHTTP2Conformance(t *testing.T) {
	s := loadSeed(t)
	for _, c := range All().HTTP2Conformance {
		reg, err := s.region(`^#* *`+regexp.QuoteMeta(c.Clause)+`\. `, `^#* *7\.2\.`)
		if err != nil {
			t.Errorf("%s: %v", c.Clause, err)
			continue
		}
		m := regexp.MustCompile(`(?:HTTP/1\.1 specification \(|shown in )(7\.2\.2\.[0-9.]*[0-9])`).FindStringSubmatch(strings.Join(reg, " "))
		if m == nil {
			t.Errorf("%s: no conformance sentence", c.Clause)
			continue
		}
		if m[1] != c.ConformsTo && !(has(c.Interpretations, "I-013") && m[1] == "7.2.2.9.2") {
			t.Errorf("%s: conforms to %s, seed %s", c.Clause, c.ConformsTo, m[1])
		}
	}
}

// TestSeedCheckersCatchMutations proves that each checker fails on a
// transcription error: a changed value, a missing row and an invented row.
func TestSeedCheckersCatchMutations(t *testing.T) {
	s := loadSeed(t)
	mustFail := func(name string, problems []string) {
		t.Helper()
		if len(problems) == 0 {
			t.Errorf("%s: the seed check did not catch the mutation", name)
		}
	}
	mut := func(f func(d *Document)) Document { d := All(); f(&d); return d }

	h := func(d Document) []string { return checkHTTPStatus(s, d.HTTPStatus) }
	mustFail("http retry flipped", h(mut(func(d *Document) { d.HTTPStatus[38].Retry = false }))) // 503
	mustFail("http reason", h(mut(func(d *Document) { d.HTTPStatus[5].Reason = "Created!" })))
	mustFail("http code", h(mut(func(d *Document) { d.HTTPStatus[20].Code = 499 })))
	mustFail("http row missing", h(mut(func(d *Document) { d.HTTPStatus = slices.Delete(d.HTTPStatus, 3, 4) })))
	mustFail("http row invented", h(mut(func(d *Document) { d.HTTPStatus = append(d.HTTPStatus, d.HTTPStatus[0]) })))
	mustFail("http unstated marked stated", h(mut(func(d *Document) { d.HTTPStatus[1].RetryStated = true })))
	mustFail("http silence", h(mut(func(d *Document) { d.HTTPStatus[42].SilenceS = 60 })))
	mustFail("http rollback", h(mut(func(d *Document) { d.HTTPStatus[31].RollBack = false })))

	g := func(d Document) []string { return checkGRPCStatus(s, d.GRPCStatus) }
	mustFail("grpc retry", g(mut(func(d *Document) { d.GRPCStatus[14].Retry = false })))
	mustFail("grpc http", g(mut(func(d *Document) { d.GRPCStatus[8].HTTP = 503 })))
	mustFail("grpc name", g(mut(func(d *Document) { d.GRPCStatus[4].Name = "DEADLINE_EXCEEDE" })))
	mustFail("grpc missing", g(mut(func(d *Document) { d.GRPCStatus = d.GRPCStatus[:16] })))

	for _, m := range mqttTables {
		q := func(d Document) []string { return checkMQTT(s, m.table, m.start, m.end, d.MQTTReason.Table(m.packet)) }
		mustFail(m.table+" retry", q(mut(func(d *Document) { d.MQTTReason.Table(m.packet)[3].Retry = !d.MQTTReason.Table(m.packet)[3].Retry })))
		mustFail(m.table+" name", q(mut(func(d *Document) { d.MQTTReason.Table(m.packet)[1].Name += "x" })))
		mustFail(m.table+" code", q(mut(func(d *Document) { d.MQTTReason.Table(m.packet)[2].Code++ })))
	}
	mustFail("connack missing", checkMQTT(s, "T7-21", mqttTables[0].start, mqttTables[0].end, All().MQTTReason.Connack[1:]))

	r := func(rows []RetryRule) []string {
		return checkRetry(s, "7.2.2.6", `^#* *7\.2\.2\.6\. Retry Specification`, `7\.2\.2\.7\. Session Management`, rows)
	}
	rows := retryRows("7.2.2.6")
	rows[1].IntervalS = 30
	mustFail("retry interval", r(rows))
	rows = retryRows("7.2.2.6")
	rows[0].Retries = 3
	mustFail("retry count", r(rows))
	mustFail("retry missing", r(retryRows("7.2.2.6")[:2]))

	sc := func(rows []TLSScenario) []string {
		return checkScenarios(s, "T7-4", `^#+ Table 7-4 Correspondence to abnormal scenario in TLS authentication phase\s*$`,
			`^Regarding the abnormal system scenario in client`, rows)
	}
	for name, f := range map[string]func(r *TLSScenario){
		"tls retry":    func(r *TLSScenario) { r.Retry = false },
		"tls interval": func(r *TLSScenario) { r.RetryIntervalS = 2 },
		"tls count":    func(r *TLSScenario) { r.RetryCount = 2 },
		"tls discard":  func(r *TLSScenario) { r.Discard = DiscardCRL },
		"tls timeout":  func(r *TLSScenario) { r.TimeoutS = 3 },
	} {
		rows := TLSServerAuth()
		f(&rows[2]) // row C
		mustFail(name, sc(rows))
	}
	mustFail("tls missing row", sc(TLSServerAuth()[:11]))

	cs := CipherSuites()
	cs[1].Priority = 2
	mustFail("cipher priority", checkCiphers(s, cs))
}

// ---- 7.2.5.3 Payload Format Indicator, 7.2.5.2 topic forms ----

var pfiRe = regexp.MustCompile(`^\s*-?\s*>?\s*(\d+) \((0x[0-9A-F]{2})\) (.+?)\s*$`)

// checkPayloadFormats compares the 7.2.5.3 Payload Format Indicator lines
// ("> 0 (0x00) Byte") with the data.
func checkPayloadFormats(s *seed, rows []PayloadFormat) (problems []string) {
	reg, err := s.region(`^#* *7\.2\.5\.3\. Header Definition`, `^- Content Type`)
	if err != nil {
		return []string{err.Error()}
	}
	var got []PayloadFormat
	for _, l := range reg {
		if m := pfiRe.FindStringSubmatch(l); m != nil {
			v, _ := strconv.Atoi(m[1])
			got = append(got, PayloadFormat{Value: v, Hex: m[2], Meaning: m[3], Clause: "7.2.5.3", Row: "7.2.5.3 pfi-" + m[1]})
		}
	}
	if !slices.Equal(got, rows) {
		problems = append(problems, fmt.Sprintf("7.2.5.3 Payload Format Indicator: data %v, seed %v", rows, got))
	}
	return problems
}

// checkTopicForms compares the 7.2.5.2 topic forms of the data with the
// seed's "Topic= <Vehicle identifier>/<Application Name>/<Direction*>"
// lines and its list of directions.
func checkTopicForms(s *seed, forms []TopicForm) (problems []string) {
	reg, err := s.region(`^#* *7\.2\.5\.2\. Message Format`, `Figure 7-15 Message format in MQTT`)
	if err != nil {
		return []string{err.Error()}
	}
	norm := strings.NewReplacer("Vehicle identifier ", "vehicle id", "Vehicle identifier", "vehicle id", "Application Name", "application", "Direction*", "direction", `Direction\*`, "direction")
	var seedForms []string
	var dirs []string
	for _, l := range reg {
		if _, f, ok := strings.Cut(l, "Topic= "); ok {
			seedForms = append(seedForms, norm.Replace(strings.TrimSpace(f)))
		}
		for _, m := range regexp.MustCompile(`\b(C2V|V2C) \(`).FindAllStringSubmatch(l, -1) {
			dirs = append(dirs, m[1])
		}
	}
	var data []string
	for _, f := range forms {
		if f.Clause == "7.2.5.2" && strings.HasPrefix(f.Form, "<vehicle id>") {
			data = append(data, f.Form)
			if f.ID == "publish" && !slices.Equal(f.Directions, dirs) {
				problems = append(problems, fmt.Sprintf("7.2.5.2 directions: data %v, seed %v", f.Directions, dirs))
			}
		}
	}
	if !slices.Equal(data, seedForms) {
		problems = append(problems, fmt.Sprintf("7.2.5.2 topic forms: data %v, seed %v", data, seedForms))
	}
	return problems
}

func TestSeedMQTTPayloadFormatAndTopics(t *testing.T) {
	s := loadSeed(t)
	report(t, checkPayloadFormats(s, MQTTPayloadFormats()))
	report(t, checkTopicForms(s, All().MQTTTopics.Forms))

	// The checkers catch a transcription error.
	pf := MQTTPayloadFormats()
	pf[1].Meaning = "UTF-16"
	if len(checkPayloadFormats(s, pf)) == 0 {
		t.Error("PFI check did not catch a changed meaning")
	}
	if len(checkPayloadFormats(s, MQTTPayloadFormats()[:1])) == 0 {
		t.Error("PFI check did not catch a missing value")
	}
	forms := All().MQTTTopics.Forms
	forms[1].Form = "<application>/<vehicle id>/<direction>"
	if len(checkTopicForms(s, forms)) == 0 {
		t.Error("topic check did not catch a swapped form")
	}
	forms = All().MQTTTopics.Forms
	forms[1].Directions = []string{"V2C", "C2V"}
	if len(checkTopicForms(s, forms)) == 0 {
		t.Error("topic check did not catch swapped directions")
	}
}
