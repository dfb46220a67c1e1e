package asyncapi

import (
	"errors"
	"strings"
	"testing"
)

func TestEmbeddedDocumentsValidate(t *testing.T) {
	for _, n := range append(append([]string{}, Listings...), Reference) {
		if _, err := Load(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

// The listings as the seed prints them (7.2.5.9.1) do not even parse; the
// schema check refuses what breaks AsyncAPI 2.0.0.
func TestValidateRefuses(t *testing.T) {
	seedUpload := "asyncapi: 2.0.0\ninfo:\n title: api-doc-can-data\n version: 1.0.0\n  description: API Documentation for CAN data upload\nchannels: {}\n"
	if err := Validate([]byte(seedUpload)); err == nil {
		t.Error("the seed's damaged upload listing validated")
	}
	for name, doc := range map[string]string{
		"no channels":    "asyncapi: 2.0.0\ninfo: {title: t, version: '1'}\n",
		"version 1.2.0":  "asyncapi: 1.2.0\ninfo: {title: t, version: '1'}\nchannels: {}\n",
		"unknown field":  "asyncapi: 2.0.0\ninfo: {title: t, version: '1'}\nchannels: {}\nbogus: 1\n",
		"server w/o url": "asyncapi: 2.0.0\ninfo: {title: t, version: '1'}\nservers: {p: {protocol: mqtt}}\nchannels: {}\n",
	} {
		err := Validate([]byte(doc))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestMatch(t *testing.T) {
	ref, err := Load(Reference)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		topic string
		ok    bool
		tmpl  string
	}{
		{"JT1TESTVH00000001/can/V2C", true, "{vehicle_id}/{application}/V2C"},
		{"JT1TESTVH00000001/push/C2V", true, "{vehicle_id}/{application}/C2V"},
		{"JT1TESTVH0000000/can/V2C", false, ""}, // 16 characters
		{"JT1TESTVH00000001/can", false, ""},
		{"JT1TESTVH00000001/can/V2X", false, ""},
		{"/upload/JT1TESTVH00000001", false, ""},
	} {
		ch, p, why, ok := ref.Match(c.topic)
		if ok != c.ok || ok && ch.Template != c.tmpl {
			t.Errorf("%s: ok %v channel %q (%s), want %v %q", c.topic, ok, ch.Template, why, c.ok, c.tmpl)
		}
		if ok && p["vehicle_id"] != "JT1TESTVH00000001" {
			t.Errorf("%s: params %v", c.topic, p)
		}
		if !ok && why == "" {
			t.Errorf("%s: no reason given", c.topic)
		}
	}
	set, err := LoadSet(Listings...)
	if err != nil {
		t.Fatal(err)
	}
	if _, ch, p, _, ok := set.Match("/push/JT1TESTVH00000001/7/3"); !ok || ch.Template != "/push/{vehicle_id}/{app_id}/{sub_id}" || p["sub_id"] != "3" {
		t.Errorf("push channel: %v %v %v", ok, ch.Template, p)
	}
	if _, _, _, why, ok := set.Match("/push/JT1TESTVH00000001/x/3"); ok || !strings.Contains(why, "integer") {
		t.Errorf("a non-integer app_id matched (%s)", why)
	}
	if _, _, _, _, ok := set.Match("/push/JT1TESTVH00000001/9999999999/3"); ok {
		t.Error("an app_id outside int32 matched")
	}
}

func TestParseRefusesUndeclaredParameter(t *testing.T) {
	doc := "asyncapi: 2.0.0\ninfo: {title: t, version: '1'}\nchannels:\n  /a/{x}:\n    publish: {message: {payload: {type: string}}}\n"
	if _, err := Parse("t", []byte(doc)); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("got %v", err)
	}
}
