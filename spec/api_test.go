package spec

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestConstantsMatchData(t *testing.T) {
	d := All()
	if d.HTTPTimeout.Timeout != HTTPResponseTimeout {
		t.Errorf("HTTPResponseTimeout %v, data %v", HTTPResponseTimeout, d.HTTPTimeout.Timeout)
	}
	if d.DataFormat.GzipThresholdBytes != GzipThreshold {
		t.Errorf("GzipThreshold %d, data %d", GzipThreshold, d.DataFormat.GzipThresholdBytes)
	}
	if d.TLSSession.SessionTimeout != TLSSessionTimeout {
		t.Errorf("TLSSessionTimeout %v, data %v", TLSSessionTimeout, d.TLSSession.SessionTimeout)
	}
	if d.GRPC.ContentType.Value != GRPCContentTypeValue {
		t.Errorf("GRPCContentTypeValue %s, data %s", GRPCContentTypeValue, d.GRPC.ContentType.Value)
	}
	if raw := base.Config.DataFormat.GzipThresholdBytes; raw != GzipThreshold {
		t.Errorf("config.yaml gzip threshold %d, const %d", raw, GzipThreshold)
	}
	if base.HTTP.ResponseTimeout.TimeoutS != HTTPResponseTimeout.Seconds() {
		t.Errorf("http.yaml timeout %g, const %v", base.HTTP.ResponseTimeout.TimeoutS, HTTPResponseTimeout)
	}
	if base.Config.FileName.RequestIDInvalidLength != DefaultOptions().RequestIDInvalidLength {
		t.Errorf("config.yaml request_id_invalid_length differs from DefaultOptions")
	}
	if base.Config.VehicleID.Length != DefaultOptions().VehicleIDLength {
		t.Errorf("config.yaml vehicle_id length differs from DefaultOptions")
	}
}

func TestLookups(t *testing.T) {
	s, ok := HTTPStatusFor(503)
	if !ok || !s.Retry || s.Row != "T7-8 503" || s.Clause != "7.2.2.4" {
		t.Errorf("503: %+v", s)
	}
	for _, c := range []int{400, 404, 408, 409} {
		if s, _ := HTTPStatusFor(c); s.Retry || !s.RollBack {
			t.Errorf("%d must roll back and not retry", c)
		}
	}
	if s, _ := HTTPStatusFor(567); s.Silence != SilenceUntilIGOn || s.Retry {
		t.Errorf("567: %+v", s)
	}
	if s, _ := HTTPStatusFor(568); s.Silence != SilenceFor || s.SilenceDuration != 10*time.Minute {
		t.Errorf("568: %+v", s)
	}
	if _, ok := HTTPStatusFor(429); ok || All().HTTPRetry(429) {
		t.Errorf("429 is not in Table 7-8 and is not retried (I-017)")
	}
	r, ok := RetryRuleFor("upload-non-realtime")
	if !ok || r.Retries != 2 || r.Interval != time.Minute {
		t.Errorf("upload-non-realtime: %+v", r)
	}
	if r, _ := RetryRuleFor("download"); r.Applicable {
		t.Errorf("download retry is N/A")
	}
	if g, ok := GRPCStatusFor(8); !ok || g.HTTP != 429 || g.Retry {
		t.Errorf("grpc 8: %+v", g)
	}
	if m, ok := MQTTReasonFor("connack", 0x97); !ok || !m.Retry || m.Name != "Quota exceeded" {
		t.Errorf("connack 0x97: %+v", m)
	}
	if _, ok := MQTTReasonFor("PUBREC", 0); ok {
		t.Errorf("PUBREC has no table")
	}
	if v, ok := All().MQTTAckTimeout("unsuback"); !ok || v != 30*time.Second {
		t.Errorf("UNSUBACK wait %v", v)
	}
	if sc, ok := All().TLSScenarioFor("T7-4", "I"); !ok || sc.RetryCountStated || sc.RetryCount != 1 {
		t.Errorf("T7-4 I: %+v", sc)
	}
	if sc, _ := All().TLSScenarioFor("T7-5", "H"); sc.RetryInterval() != 0 || sc.Timeout() != 5*time.Second {
		t.Errorf("T7-5 H: %+v", sc)
	}
	if _, ok := All().TLSScenarioFor("T7-6", "A"); ok {
		t.Errorf("T7-6 is not a scenario table")
	}
	d := All()
	if !d.CipherSuiteAllowed(0x1302) || !d.CipherSuiteAllowed(0x1303) || d.CipherSuiteAllowed(0x1301) {
		t.Errorf("cipher suites")
	}
	if !d.GroupAllowed("secp384r1") || d.GroupAllowed("x25519") || d.GroupAllowed("secp256r1") {
		t.Errorf("groups")
	}
	if p, _ := d.PortFor(ProtoGRPC); p != 9080 {
		t.Errorf("grpc port %d", p)
	}
	if !MustGzip(ProtoHTTP11, 2048) || MustGzip(ProtoHTTP11, 2047) || MustGzip(ProtoMQTT, 1<<20) {
		t.Errorf("MustGzip")
	}
}

func TestOptions(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(Options{}); err == nil {
		t.Errorf("zero Options resolved")
	}
	o := DefaultOptions()
	o.VehicleIDLength = 15
	o.ServerAuthRowIRetries = 3
	o.AllowChaCha20 = false
	o.HTTPRetry = map[int]bool{500: true, 429: true}
	o.GRPCRetry = map[int]bool{12: false}
	o.HTTP2Port = 8443
	o.MQTTUnsubackTimeoutS = 10
	o.MQTTTopicStyle = TopicStyleAsyncAPI
	o.GzipThresholdBytes = 2000
	o.HTTPResponseTimeoutS = 90
	o.OCSPStapling = false
	d, err := Resolve(o)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := d.HTTPStatusFor(500); !s.Retry || !s.RetryOverridden {
		t.Errorf("500 override: %+v", s)
	}
	if !d.HTTPRetry(429) {
		t.Errorf("429 override")
	}
	if g, _ := d.GRPCStatusFor(12); g.Retry || !g.RetryOverridden {
		t.Errorf("grpc 12 override: %+v", g)
	}
	if sc, _ := d.TLSScenarioFor("T7-4", "I"); sc.RetryCount != 3 {
		t.Errorf("row I X: %+v", sc)
	}
	if d.CipherSuiteAllowed(0x1303) {
		t.Errorf("chacha20 still allowed")
	}
	if p, _ := d.PortFor(ProtoHTTP2); p != 8443 {
		t.Errorf("http2 port %d", p)
	}
	if v, _ := d.MQTTAckTimeout("UNSUBACK"); v != 10*time.Second {
		t.Errorf("unsuback %v", v)
	}
	if v, _ := d.MQTTAckTimeout("CONNACK"); v != 30*time.Second {
		t.Errorf("stated waits must not change: %v", v)
	}
	if !d.MustGzip(ProtoGRPC, 2000) || d.HTTPResponseTimeout() != 90*time.Second {
		t.Errorf("gzip/timeout overrides")
	}
	if err := d.CheckVehicleID("ABCDEFGHJK12345"); err != nil {
		t.Errorf("15-char id: %v", err)
	}
	if topic, _ := d.UploadTopic("VIN", "can"); topic != "/upload/VIN" {
		t.Errorf("asyncapi upload topic %q", topic)
	}
	// the defaults are untouched
	if s, _ := HTTPStatusFor(500); s.Retry {
		t.Errorf("override leaked into the defaults")
	}
	for _, bad := range []func(o *Options){
		func(o *Options) { o.MQTTTopicStyle = "x" },
		func(o *Options) { o.Triggers = "n!" },
		func(o *Options) { o.GRPCRetry = map[int]bool{17: true} },
		func(o *Options) { o.TimeoutBackoffFactor = 0.5 },
		func(o *Options) { o.VehicleIDHeader = "a b" },
	} {
		o := DefaultOptions()
		bad(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("invalid options validated: %+v", o)
		}
	}
}

func TestCopiesAreIndependent(t *testing.T) {
	a := HTTPStatuses()
	a[0].Retry = true
	a[0].Interpretations = append(a[0].Interpretations[:0], "I-999")
	if HTTPStatuses()[0].Retry {
		t.Error("HTTPStatuses shares its rows")
	}
	d := All()
	d.TLSServerAuth[1].Interpretations = []string{"x"}
	d.CipherSuites[0].Interpretations[0] = "x"
	if All().CipherSuites[0].Interpretations[0] == "x" {
		t.Error("All shares nested slices")
	}
}

func TestMedia(t *testing.T) {
	for _, v := range []string{"application/json", "Application/JSON; charset=utf-8", "TEXT/plain", "application/x-protobuf", "application/octet-stream"} {
		if !IsMediaType(v) {
			t.Errorf("%q rejected", v)
		}
	}
	for _, v := range []string{"application/xml", "", "json", "application/json;;"} {
		if IsMediaType(v) {
			t.Errorf("%q accepted", v)
		}
	}
	if !IsGRPCContentType("Application/GRPC+Proto") || !IsGRPCContentType("application/grpc") || IsGRPCContentType("application/grpc+json") {
		t.Errorf("gRPC content type")
	}
}

func TestTopics(t *testing.T) {
	tp, err := MQTTPublishTopic("JTDKB20U093456789", "can", V2C)
	if err != nil || tp != "JTDKB20U093456789/can/V2C" {
		t.Fatalf("%q %v", tp, err)
	}
	v, a, dir, err := ParseMQTTPublishTopic(tp)
	if err != nil || v != "JTDKB20U093456789" || a != "can" || dir != V2C {
		t.Errorf("parse: %s %s %s %v", v, a, dir, err)
	}
	for _, bad := range [][3]string{{"", "a", "V2C"}, {"v/x", "a", "V2C"}, {"v", "a+", "V2C"}, {"v", "a", "X"}, {"v", "#", "C2V"}} {
		if _, err := MQTTPublishTopic(bad[0], bad[1], Direction(bad[2])); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, _, _, err := ParseMQTTPublishTopic("a/b"); err == nil {
		t.Error("two-level topic parsed")
	}
	if c, _ := AsyncAPIPushChannel("V", 7, -1); c != "/push/V/7/-1" {
		t.Errorf("push channel %q", c)
	}
	if c, _ := AsyncAPIDownloadChannel("V", "f.bin"); c != "/download/V/f.bin" {
		t.Errorf("download channel %q", c)
	}
	if c, _ := AsyncAPIDownloadRequestChannel("V"); c != "/downloadRequest/V" {
		t.Errorf("download request channel %q", c)
	}
	if c, _ := All().PushTopic("V", "rs", 1, 2); c != "V/rs/C2V" {
		t.Errorf("push topic %q", c)
	}
	if c, _ := PushAckTopic("reply/here", "V", "rs"); c != "reply/here" {
		t.Errorf("ack topic %q", c)
	}
	if c, _ := PushAckTopic("", "V", "rs"); c != "V/rs/V2C" {
		t.Errorf("default ack topic %q", c)
	}
}

func TestUserAgent(t *testing.T) {
	for _, ok := range []string{"DCM-24A/1.2.3 (sw 4.5)", "IMK123", "IMK/1 grpc-go/1.32.0-dev"} {
		if err := CheckUserAgent(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "(comment) X/1", "DCM/1 356938035643809", "DCM/1 123e4567-e89b-12d3-a456-426614174000", "DCM/1 tcon=5", "DCM/1 a@b"} {
		if err := CheckUserAgent(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, h := range []string{"X-D-Authenticate", "x-y-authentication"} {
		if !IsProprietaryAuthHeader(h) {
			t.Errorf("%s not flagged", h)
		}
	}
	if IsProprietaryAuthHeader("Authorization") || IsProprietaryAuthHeader("vehicle_id") {
		t.Error("standard header flagged")
	}
	if err := All().CheckVehicleID("JTDKB20U093456789"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"JTDKB20U09345678", "JTDKB20U09345678O", "jtdkb20u093456789"} {
		if All().CheckVehicleID(bad) == nil {
			t.Errorf("vehicle id %q accepted", bad)
		}
	}
}

func TestRetransmissionInterval(t *testing.T) {
	for _, tc := range []struct {
		base time.Duration
		n    int
		want time.Duration
	}{
		{3 * time.Second, 0, 3 * time.Second},
		{3 * time.Second, 1, 6 * time.Second},
		{3 * time.Second, 3, 24 * time.Second},
		{time.Minute, 4, 10 * time.Minute},
		{time.Minute, 1000, 10 * time.Minute},
		{15 * time.Minute, 2, 15 * time.Minute},
	} {
		if got := RetransmissionInterval(tc.base, tc.n); got != tc.want {
			t.Errorf("(%v, %d) = %v, want %v", tc.base, tc.n, got, tc.want)
		}
	}
}

// TestRegister checks the shape of every register entry and that the IDs
// are unique and increasing (each helper of a task gets its own range, so
// the sequence has gaps).
func TestRegister(t *testing.T) {
	text := Register()
	entries := Interpretations()
	if len(entries) < 40 {
		t.Fatalf("register has %d entries", len(entries))
	}
	idRe := regexp.MustCompile(`^I-\d{3}$`)
	prev := ""
	for i, e := range entries {
		if !idRe.MatchString(e.ID) || e.ID <= prev {
			t.Errorf("entry %d has ID %s after %s (IDs increase)", i+1, e.ID, prev)
		}
		prev = e.ID
		if e.Title == "" || e.Configurable == "" {
			t.Errorf("%s: title %q configurable %q", e.ID, e.Title, e.Configurable)
		}
		sec := text[strings.Index(text, "## "+e.ID+":"):]
		if j := strings.Index(sec[3:], "\n## "); j >= 0 {
			sec = sec[:j+3]
		}
		for _, part := range []string{"**Seed:**", "**Reading:**", "**Configurable:**"} {
			if !strings.Contains(sec, part) {
				t.Errorf("%s lacks %s", e.ID, part)
			}
		}
		if !regexp.MustCompile(`\d+\.\d|Table|Appendix|A[12] |change history|Change history`).MatchString(sec) {
			t.Errorf("%s quotes no clause", e.ID)
		}
		if c := e.Configurable; c != "no." && !strings.HasPrefix(c, "no ") && !strings.Contains(c, "Options.") {
			t.Errorf("%s: Configurable must be \"no.\" or name an Options field: %q", e.ID, c)
		}
	}
	// every Options field is named by some entry
	for _, f := range []string{"VehicleIDLength", "VehicleIDHeader", "SessionCookieName", "MQTTTopicStyle", "ServerAuthRowIRetries",
		"AllowChaCha20", "OCSPStapling", "HTTPRetry", "GRPCRetry", "HTTP2Port", "HTTPResponseTimeoutS", "MQTTUnsubackTimeoutS",
		"TimeoutBackoffFactor", "TimeoutBackoffCapS", "GzipThresholdBytes", "RequestIDInvalidLength", "Triggers", "MQTTSessionRetryRule"} {
		if !strings.Contains(text, "Options."+f+"`") {
			t.Errorf("Options.%s is named by no register entry", f)
		}
	}
}

func TestJSONShape(t *testing.T) {
	b, err := json.Marshal(All())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"http_status", "grpc_status", "mqtt_reason", "retry_rules", "tls_server_auth", "tls_client_auth",
		"cipher_suites", "key_exchange", "signatures", "tls_session", "media_types", "user_agent", "ports", "mqtt_topics",
		"mqtt_ack_timeouts", "data_format", "file_name"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %s", k)
		}
	}
}

// TestExportedDocs: every exported declaration of the package has a doc comment.
func TestExportedDocs(t *testing.T) {
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range af.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Name.IsExported() && d.Doc == nil && d.Name.Name != "Error" {
					t.Errorf("%s: func %s has no doc comment", fset.Position(d.Pos()), d.Name.Name)
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch s := sp.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() && d.Doc == nil && s.Doc == nil {
							t.Errorf("%s: type %s has no doc comment", fset.Position(s.Pos()), s.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() && d.Doc == nil && s.Doc == nil && s.Comment == nil {
								t.Errorf("%s: %s has no doc comment", fset.Position(n.Pos()), n.Name)
							}
						}
					}
				}
			}
		}
	}
}
