package spec

import (
	"mime"
	"strings"
)

// GRPCStatus is one row of Table 7-20 (7.2.4.5). Invariants: Code is unique
// (0..16); Name is the canonical gRPC code name (the seed's truncated
// "DEADLINE_EXCEEDE" is corrected, I-030); HTTP/HTTPReason are the table's
// "HTTP Mapping"; Retry is the seed's Retry column unless overridden by
// Options.GRPCRetry (then RetryOverridden is true). Row is "T7-20 <code>".
type GRPCStatus struct {
	Code            int      `yaml:"code" json:"code"`
	Name            string   `yaml:"name" json:"name"`
	HTTP            int      `yaml:"http" json:"http"`
	HTTPReason      string   `yaml:"http_reason" json:"http_reason"`
	Retry           bool     `yaml:"retry" json:"retry"`
	RetryOverridden bool     `yaml:"-" json:"retry_overridden,omitempty"`
	Clause          string   `yaml:"clause" json:"clause"`
	Row             string   `yaml:"row" json:"row"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// GRPCContentType is the content-type rule of 7.2.4.3. Invariant: Value is
// the media type to send when one is specified; AlsoAccepted lists the
// values that conform as well (I-037); comparison is case-insensitive.
type GRPCContentType struct {
	Value           string   `yaml:"value" json:"value"`
	CaseInsensitive bool     `yaml:"case_insensitive" json:"case_insensitive"`
	AlsoAccepted    []string `yaml:"also_accepted" json:"also_accepted"`
	Clause          string   `yaml:"clause" json:"clause"`
	Row             string   `yaml:"row" json:"row"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// GRPCUserAgent is the user-agent rule of 7.2.4.3: the product identifier,
// a space, then the gRPC library name and version.
type GRPCUserAgent struct {
	Format  string `yaml:"format" json:"format"`
	Example string `yaml:"example" json:"example"`
	Clause  string `yaml:"clause" json:"clause"`
	Row     string `yaml:"row" json:"row"`
}

// VehicleIDMetadata is the rule of 7.2.4.4: the vehicle identifier travels
// as gRPC metadata under Key (I-024).
type VehicleIDMetadata struct {
	Key             string   `yaml:"key" json:"key"`
	Rule            string   `yaml:"rule" json:"rule"`
	Clause          string   `yaml:"clause" json:"clause"`
	Row             string   `yaml:"row" json:"row"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// GRPCRules gathers the non-table gRPC rules of 7.2.4. Invariant:
// AppDataMaxBytes is the largest app_data/data size Tables 7-15/7-17 allow
// ("less than 2048 bytes"); SplitSizeBytes is the preferred streaming split
// and SplitMinBytes <= SplitSizeBytes <= SplitMaxBytes the range a message
// of a split upload (but its last) must keep ("about 1MB", I-106);
// AppStatus is the statuscodes enum of every response in value order;
// Services are the four services of 7.2.4.4 in the seed's order.
type GRPCRules struct {
	ContentType       GRPCContentType   `json:"content_type"`
	UserAgent         GRPCUserAgent     `json:"user_agent"`
	VehicleIDMetadata VehicleIDMetadata `json:"vehicle_id_metadata"`
	MinVersion        string            `json:"min_version"`
	SplitSizeBytes    int               `json:"split_size_bytes"`
	SplitMinBytes     int               `json:"split_min_bytes"`
	SplitMaxBytes     int               `json:"split_max_bytes"`
	AppDataMaxBytes   int               `json:"app_data_max_bytes"`
	AppStatus         []GRPCAppStatus   `json:"app_status"`
	RetryAfterRule    string            `json:"retry_after_rule"`
	Services          []GRPCService     `json:"services"`
	SizeLimits        []GRPCSizeLimit   `json:"size_limits"`
	Clause            string            `json:"clause"`
}

// GRPCAppStatus is one value of the application status enum "statuscodes"
// that every response of 7.2.4.4 carries (Tables 7-14, 7-15, 7-17, 7-19),
// sent with gRPC code 0. Invariant: Value is the enum number of the
// protos; RetryAfter is true for the value whose retry_after_sec is valid.
type GRPCAppStatus struct {
	Value           int      `yaml:"value" json:"value"`
	Name            string   `yaml:"name" json:"name"`
	Meaning         string   `yaml:"meaning" json:"meaning"`
	RetryAfter      bool     `yaml:"retry_after" json:"retry_after,omitempty"`
	Clause          string   `yaml:"clause" json:"clause"`
	Row             string   `yaml:"row" json:"row"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// GRPCService is one RPC of 7.2.4.4. Invariant: Path is
// "/<Service>/<Method>" (the HTTP/2 :path, I-102); Streaming is "unary",
// "client" or "server"; Use is the DUT capability the RPC serves
// (data-upload, push, api-call, data-download).
type GRPCService struct {
	Service         string   `yaml:"service" json:"service"`
	Method          string   `yaml:"method" json:"method"`
	Path            string   `yaml:"path" json:"path"`
	Streaming       string   `yaml:"streaming" json:"streaming"`
	Request         string   `yaml:"request" json:"request"`
	Response        string   `yaml:"response" json:"response"`
	Use             string   `yaml:"use" json:"use"`
	Proto           string   `yaml:"proto" json:"proto"`
	Clause          string   `yaml:"clause" json:"clause"`
	Tables          []string `yaml:"tables" json:"tables"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// GRPCSizeLimit is a "less than 2048 bytes" rule of Tables 7-15 and 7-17:
// Field of Message holds at most MaxBytes bytes.
type GRPCSizeLimit struct {
	Field    string `yaml:"field" json:"field"`
	Message  string `yaml:"message" json:"message"`
	MaxBytes int    `yaml:"max_bytes" json:"max_bytes"`
	Clause   string `yaml:"clause" json:"clause"`
	Row      string `yaml:"row" json:"row"`
}

// GRPCAppStatusFor returns the application status of value v (0 OK, 1
// RETRYAFTER, 2 BUSY); ok is false for another value.
func GRPCAppStatusFor(v int) (GRPCAppStatus, bool) {
	for _, s := range defaultDoc.GRPC.AppStatus {
		if s.Value == v {
			return clone(s), true
		}
	}
	return GRPCAppStatus{}, false
}

// GRPCServiceFor returns the RPC of 7.2.4.4 whose Use is use (data-upload,
// push, api-call, data-download); ok is false for another.
func GRPCServiceFor(use string) (GRPCService, bool) {
	for _, s := range defaultDoc.GRPC.Services {
		if s.Use == use {
			return clone(s), true
		}
	}
	return GRPCService{}, false
}

// GRPCRulesOf returns the gRPC rules of 7.2.4 under DefaultOptions.
func GRPCRulesOf() GRPCRules { return clone(defaultDoc.GRPC) }

// GRPCContentTypeValue is the gRPC content type of 7.2.4.3.
const GRPCContentTypeValue = "application/grpc+proto"

// GRPCStatuses returns Table 7-20 in code order under DefaultOptions.
func GRPCStatuses() []GRPCStatus { return cloneRows(defaultDoc.GRPCStatus) }

// GRPCStatusFor returns the Table 7-20 row of code under DefaultOptions.
func GRPCStatusFor(code int) (GRPCStatus, bool) { return defaultDoc.GRPCStatusFor(code) }

// GRPCStatusFor returns the Table 7-20 row of code with this Document's
// overrides applied; ok is false for a code outside 0..16.
func (d Document) GRPCStatusFor(code int) (GRPCStatus, bool) {
	for _, s := range d.GRPCStatus {
		if s.Code == code {
			return clone(s), true
		}
	}
	return GRPCStatus{}, false
}

// IsGRPCContentType reports whether v is a conforming gRPC content-type
// (7.2.4.3): application/grpc+proto or application/grpc, ignoring case and
// parameters.
func IsGRPCContentType(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return false
	}
	if mt == GRPCContentTypeValue {
		return true
	}
	for _, a := range defaultDoc.GRPC.ContentType.AlsoAccepted {
		if strings.EqualFold(mt, a) {
			return true
		}
	}
	return false
}
