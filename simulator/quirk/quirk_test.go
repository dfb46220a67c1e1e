package quirk

import (
	"strings"
	"testing"
)

func registry() *Registry {
	r := NewRegistry("test")
	r.Register(Info{Name: "flag", Clause: "1"})
	r.Register(Info{Name: "count", Clause: "2", Arg: "int"})
	r.Register(Info{Name: "factor", Clause: "3", Arg: "float"})
	r.Register(Info{Name: "text", Clause: "4", Arg: "string"})
	return r
}

func TestParse(t *testing.T) {
	r := registry()
	q, err := r.Parse([]string{"flag", "count=3", "count=4", "factor=0.5", "text=a=b"})
	if err != nil {
		t.Fatal(err)
	}
	if !q.Has("flag") || !q.HasValue("count", "3") || q.Int("count", 0) != 4 || q.Float("factor", 1) != 0.5 || q.String("text") != "a=b" {
		t.Errorf("parsed %+v", q)
	}
	if q.Names() != "flag,count=3,count=4,factor=0.5,text=a=b" {
		t.Errorf("Names() = %q", q.Names())
	}
	var zero Set
	if zero.Has("flag") || zero.Int("count", 7) != 7 || zero.Names() != "none" {
		t.Error("zero Set is not empty")
	}
	for _, bad := range []string{"nope", "flag=1", "count", "count=-1", "factor=0", "factor=x"} {
		if _, err := r.Parse([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := r.Parse([]string{"nope"}); !strings.Contains(err.Error(), "count, factor, flag, text") {
		t.Errorf("error does not list the known quirks: %v", err)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	r := registry()
	r.Register(Info{Name: "flag"})
}
