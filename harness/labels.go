package harness

import (
	"fmt"
	"regexp"
	"sync"

	"github.com/onsi/ginkgo/v2"
)

// Label is one Ginkgo label from the frozen registry below. Only the
// constructors in this file make Labels, so a spec cannot carry a label the
// registry does not know.
type Label struct{ name string }

// String returns the label as Ginkgo sees it, e.g. "protocol:http1".
func (l Label) String() string { return l.name }

// allowedLabels is the frozen registry: every label any spec may carry.
var allowedLabels = map[string]string{
	"protocol:tls":             "TLS 1.3 (7.1.1)",
	"protocol:http1":           "HTTP/1.1 (7.2.2)",
	"protocol:http2":           "HTTP/2 (7.2.3)",
	"protocol:grpc":            "gRPC (7.2.4)",
	"protocol:mqtt":            "MQTT v5 (7.2.5)",
	"protocol:can":             "CAN bus (bench)",
	"protocol:exve":            "ISO 20078-2 ExVe",
	"protocol:viss":            "W3C/COVESA VISS",
	"role:vehicle-dut":         "the DUT is the vehicle; the harness plays the center",
	"role:center-dut":          "the DUT is the center; the harness plays the vehicle",
	"role:offering-party-dut":  "the DUT is an ExVe offering party; the harness plays the accessing party",
	"role:accessing-party-dut": "the DUT is an ExVe accessing party; the harness plays the offering party",
	"duration:slow":            "covers more than a minute of spec time",
	"hardware":                 "needs a real bus or device (SocketCAN, a DCM)",
	"smoke":                    "the smoke subset: one row per retry class and per behaviour table, a bench verdict in minutes (icoc conformance -smoke)",
}

// allowedLabel reports whether l is in the registry or is a declared spec
// time (SpecTimeLabel), the one label family with a value.
func allowedLabel(l string) bool {
	if _, ok := allowedLabels[l]; ok {
		return true
	}
	_, ok := DeclaredSpecTime([]string{l})
	return ok
}

func label(name string) Label {
	if _, ok := allowedLabels[name]; !ok {
		panic(fmt.Sprintf("harness: label %q is not in the registry", name))
	}
	return Label{name}
}

// Protocols a spec can be labelled with.
var (
	TLS   = label("protocol:tls")
	HTTP1 = label("protocol:http1")
	HTTP2 = label("protocol:http2")
	GRPC  = label("protocol:grpc")
	MQTT  = label("protocol:mqtt")
	CAN   = label("protocol:can")
	EXVE  = label("protocol:exve")
	VISS  = label("protocol:viss")
)

// Roles of the DUT a spec applies to.
var (
	VehicleDUT = label("role:vehicle-dut")
	CenterDUT  = label("role:center-dut")
	// OfferingPartyDUT and AccessingPartyDUT are the ISO 20078-2 roles.
	OfferingPartyDUT  = label("role:offering-party-dut")
	AccessingPartyDUT = label("role:accessing-party-dut")
)

// Slow marks a spec that covers more than a minute of spec time.
var Slow = label("duration:slow")

// Hardware marks a spec that needs a real bus or device.
var Hardware = label("hardware")

// Smoke marks the smoke subset (SmokeLabel): one row per retry class and
// per behaviour table.
var Smoke = label("smoke")

// SmokeLabel is the smoke subset's label, for --label-filter.
const SmokeLabel = "smoke"

// Labels turns registry labels into a Ginkgo decorator.
func Labels(ls ...Label) ginkgo.Labels {
	out := make(ginkgo.Labels, 0, len(ls))
	for _, l := range ls {
		if l.name == "" {
			panic("harness: zero Label; use the registry's constructors")
		}
		out = append(out, l.name)
	}
	return out
}

// AllowedLabels returns a copy of the registry: label -> meaning.
func AllowedLabels() map[string]string {
	out := make(map[string]string, len(allowedLabels))
	for k, v := range allowedLabels {
		out[k] = v
	}
	return out
}

// idPattern is what a spec ID looks like: a clause (7.2.2.4, A1.2) and
// optionally a table row (T7-8 503, T7-4 A, and an MQTT reason code as the
// seed prints it: T7-21 0x89); or, for another standard,
// its number and a requirement ID or clause (20078-2 REQ_04_12_03,
// 20078-2 4.1.2); or a VISS dialect, its clause (5.1.3, a transport's
// T4.1, an appendix's B) and a topic (VISSv3 5.1.3 change, VISSgen2 T4.1
// 401 token_expired).
var idPattern = regexp.MustCompile(`^(\d+(\.\d+)*|A\d(\.\d+)*)( T\d+-\d+ ([A-Z0-9]+|0x[0-9A-F]{2}))?$` +
	`|^20078-2 (REQ_\d\d_\d\d_\d\d|\d+(\.\d+)*)$` +
	`|^VISS(v3|gen2) (T?\d+(\.\d+)*|[A-D](\.\d+)*)( [A-Za-z0-9][A-Za-z0-9_.-]*)+$`)

// FormatName builds "[id] text" without registering it (for tables that
// refer to specs by name, such as the quirk self-test's); an ID that is not
// a clause or table-row ID panics.
func FormatName(id, text string) string {
	if !idPattern.MatchString(id) {
		panic(fmt.Sprintf("harness: spec ID %q is not a clause or table-row ID (e.g. 7.2.2.4 T7-8 503)", id))
	}
	return fmt.Sprintf("[%s] %s", id, text)
}

var (
	namesMu sync.Mutex
	names   = map[string]bool{}
)

// SpecName builds "[id] text" and registers it; an ID that does not look
// like a clause or a name used twice panics during tree construction, so a
// dry run proves every name unique and cited.
func SpecName(id, text string) string {
	name := FormatName(id, text)
	namesMu.Lock()
	defer namesMu.Unlock()
	if names[name] {
		panic(fmt.Sprintf("harness: spec name used twice: %s", name))
	}
	names[name] = true
	return name
}
