package vissspec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSchemaRepairedNotRewritten checks that schema/v3.0.schema.json is the
// companion schema with exactly the repairs of I-284.
func TestSchemaRepairedNotRewritten(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(sharedSpec(t), "companion", "viss-v3.0-schema.json"))
	if os.IsNotExist(err) {
		t.Skip("companion schema not found beside the repository")
	}
	if err != nil {
		t.Fatal(err)
	}
	var orig, ours map[string]any
	if err := json.Unmarshal(b, &orig); err != nil {
		t.Fatal(err)
	}
	mine, _ := SchemaFile(V3)
	if err := json.Unmarshal(mine, &ours); err != nil {
		t.Fatal(err)
	}
	defs := ours["$defs"].(map[string]any)
	for _, k := range []string{"set-message", "unsubscribe-message"} {
		br := defs[v3Defs+k+".schema.json"].(map[string]any)["oneOf"].([]any)[1].(map[string]any)
		if !reflect.DeepEqual(br["not"], map[string]any{"required": []any{"error"}}) {
			t.Errorf("%s: the ts-only branch does not forbid error: %v", k, br["not"])
		}
		delete(br, "not")
	}
	get := defs[v3Defs+"get-message.schema.json"].(map[string]any)["oneOf"].([]any)[0].(map[string]any)["properties"].(map[string]any)
	f := get["filter"].(map[string]any)["oneOf"].([]any)
	get["filter"] = f[0]
	if !reflect.DeepEqual(orig, ours) {
		t.Error("schema/v3.0.schema.json differs from the companion beyond the repairs of I-284")
	}
}

func validate(t *testing.T, d Dialect, msg string) error {
	t.Helper()
	return d.MustSchema().Validate([]byte(msg))
}

// TestSchemasAcceptTheTransportExamples validates messages written after
// the transports' examples (their ellipses and stray commas removed) and
// rejects broken ones.
func TestSchemasAcceptTheTransportExamples(t *testing.T) {
	rc0 := MustLoad(V3, DefaultOptions())
	pubOpts := DefaultOptions()
	pubOpts.Revision = RevisionPublished
	pub := MustLoad(V3, pubOpts)
	gen2 := MustLoad(Gen2, DefaultOptions())
	good := []struct {
		d   []Dialect
		msg string
	}{
		{[]Dialect{rc0, pub}, `{"action":"get","path":"Vehicle.Powertrain.CombustionEngine.RPM","requestId":"8756"}`},
		{[]Dialect{rc0, pub}, `{"action":"get","requestId":"8756","data":{"path":"Vehicle.Powertrain.CombustionEngine.RPM","dp":{"value":"2372","ts":"2020-04-15T13:37:00Z"}},"ts":"2020-04-15T13:37:05Z"}`},
		{[]Dialect{rc0, pub}, `{"action":"get","requestId":"8756","error":{"number":"404","reason":"unavailable_data","description":"The requested data was not found."},"ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0, pub}, `{"action":"get","path":"Vehicle.Cabin","filter":{"variant":"paths","parameter":["Door.*.*.IsOpen","DriverPosition"]},"requestId":"5688"}`},
		{[]Dialect{rc0, pub}, `{"action":"get","path":"Vehicle.Cabin","filter":[{"variant":"paths","parameter":["Door.*.*.IsOpen"]},{"variant":"history","parameter":"P2DT12H"}],"requestId":"5688"}`},
		{[]Dialect{rc0, pub}, `{"action":"get","requestId":"5688","data":{"path":"Vehicle.Acceleration.Longitudinal","dp":[{"value":"0.123","ts":"2020-04-15T13:00:00Z"},{"value":"0.125","ts":"2020-04-15T13:37:02Z"}]},"ts":"2020-04-15T13:37:02Z"}`},
		{[]Dialect{rc0, pub}, `{"action":"get","requestId":"5687","metadata":{"FuelSystem":{"type":"branch"}},"ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0, pub}, `{"action":"set","path":"Vehicle.Powertrain.Transmission.PerformanceMode","value":"sport","requestId":"5687"}`},
		{[]Dialect{rc0, pub}, `{"action":"set","requestId":"5687","ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0, pub}, `{"action":"set","requestId":"5687","error":{"number":"404","reason":"unavailable_data","description":"The requested data was not found."},"ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0, pub}, `{"action":"subscribe","path":"Vehicle.Powertrain.FuelSystem.Level","filter":{"variant":"timebased","parameter":{"period":"500"}},"requestId":"6578"}`},
		{[]Dialect{rc0, pub}, `{"action":"subscribe","subscriptionId":"12345","requestId":"6578","ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0, pub}, `{"action":"subscription","subscriptionId":"12345","data":{"path":"Vehicle.Powertrain.FuelSystem.Level","dp":{"value":"50","ts":"2020-04-15T13:37:00Z"}},"ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0, pub}, `{"action":"subscribe","path":"Vehicle.Powertrain.FuelSystem.Level","filter":{"variant":"curvelog","parameter":{"maxerr":"0.5","bufsize":"100"}},"requestId":"6578"}`},
		{[]Dialect{rc0, pub}, `{"action":"subscribe","path":"Vehicle.Powertrain.FuelSystem.Level","filter":{"variant":"change","parameter":{"logic-op":"gt","diff":"10"}},"requestId":"6578"}`},
		{[]Dialect{pub}, `{"action":"subscribe","path":"Vehicle.Powertrain.FuelSystem.Level","filter":{"variant":"range","parameter":[{"logic-op":"lt","boundary":"50","combination-op":"OR"},{"logic-op":"gt","boundary":"55"}]},"requestId":"6578"}`},
		{[]Dialect{rc0}, `{"action":"subscribe","path":"Vehicle.Powertrain.FuelSystem.Level","filter":{"variant":"range","parameter":[{"boundary-op":"lt","boundary":"5","combination-op":"OR"},{"boundary-op":"gt","boundary":"10"}]},"requestId":"6578"}`},
		{[]Dialect{rc0}, `{"action":"subscribe","path":"Vehicle.Speed","filter":{"variant":"range","parameter":{"boundary-op":"gt","boundary":"5"}},"requestId":"6578"}`},
		{[]Dialect{rc0, pub}, `{"action":"unsubscribe","subscriptionId":"12345","requestId":"5786"}`},
		{[]Dialect{rc0, pub}, `{"action":"unsubscribe","requestId":"5786","ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0, pub}, `{"action":"unsubscribe","requestId":"6578","error":{"number":"400","reason":"invalid_data","description":"Data present in the request is invalid."},"ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0}, `{"action":"get","requestId":"1","error":{"number":"406","reason":"insufficient_priviledges","description":"The priviledges represented by the access token are not sufficient."},"ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0}, `{"action":"get","requestId":"1","error":{"number":"401","reason":"missing_token","description":"Access token is missing"},"ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{gen2}, `{"action":"get","path":"Vehicle/Drivetrain/InternalCombustionEngine/RPM","requestId":"8756"}`},
		{[]Dialect{gen2}, `{"action":"get","requestId":"8756","value":"2372","timestamp":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{gen2}, `{"action":"get","requestId":"8756","error":{"number":404,"reason":"Not found","message":"No match for path in tree."},"timestamp":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{gen2}, `{"action":"get","requestId":"5687","metadata":{"FuelSystem":{"type":"branch"}},"timestamp":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{gen2}, `{"action":"get","value":[{"path":"Vehicle.Cabin.Door.Row1.Left.IsOpen","value":"false"},{"path":"Vehicle.Cabin.Door.Row4.Right.IsOpen","value":"true"}],"requestId":"5688","timestamp":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{gen2}, `{"action":"set","path":"Vehicle/Drivetrain/Transmission/PerformanceMode","value":"sport","requestId":"5687"}`},
		{[]Dialect{gen2}, `{"action":"set","requestId":"5687","timestamp":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{gen2}, `{"action":"subscribe","path":"Vehicle/Drivetrain/FuelSystem/Level","filter":"$intervalEQ2","requestId":"6578"}`},
		{[]Dialect{gen2}, `{"action":"subscribe","subscriptionId":"12345","requestId":"6578","timestamp":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{gen2}, `{"action":"subscription","subscriptionId":"12345","value":"50","timestamp":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{gen2}, `{"action":"subscription","subscriptionId":"12345","error":{"number":401,"reason":"token_expired","message":"Access token has expired."},"timestamp":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{gen2}, `{"action":"unsubscribe","subscriptionId":"12345","requestId":"5786"}`},
		{[]Dialect{gen2}, `{"action":"unsubscribe","subscriptionId":"12345","requestId":"5786","timestamp":"2020-04-15T13:37:00Z"}`},
	}
	for _, g := range good {
		for _, d := range g.d {
			if err := validate(t, d, g.msg); err != nil {
				t.Errorf("%s/%s rejects %s:\n%v", d.Name, d.Revision, g.msg, err)
			}
		}
	}
	bad := []struct {
		d   []Dialect
		msg string
	}{
		// v3 errors carry the number as a string (I-262) and every field.
		{[]Dialect{rc0, pub}, `{"action":"get","requestId":"1","error":{"number":404,"reason":"unavailable_data","description":"x"},"ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0, pub}, `{"action":"get","requestId":"1","error":{"number":"404","reason":"unavailable_data"},"ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0, pub}, `{"action":"get","requestId":"1","error":{"number":"404","reason":"invalid_path","description":"x"},"ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{pub}, `{"action":"get","requestId":"1","error":{"number":"406","reason":"invalid_token","description":"x"},"ts":"2020-04-15T13:37:00Z"}`},
		// values are strings (002 4).
		{[]Dialect{rc0, pub}, `{"action":"subscription","subscriptionId":"1","data":{"path":"Vehicle.Speed","dp":{"value":50,"ts":"2020-04-15T13:37:00Z"}},"ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0, pub}, `{"action":"get","requestId":"1","data":{"path":"Vehicle.Speed","dp":{"value":"5"}},"ts":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{rc0}, `{"action":"subscribe","path":"Vehicle.Speed","filter":{"variant":"range","parameter":{"logic-op":"gt","boundary":"5"}},"requestId":"1"}`},
		{[]Dialect{pub}, `{"action":"subscribe","path":"Vehicle.Speed","filter":{"variant":"range","parameter":{"boundary-op":"gt","boundary":"5"}},"requestId":"1"}`},
		{[]Dialect{rc0, pub}, `{"action":"subscribe","path":"Vehicle.Speed","requestId":"1"}`},
		{[]Dialect{rc0, pub, gen2}, `{"action":"fetch","path":"Vehicle.Speed","requestId":"1"}`},
		{[]Dialect{gen2}, `{"action":"get","requestId":"1","error":{"number":"404","reason":"invalid_path","message":"x"},"timestamp":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{gen2}, `{"action":"get","requestId":"1","error":{"number":404,"reason":"invalid_path"},"timestamp":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{gen2}, `{"action":"get","requestId":"1","value":50,"timestamp":"2020-04-15T13:37:00Z"}`},
		{[]Dialect{gen2}, `{"action":"get","requestId":"1","value":"50"}`},
		{[]Dialect{gen2}, `{"action":"subscription","subscriptionId":"1","value":"50"}`},
		{[]Dialect{gen2}, `{"action":"unsubscribe","requestId":"1","timestamp":"2020-04-15T13:37:00Z"}`},
	}
	for _, b := range bad {
		for _, d := range b.d {
			if err := validate(t, d, b.msg); err == nil {
				t.Errorf("%s/%s accepts %s", d.Name, d.Revision, b.msg)
			}
		}
	}
}

// TestSchemasMatchTheMessageTables builds, for each message table, a
// message with exactly its required attributes and checks that the schema
// accepts it; for Gen2 (whose schema is transcribed from the tables) it
// also checks that leaving out any required attribute is refused.
func TestSchemasMatchTheMessageTables(t *testing.T) {
	values := map[string]any{
		"action": "", "path": "Vehicle.Speed", "requestId": "1", "subscriptionId": "7", "ts": "2020-04-15T13:37:00Z",
		"timestamp": "2020-04-15T13:37:00Z", "value": "1", "filter": map[string]any{"variant": "timebased", "parameter": map[string]any{"period": "100"}},
		"data": map[string]any{"path": "Vehicle.Speed", "dp": map[string]any{"value": "1", "ts": "2020-04-15T13:37:00Z"}},
	}
	actions := map[string]string{"get": "get", "set": "set", "subscribe": "subscribe", "subscription": "subscription", "unsubscribe": "unsubscribe"}
	for _, n := range Dialects() {
		d := MustLoad(n, DefaultOptions())
		errObj := map[string]any{"number": "404", "reason": "unavailable_data", "description": "x"}
		if n == Gen2 {
			errObj = map[string]any{"number": 404, "reason": "invalid_path", "message": "x"}
			values["filter"] = "$intervalEQ100"
			values["data"] = nil
		}
		for _, m := range d.Messages {
			act := ""
			for a := range actions {
				if strings.HasPrefix(m.Name, a) && len(a) > len(act) {
					act = a
				}
			}
			build := func(skip string) []byte {
				msg := map[string]any{}
				for _, f := range m.Fields {
					if !f.Required || f.Name == skip {
						continue
					}
					switch f.Name {
					case "action":
						msg["action"] = act
					case "error":
						msg["error"] = errObj
					default:
						msg[f.Name] = values[f.Name]
					}
				}
				b, _ := json.Marshal(msg)
				return b
			}
			if err := d.MustSchema().Validate(build("")); err != nil {
				t.Errorf("%s %s: the schema refuses a message with the table's required attributes %s:\n%v", n, m.Name, build(""), err)
			}
			if n != Gen2 {
				continue
			}
			for _, f := range m.Fields {
				if f.Required && !isOtherMessage(d, m, f.Name) {
					if err := d.MustSchema().Validate(build(f.Name)); err == nil {
						t.Errorf("gen2 %s: the schema accepts it without the required %s: %s", m.Name, f.Name, build(f.Name))
					}
				}
			}
		}
	}
}

func TestTimestamps(t *testing.T) {
	d := MustLoad(V3, DefaultOptions())
	for _, ok := range []string{"2020-04-15T13:37:00Z", "2020-04-15T13:37:00.1Z", "2025-02-04T15:48:43.739Z", "2020-04-15T13:37:00.123456Z"} {
		if err := d.CheckTimestamp(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"2020-04-15T13:37:00", "2020-04-15T13:37:00+00:00", "2020-04-15T13:37Z", "2020-04-15T13:37:00.1234567Z", "2020-13-15T13:37:00Z", "2020-04-15 13:37:00Z"} {
		if err := d.CheckTimestamp(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if err := d.CheckTimestamp(FormatTimestamp(d.dummyTime())); err != nil {
		t.Error(err)
	}
}

// isOtherMessage reports whether m without attribute skip has exactly the
// required attributes of another message of the same action (an error
// response without its error is a success response).
func isOtherMessage(d Dialect, m Message, skip string) bool {
	req := func(m Message, skip string) map[string]bool {
		out := map[string]bool{}
		for _, f := range m.Fields {
			if f.Required && f.Name != skip {
				out[f.Name] = true
			}
		}
		return out
	}
	left := req(m, skip)
	for _, o := range d.Messages {
		if o.Name != m.Name && reflect.DeepEqual(req(o, ""), left) {
			return true
		}
	}
	return false
}

// The data compression schemes of 002 C are checked when a dialect loads:
// each is a feature name of B, in the path or ts part, on a bit of its own.
func TestDataCompressionSchemes(t *testing.T) {
	d := MustLoad(V3, DefaultOptions())
	if len(d.DataCompression) != 3 {
		t.Fatalf("v3 data compression schemes: %+v", d.DataCompression)
	}
	for _, bad := range []DCScheme{{"pathuid", "path", 2}, {"gzip", "path", 4}, {"pathuid", "value", 4}, {"pathuid", "ts", 3}} {
		m := d
		m.DataCompression = append(append([]DCScheme(nil), d.DataCompression...), bad)
		if err := m.check(); err == nil {
			t.Errorf("scheme %+v accepted", bad)
		}
	}
}
