package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpecCommandJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if err := runSpec(nil, &out, &errb); err != nil {
		t.Fatalf("runSpec: %v (stderr %q)", err, errb.String())
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	for _, k := range []string{
		"http_status", "grpc_status", "mqtt_reason", "retry_rules", "tls_server_auth", "tls_client_auth",
		"cipher_suites", "key_exchange", "signatures", "tls_session", "media_types", "user_agent", "ports",
		"mqtt_topics", "mqtt_ack_timeouts", "data_format", "file_name", "interpretations",
	} {
		if _, ok := doc[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	type row = map[string]any
	list := func(raw json.RawMessage, name string, keys ...string) []row {
		t.Helper()
		var rows []row
		if err := json.Unmarshal(raw, &rows); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, r := range rows {
			for _, k := range keys {
				if _, ok := r[k]; !ok {
					t.Errorf("%s[%d]: key %q missing", name, i, k)
				}
			}
		}
		return rows
	}
	counts := map[string]int{}
	counts["http_status"] = len(list(doc["http_status"], "http_status", "code", "reason", "retry", "clause", "row"))
	counts["grpc_status"] = len(list(doc["grpc_status"], "grpc_status", "code", "name", "http", "retry", "clause", "row"))
	counts["retry_rules"] = len(list(doc["retry_rules"], "retry_rules", "id", "retries", "interval_s", "clause", "row"))
	tlsKeys := []string{"row", "retry", "retry_interval_s", "retry_count", "timeout_s", "discard", "clause"}
	srv := list(doc["tls_server_auth"], "tls_server_auth", tlsKeys...)
	cli := list(doc["tls_client_auth"], "tls_client_auth", tlsKeys...)
	counts["tls_server_auth"], counts["tls_client_auth"] = len(srv), len(cli)
	var letters strings.Builder
	for _, r := range srv {
		letters.WriteString(r["row"].(string))
	}
	if letters.String() != "ABCDEFGHIJKL" {
		t.Errorf("tls_server_auth rows = %s, want A..L", letters.String())
	}
	letters.Reset()
	for _, r := range cli {
		letters.WriteString(r["row"].(string))
	}
	if letters.String() != "ABCDEFGHIJKLM" {
		t.Errorf("tls_client_auth rows = %s, want A..M", letters.String())
	}
	var mq map[string]json.RawMessage
	if err := json.Unmarshal(doc["mqtt_reason"], &mq); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"connack", "puback", "suback", "unsuback"} {
		counts["mqtt_reason."+k] = len(list(mq[k], "mqtt_reason."+k, "code", "name", "retry", "clause"))
	}
	want := map[string]int{
		"http_status": 43, "grpc_status": 17, "retry_rules": 6, "tls_server_auth": 12, "tls_client_auth": 13,
		"mqtt_reason.connack": 23, "mqtt_reason.puback": 9, "mqtt_reason.suback": 12, "mqtt_reason.unsuback": 7,
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: %d rows, want %d", k, counts[k], n)
		}
	}
}

func TestSpecCommandRegister(t *testing.T) {
	var out, errb bytes.Buffer
	if err := runSpec([]string{"-register"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "## I-001:") {
		t.Errorf("register output lacks I-001")
	}
	if err := runSpec([]string{"extra"}, &out, &errb); err == nil {
		t.Errorf("unexpected argument accepted")
	}
}

// update rewrites the golden files: go test ./cmd/icoc/ -run TestSpecCommandVISS -update
var update = flag.Bool("update", false, "rewrite testdata/*.golden.* from the current output")

// `icoc spec -viss` prints the VISS dialects' tables (spec/viss) as the
// golden file has them: a change of the tables shows in review as a
// change of testdata/spec-viss.golden.json.
func TestSpecCommandVISS(t *testing.T) {
	var out, errb bytes.Buffer
	if err := runSpec([]string{"-viss"}, &out, &errb); err != nil {
		t.Fatalf("runSpec -viss: %v (stderr %q)", err, errb.String())
	}
	golden := filepath.Join("testdata", "spec-viss.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("icoc spec -viss differs from %s (rerun with -update after checking the change):\n%s", golden, firstDiff(string(want), out.String()))
	}
	var doc struct {
		Dialects []struct {
			Name     string `json:"name"`
			Revision string `json:"revision"`
			Messages []struct {
				Name string `json:"name"`
			} `json:"messages"`
			Errors []struct {
				Number int    `json:"number"`
				Reason string `json:"reason"`
			} `json:"errors"`
			Filters []struct {
				Variant string `json:"variant"`
			} `json:"filters"`
			Situations []json.RawMessage `json:"situations"`
		} `json:"dialects"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range doc.Dialects {
		names = append(names, d.Name+"/"+d.Revision)
		if len(d.Messages) == 0 || len(d.Errors) == 0 || len(d.Situations) == 0 {
			t.Errorf("%s %s: %d message tables, %d errors, %d situations", d.Name, d.Revision, len(d.Messages), len(d.Errors), len(d.Situations))
		}
		if d.Name == "v3" && len(d.Filters) == 0 {
			t.Errorf("v3 %s: no filter variants", d.Revision)
		}
	}
	if strings.Join(names, " ") != "v3/rc0 v3/published gen2/" {
		t.Errorf("dialects %v, want v3 rc0, v3 published, gen2", names)
	}
	if err := runSpec([]string{"-viss", "-exve"}, &out, &errb); err == nil {
		t.Error("-viss with -exve accepted")
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  golden: %s\n  now:    %s", i+1, x, y)
		}
	}
	return "(equal)"
}
