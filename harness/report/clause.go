package report

import "strings"

// ParseID reads the bracket ID at the start of a spec text: for
// "[7.2.2.4 T7-8 503] HTTP/1.1 ... retried twice" it returns id
// "7.2.2.4 T7-8 503", clause "7.2.2.4" and item "T7-8 503".
//
// Invariants: ok is true iff text, after leading white space, starts with
// "[" and a "]" follows with at least one non-space character between them.
// id is the bracket's content with runs of white space collapsed to one
// space (so it equals NormalizeID of itself); clause is id's first
// space-separated field and item the rest (possibly empty), so
// id == clause or id == clause+" "+item. When ok is false all three are "".
func ParseID(text string) (id, clause, item string, ok bool) {
	t := strings.TrimLeft(text, " \t\r\n")
	if !strings.HasPrefix(t, "[") {
		return "", "", "", false
	}
	end := strings.IndexByte(t, ']')
	if end < 0 {
		return "", "", "", false
	}
	id = NormalizeID(t[1:end])
	if id == "" {
		return "", "", "", false
	}
	clause, item, _ = strings.Cut(id, " ")
	return id, clause, item, true
}

// NormalizeID returns id with leading and trailing white space removed and
// inner runs of white space collapsed to a single space. Waiver keys and
// spec IDs are compared after NormalizeID, so "7.2.2.4  T7-8 503" and
// "7.2.2.4 T7-8 503" name the same spec.
func NormalizeID(id string) string {
	return strings.Join(strings.Fields(id), " ")
}

// CompareNatural orders strings the way people number clauses: runs of
// ASCII digits compare by numeric value, everything else byte by byte, so
// "7.1.1.7" < "7.2.2.4" < "7.2.2.10" and "T7-4 A" < "T7-4 B" < "T7-10 A".
//
// It returns -1, 0 or +1. It is a total order consistent with equality:
// it returns 0 only when a == b (numbers that differ only in leading zeros,
// like "7" and "07", are ordered by the plain byte comparison as a last
// resort).
func CompareNatural(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na := strings.TrimLeft(a[si:i], "0")
			nb := strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return sign(len(na) - len(nb))
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		if ca != cb {
			return sign(int(ca) - int(cb))
		}
		i++
		j++
	}
	switch {
	case i < len(a):
		return 1
	case j < len(b):
		return -1
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
