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
// ("less than 2048 bytes"); SplitSizeBytes is the preferred streaming split.
type GRPCRules struct {
	ContentType       GRPCContentType   `json:"content_type"`
	UserAgent         GRPCUserAgent     `json:"user_agent"`
	VehicleIDMetadata VehicleIDMetadata `json:"vehicle_id_metadata"`
	MinVersion        string            `json:"min_version"`
	SplitSizeBytes    int               `json:"split_size_bytes"`
	AppDataMaxBytes   int               `json:"app_data_max_bytes"`
	Clause            string            `json:"clause"`
}

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
