package spec

import "strings"

// Port is one port of Appendix 2 §1. Invariant: TBD is true where the seed
// says "T.B.D"; Port is then the reading of I-014 (Options.HTTP2Port).
type Port struct {
	Protocol        string   `yaml:"protocol" json:"protocol"`
	Port            int      `yaml:"port" json:"port"`
	Transport       string   `yaml:"transport" json:"transport"`
	TBD             bool     `yaml:"tbd" json:"tbd"`
	Clause          string   `yaml:"clause" json:"clause"`
	Row             string   `yaml:"row" json:"row"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// DataFormat holds Appendix 1 §1 and §3. Invariant: a body of
// GzipThresholdBytes or more sent over a protocol in GzipProtocols must be
// gzip-compressed (I-018); binary fields are big endian; text is UTF-8.
type DataFormat struct {
	Clause             string   `yaml:"clause" json:"clause"`
	Formats            []string `yaml:"formats" json:"formats"`
	GzipThresholdBytes int      `yaml:"gzip_threshold_bytes" json:"gzip_threshold_bytes"`
	GzipProtocols      []string `yaml:"gzip_protocols" json:"gzip_protocols"`
	MQTTGzip           string   `yaml:"mqtt_gzip" json:"mqtt_gzip"`
	ByteOrder          string   `yaml:"byte_order" json:"byte_order"`
	Charset            string   `yaml:"charset" json:"charset"`
	IndefiniteValue    string   `yaml:"indefinite_value" json:"indefinite_value"`
	Interpretations    []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// VehicleIDRule is 7.3: the vehicle identifier is the VIN. Invariant: Length
// is the length in force (Options.VehicleIDLength, I-001); YAMLLength is
// what the seed's yaml listings say.
type VehicleIDRule struct {
	Clause          string   `yaml:"clause" json:"clause"`
	Kind            string   `yaml:"kind" json:"kind"`
	Length          int      `yaml:"length" json:"length"`
	YAMLLength      int      `yaml:"yaml_length" json:"yaml_length"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// GzipThreshold is the default body size in bytes from which HTTP and gRPC
// bodies must be gzip-compressed (Appendix 1 §1, "2KB or larger"; I-018).
// Invariant: equals the data file's value (tested).
const GzipThreshold = 2048

// Protocol names used by Port.Protocol, RetryRule.Protocols and
// DataFormat.GzipProtocols.
const (
	ProtoHTTP11 = "http1.1"
	ProtoHTTP2  = "http2"
	ProtoGRPC   = "grpc"
	ProtoMQTT   = "mqtt"
)

// Ports returns the ports of Appendix 2 under DefaultOptions.
func Ports() []Port { return cloneRows(defaultDoc.Ports) }

// PortFor returns the port of protocol (ProtoHTTP11, ProtoHTTP2, ProtoGRPC,
// ProtoMQTT) under this Document's options; ok is false for other names.
func (d Document) PortFor(protocol string) (int, bool) {
	for _, p := range d.Ports {
		if p.Protocol == protocol {
			return p.Port, true
		}
	}
	return 0, false
}

// MustGzip reports whether a body of size bytes sent over protocol must be
// gzip-compressed under this Document's options. For MQTT the seed leaves
// compression to individual requirements, so it is never mandatory.
func (d Document) MustGzip(protocol string, size int) bool {
	for _, p := range d.DataFormat.GzipProtocols {
		if p == protocol {
			return size >= d.DataFormat.GzipThresholdBytes
		}
	}
	return false
}

// MustGzip is Document.MustGzip under DefaultOptions.
func MustGzip(protocol string, size int) bool { return defaultDoc.MustGzip(protocol, size) }

// CheckVehicleID reports whether id is a vehicle identifier under this
// Document's options: exactly VehicleID.Length characters; when the length
// is 17, a VIN alphabet (ISO 3779: digits and upper-case letters except I, O, Q).
func (d Document) CheckVehicleID(id string) error {
	if len(id) != d.VehicleID.Length {
		return &FieldError{Field: "vehicle_id", Value: id, Reason: "length is not " + itoa(d.VehicleID.Length)}
	}
	for _, c := range id {
		ok := c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'
		if d.VehicleID.Length == 17 && strings.ContainsRune("IOQ", c) {
			ok = false
		}
		if !ok {
			return &FieldError{Field: "vehicle_id", Value: id, Reason: "character " + string(c) + " is not allowed in a VIN"}
		}
	}
	return nil
}
