package harness

import (
	"slices"
	"testing"
)

// chunk keeps every spec once, in order, in parts of at most n.
func TestChunk(t *testing.T) {
	in := []string{"a", "b", "c", "d", "e"}
	got := chunk(in, 2)
	if len(got) != 3 || !slices.Equal(got[0], []string{"a", "b"}) || !slices.Equal(got[2], []string{"e"}) {
		t.Errorf("chunk(5 specs, 2) = %q", got)
	}
	if got := chunk(in, 16); len(got) != 1 || !slices.Equal(got[0], in) {
		t.Errorf("chunk(5 specs, 16) = %q", got)
	}
	if got := chunk(nil, 16); len(got) != 0 {
		t.Errorf("chunk(nil) = %q", got)
	}
}
