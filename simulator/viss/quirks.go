package viss

import "github.com/icoc-dev/icoc/simulator/quirk"

// quirks holds every quirk and variant of the VISS servers. The reference
// vehicle passes the ones its own list names with the prefix QuirkPrefix.
var quirks = quirk.NewRegistry("viss")

// QuirkPrefix is how the reference vehicle's quirk list names a VISS quirk
// ("viss.events-after-unsubscribe").
const QuirkPrefix = "viss."

// KnownQuirks returns every quirk and variant, by name (without prefix).
func KnownQuirks() map[string]quirk.Info { return quirks.Known() }

// QuirkNames returns the names, sorted (without prefix).
func QuirkNames() []string { return quirks.Names() }

// ParseQuirks parses quirk names (without prefix).
func ParseQuirks(list []string) (quirk.Set, error) { return quirks.Parse(list) }

// IsVariant reports whether name (without prefix) is a variant.
func IsVariant(name string) bool { return quirks.IsVariant(name) }

func init() {
	for _, q := range []quirk.Info{
		// Transport.
		{Name: "plain-ws-accepted", Clause: "Gen2 T5.2.1.1, v3 T4.1.1.1", Breaks: "accepts a plain-text ws:// WebSocket on the wss port"},
		{Name: "subprotocol-ignored", Clause: "Gen2 T5.2.1.1, v3 T4.1.1.1", Breaks: "never selects the dialect's subprotocol in the WebSocket handshake"},
		{Name: "tls-1.1", Clause: "v3 6.1", Breaks: "accepts TLS 1.0 and 1.1"},
		// Messages.
		{Name: "requestid-not-echoed", Clause: "Gen2 T5.2, v3 T4.1", Breaks: "answers with a requestId other than the request's"},
		{Name: "ts-no-z", Clause: "Gen2 11, v3 5.3", Breaks: "writes timestamps with +00:00 instead of Z"},
		{Name: "error-number-wrong-type", Clause: "Gen2 T6.4, v3 T5.3", Breaks: "writes the error number as a string in Gen2 and as an integer in v3"},
		{Name: "value-not-string", Clause: "Gen2 12, v3 4", Breaks: "writes numeric values as JSON numbers"},
		{Name: "foreign-error-vocabulary", Clause: "Gen2 T4.1, v3 T3.1", Breaks: "answers with the other dialect's error reasons (invalid_path, read_only / unavailable_data, invalid_data)"},
		// Values.
		{Name: "stale-value", Clause: "Gen2 9.1.1, v3 5.1.1", Breaks: "answers a get with the value captured before the latest one"},
		{Name: "wrong-scale", Clause: "Gen2 9.1.1, v3 5.1.1", Breaks: "serves numeric values ten times too large (the DBC factor applied wrongly)"},
		{Name: "ts-not-capture", Clause: "Gen2 9.1.1, v3 5.1.1", Breaks: "stamps a data point with the time of the request instead of the capture time"},
		{Name: "get-returns-target", Clause: "v3 5.1.1", Breaks: "answers a get of an actuator with the target last set instead of the current value"},
		// Set.
		{Name: "set-on-sensor-ok", Clause: "Gen2 T4.1, v3 5.1.2", Breaks: "accepts a set on a sensor"},
		{Name: "set-no-type-check", Clause: "v3 T3.1.2, Gen2 T4.1", Breaks: "accepts a set with a value of the wrong datatype"},
		{Name: "set-refused", Clause: "Gen2 9.1.2, v3 5.1.2", Breaks: "refuses a set on an actuator"},
		// Paths.
		{Name: "wildcard-path-accepted", Clause: "v3 3.2", Breaks: "takes * in a path as a wildcard"},
		{Name: "slash-path-refused", Clause: "Gen2 4, v3 3.2", Breaks: "does not know paths written with /"},
		{Name: "multi-invalid-partial", Clause: "v3 8.1", Breaks: "answers a request naming valid and invalid nodes with the valid nodes' data"},
		{Name: "paths-filter-ignored", Clause: "v3 7.1, Gen2 7.1.2", Breaks: "ignores the paths filter (v3) or search filter (Gen2) and answers the request's path"},
		{Name: "data-filter-ignored", Clause: "Gen2 7.1.3", Breaks: "ignores the $data filter"},
		{Name: "metadata-ignores-selection", Clause: "v3 7.7, Gen2 7.1.1", Breaks: "returns the whole subtree's metadata whatever the parameter or depth"},
		{Name: "unavailable-as-zero", Clause: "v3 T3.1.1, T3.1.2", Breaks: "serves \"0\" for a numeric sensor it has no value for"},
		{Name: "http-status-200", Clause: "Gen2 T5.1.2.1, v3 T4.2.2.1", Breaks: "answers every HTTPS request with status 200, errors too"},
		{Name: "unknown-path-empty", Clause: "Gen2 T4.1, v3 T3.1.2", Breaks: "answers a get of an unknown path with an empty success"},
		// Subscriptions.
		{Name: "subscribe-without-filter-ok", Clause: "v3 9", Breaks: "accepts a subscription without a filter"},
		{Name: "interval-drift", Clause: "Gen2 7.2.1, v3 7.3", Breaks: "issues timebased events every 1.5 periods"},
		{Name: "events-after-unsubscribe", Clause: "Gen2 9.1.4, v3 5.1.4", Breaks: "keeps issuing events after a successful unsubscribe"},
		{Name: "unsubscribe-unknown-ok", Clause: "Gen2 T4.1, v3 T3.1.2", Breaks: "answers an unsubscribe of an unknown subscriptionId with success"},
		{Name: "unsubscribe-no-id", Clause: "Gen2 T5.2.2.9", Breaks: "leaves the subscriptionId out of the unsubscribe response"},
		{Name: "change-ignores-diff", Clause: "Gen2 7.2.3, v3 7.5", Breaks: "notifies every change whatever the diff"},
		{Name: "change-wrong-baseline", Clause: "Gen2 7.2.3, v3 7.5", Breaks: "measures change from the previous capture in Gen2 and from the last event in v3"},
		{Name: "bool-change-any", Clause: "v3 7.5", Breaks: "takes a boolean change with gt or lt as any change"},
		{Name: "range-wrong-semantics", Clause: "Gen2 7.2.2, v3 7.4", Breaks: "notifies every capture inside the range in Gen2 and only the crossings in v3"},
		{Name: "range-or-as-and", Clause: "v3 7.4.2", Breaks: "combines two boundaries with AND even when combination-op is OR"},
		{Name: "curvelog-endpoints-dropped", Clause: "v3 7.6", Breaks: "leaves the first and the last capture of the buffer out of a curvelog event"},
		{Name: "trigger-any-path", Clause: "v3 9", Breaks: "evaluates a change trigger on every path of the subscription, not the first"},
		{Name: "filter-lenient", Clause: "Gen2 7, v3 7", Breaks: "accepts invalid filters, taking defaults for what it cannot read"},
		{Name: "history-ignores-period", Clause: "v3 7.2", Breaks: "answers a history read with every recorded capture, whatever the period"},
		// Access control.
		{Name: "no-access-control", Clause: "Gen2 8.4.4, v3 10.4.4", Breaks: "serves access-controlled nodes without a token"},
		{Name: "ignore-exp", Clause: "Gen2 8.4.4, v3 10.4.4", Breaks: "accepts an expired access token"},
		{Name: "ignore-signature", Clause: "Gen2 8.4.4, v3 10.4.4", Breaks: "accepts an access token whose signature does not verify"},
		{Name: "ignore-scope", Clause: "Gen2 8.4.4, v3 10.4.4", Breaks: "accepts an access token whose purpose does not cover the path"},
		{Name: "ignore-vin-claim", Clause: "v3 10.4.4", Breaks: "accepts an access token whose vin claim names another vehicle"},
		{Name: "ignore-access-mode", Clause: "Gen2 8.4.4, v3 10.4.4", Breaks: "accepts a set with a read-only grant"},
		{Name: "valid-token-refused", Clause: "Gen2 8.4.4, v3 10.4.4", Breaks: "refuses a valid access token for its purpose"},
		{Name: "write-only-as-read-write", Clause: "Gen2 8.8, v3 10.8", Breaks: "asks for a token to read a node tagged write-only"},
		{Name: "server-tree-protected", Clause: "v3 10", Breaks: "asks for a token for the Server tree"},
		{Name: "inline-error-under-token", Clause: "v3 T3.1.1", Breaks: "reports unavailable signals in line even when access control applies"},
		// Server tree and data compression.
		{Name: "no-server-tree", Clause: "v3 B", Breaks: "has no Server tree"},
		{Name: "dc-ignored", Clause: "v3 C", Breaks: "ignores a data compression request it does not support"},
		{Name: "dc-path-uncompressed", Clause: "v3 C", Breaks: "writes the full path under request local path compression (dc 2+B)"},
		{Name: "dc-ts-seconds", Clause: "v3 C", Breaks: "writes request relative timestamp offsets (dc A+1) in seconds instead of milliseconds"},
		// Variants: other choices the documents allow.
		{Name: "core-token-errors", Clause: "Gen2 8.4.4, v3 10.4.4", Variant: true, Breaks: "answers access-control refusals with the core's table (401 missing_token, 406 invalid_token, 406 insufficient_priviledges) instead of the transport's (register I-263)"},
		{Name: "initial-event", Clause: "Gen2 9.1.3, v3 5.1.3", Variant: true, Breaks: "sends one event with the current value right after a subscribe response (register I-286)"},
		{Name: "inline-errors", Clause: "v3 T3.1.1", Variant: true, Breaks: "reports unavailable signals of a multi-signal get in line instead of with 404 (register I-291)"},
		{Name: "no-history", Clause: "v3 7.2", Variant: true, Breaks: "records no history and answers every history read with 404 (register I-292)"},
	} {
		quirks.Register(q)
	}
}
