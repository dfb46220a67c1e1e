package visscases

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/icoc-dev/icoc/simulator/viss"
	"github.com/icoc-dev/icoc/spec/viss"
)

// TestClausesAreSections checks that every spec cites a clause its
// dialect's data lists (so the heading is checked against the document).
func TestClausesAreSections(t *testing.T) {
	for _, n := range vissspec.Dialects() {
		d := vissspec.MustLoad(n, vissspec.DefaultOptions())
		for _, sd := range specsOf(n) {
			c := sd.clause(n)
			if _, ok := d.Section(c.id); !ok {
				t.Errorf("%s: clause %s is not a section of %s (spec/viss/data/%s.yaml)", sd.name(n), c.id, n, n)
			}
		}
	}
}

// TestEveryQuirkIsUsed checks that every quirk and variant of the VISS
// servers is named by a case of some dialect.
func TestEveryQuirkIsUsed(t *testing.T) {
	used := map[string]bool{}
	for _, n := range vissspec.Dialects() {
		for _, c := range QuirkCases(n) {
			used[c.Quirk] = true
		}
		for _, c := range VariantCases(n) {
			used[c.Variant] = true
		}
	}
	for _, q := range viss.QuirkNames() {
		if !used[viss.QuirkPrefix+q] {
			t.Errorf("quirk or variant %s is named by no spec", q)
		}
	}
}

// sharedSpec finds shared/spec beside the repository or a parent.
func sharedSpec(t *testing.T) string {
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "shared", "spec")
		if _, err := os.Stat(filepath.Join(p, "001_eb098b219fe6fd9d.txt")); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared/spec not found beside the repository; quotes not checked")
		}
		dir = parent
	}
}

var space = regexp.MustCompile(`\s+`)

func normalize(s string) string {
	s = strings.NewReplacer("\u2018", "'", "\u2019", "'", "\u201c", `"`, "\u201d", `"`, "\u00a0", " ").Replace(s)
	return strings.TrimSpace(space.ReplaceAllString(s, " "))
}

// TestRulesAreQuoted checks that every spec's rule is quoted from its
// document: each part between "[...]" is in the text (whitespace folded).
func TestRulesAreQuoted(t *testing.T) {
	root := sharedSpec(t)
	for _, n := range vissspec.Dialects() {
		d := vissspec.MustLoad(n, vissspec.DefaultOptions())
		texts := map[string]string{}
		for k, doc := range d.Documents {
			b, err := os.ReadFile(filepath.Join(root, doc.File))
			if err != nil {
				t.Fatal(err)
			}
			texts[k] = normalize(string(b))
		}
		for _, sd := range specsOf(n) {
			c := sd.clause(n)
			doc := "core"
			if strings.HasPrefix(c.id, "T") {
				doc = "transport"
			}
			for _, part := range strings.Split(c.rule, "[...]") {
				if p := normalize(part); p != "" && !strings.Contains(texts[doc], p) {
					t.Errorf("%s: %q is not in the %s document", sd.name(n), p, doc)
				}
			}
		}
	}
}
