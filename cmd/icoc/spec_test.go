package main

import (
	"bytes"
	"encoding/json"
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
