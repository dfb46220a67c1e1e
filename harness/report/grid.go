package report

import (
	"regexp"
	"strings"
)

// Grid is one behaviour table of the spec (a table whose rows the specs
// cite as "[clause T<n>-<m> row]": Table 7-8 of the HTTP status codes,
// Tables 7-4 and 7-5 of TLS, and any table that comes with a new protocol)
// as the matrix shows it: one line per table row, one column per variant
// the specs run the row in, each cell coloured by its specs' verdicts.
type Grid struct {
	// Table is the table's ID as the specs cite it, e.g. "T7-8".
	Table string
	// Title is e.g. "Table 7-8".
	Title string
	// Columns are the variants, in the order of first appearance.
	Columns []string
	// Rows are the table's rows in natural order.
	Rows []GridRow
}

// GridRow is one row of a table with a cell per column.
type GridRow struct {
	Row   string
	Cells []GridCell
}

// GridCell holds the matrix rows (indexes into Matrix.Rows) of one table
// row in one variant; Verdict is the worst of theirs (AllVerdicts order),
// "" for an empty cell.
type GridCell struct {
	Rows    []int
	Verdict Verdict
}

// tableItem is a spec ID's item that cites a table row: "T7-8 503".
var tableItem = regexp.MustCompile(`^(T\d+-\d+) (\S+)$`)

// protocolNames are the short names of the protocol labels, for columns.
var protocolNames = map[string]string{
	"protocol:tls": "TLS", "protocol:http1": "HTTP/1.1", "protocol:http2": "HTTP/2",
	"protocol:grpc": "gRPC", "protocol:mqtt": "MQTT", "protocol:can": "CAN",
	"protocol:exve": "ExVe", "protocol:viss": "VISS",
}

// gridColumn is the variant a spec runs its table row in. When the row's
// token (a status code, a reason code: two characters or more) appears in
// the spec's text, the words before it name the variant ("HTTP/1.1
// real-time upload answered"); otherwise the spec's protocols do ("TLS").
func gridColumn(r Row, row string) string {
	if len(row) >= 2 {
		re := regexp.MustCompile(`(^|[^\w])` + regexp.QuoteMeta(row) + `([^\w]|$)`)
		if loc := re.FindStringIndex(r.Text); loc != nil && loc[0] > 0 {
			if c := strings.TrimSpace(r.Text[:loc[0]+len(re.FindStringSubmatch(r.Text)[1])]); c != "" {
				return strings.TrimRight(c, ":,;")
			}
		}
	}
	var names []string
	for _, l := range r.Labels {
		if n, ok := protocolNames[l]; ok {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "—"
	}
	return strings.Join(names, " + ")
}

// Grids builds the behaviour tables from the matrix's identified spec rows,
// in natural order of table ID.
func (m Matrix) Grids() []Grid {
	type key struct{ row, col string }
	var order []string
	tables := map[string]*struct {
		cols  []string
		seen  map[string]bool
		rows  []string
		rseen map[string]bool
		cells map[key][]int
	}{}
	for i, r := range m.Rows {
		if r.SuiteLevel || r.ID == "" {
			continue
		}
		mm := tableItem.FindStringSubmatch(r.Case)
		if mm == nil {
			continue
		}
		t, row := mm[1], mm[2]
		tb := tables[t]
		if tb == nil {
			tb = &struct {
				cols  []string
				seen  map[string]bool
				rows  []string
				rseen map[string]bool
				cells map[key][]int
			}{seen: map[string]bool{}, rseen: map[string]bool{}, cells: map[key][]int{}}
			tables[t] = tb
			order = append(order, t)
		}
		col := gridColumn(r, row)
		if !tb.seen[col] {
			tb.seen[col] = true
			tb.cols = append(tb.cols, col)
		}
		if !tb.rseen[row] {
			tb.rseen[row] = true
			tb.rows = append(tb.rows, row)
		}
		tb.cells[key{row, col}] = append(tb.cells[key{row, col}], i)
	}
	sortNatural(order)
	var out []Grid
	for _, t := range order {
		tb := tables[t]
		sortNatural(tb.rows)
		g := Grid{Table: t, Title: "Table " + strings.TrimPrefix(t, "T"), Columns: trimCommonSuffix(tb.cols)}
		for _, row := range tb.rows {
			gr := GridRow{Row: row}
			for _, col := range tb.cols {
				c := GridCell{Rows: tb.cells[key{row, col}]}
				for _, ri := range c.Rows {
					c.Verdict = worse(c.Verdict, m.Rows[ri].Verdict)
				}
				gr.Cells = append(gr.Cells, c)
			}
			g.Rows = append(g.Rows, gr)
		}
		out = append(out, g)
	}
	return out
}

// trimCommonSuffix drops the trailing words that every column of two
// words or more shares ("upload answered"), keeping at least one word of
// each; one-word columns ("TLS", "—") stay as they are.
func trimCommonSuffix(cols []string) []string {
	var long [][]string
	var at []int
	shortest := 0
	for i, c := range cols {
		ws := strings.Fields(c)
		if len(ws) < 2 {
			continue
		}
		long, at = append(long, ws), append(at, i)
		if shortest == 0 || len(ws) < shortest {
			shortest = len(ws)
		}
	}
	if len(long) < 2 {
		return cols
	}
	n := 0
	for n < shortest-1 {
		w := long[0][len(long[0])-1-n]
		same := true
		for _, ws := range long[1:] {
			if ws[len(ws)-1-n] != w {
				same = false
			}
		}
		if !same {
			break
		}
		n++
	}
	out := append([]string(nil), cols...)
	for j, ws := range long {
		out[at[j]] = strings.Join(ws[:len(ws)-n], " ")
	}
	return out
}

// worse is the verdict of a and b that comes first in AllVerdicts ("" is
// better than any).
func worse(a, b Verdict) Verdict {
	if a == "" {
		return b
	}
	for _, v := range AllVerdicts {
		if v == a || v == b {
			return v
		}
	}
	return a
}

func sortNatural(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && CompareNatural(s[j-1], s[j]) > 0; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}
