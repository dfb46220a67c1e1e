package spec

import (
	"bytes"
	"embed"
	"fmt"

	"go.yaml.in/yaml/v3"
)

//go:embed data/*.yaml INTERPRETATIONS.md
var files embed.FS

// rawData is the union of every data file, as decoded.
type rawData struct {
	TLS struct {
		Basics       []TLSRule     `yaml:"basics"`
		CipherSuites []CipherSuite `yaml:"cipher_suites"`
		KeyExchange  []KeyExchange `yaml:"key_exchange"`
		Signatures   []Signature   `yaml:"signatures"`
		Session      TLSSession    `yaml:"session"`
	}
	Abnormal struct {
		ServerAuth []rawScenario `yaml:"server_auth"`
		ClientAuth []rawScenario `yaml:"client_auth"`
	}
	HTTP struct {
		Status           []HTTPStatus      `yaml:"status"`
		Rules            []Rule            `yaml:"rules"`
		ResponseTimeout  ResponseTimeout   `yaml:"response_timeout"`
		HTTP2Conformance []HTTP2Conformity `yaml:"http2_conformance"`
	}
	Retry struct {
		Rules          []RetryRule    `yaml:"rules"`
		TimeoutBackoff TimeoutBackoff `yaml:"timeout_backoff"`
	}
	GRPC struct {
		Status            []GRPCStatus      `yaml:"status"`
		ContentType       GRPCContentType   `yaml:"content_type"`
		UserAgent         GRPCUserAgent     `yaml:"user_agent"`
		VehicleIDMetadata VehicleIDMetadata `yaml:"vehicle_id_metadata"`
		MinVersion        string            `yaml:"min_version"`
		SplitSizeBytes    int               `yaml:"split_size_bytes"`
		SplitMinBytes     int               `yaml:"split_min_bytes"`
		SplitMaxBytes     int               `yaml:"split_max_bytes"`
		AppDataMaxBytes   int               `yaml:"app_data_max_bytes"`
		AppStatus         []GRPCAppStatus   `yaml:"app_status"`
		RetryAfterRule    string            `yaml:"retry_after_rule"`
		Services          []GRPCService     `yaml:"services"`
		SizeLimits        []GRPCSizeLimit   `yaml:"size_limits"`
	}
	MQTT struct {
		Reason         MQTTReasonTables `yaml:"reason"`
		AckTimeouts    []AckTimeout     `yaml:"ack_timeouts"`
		Topics         []TopicForm      `yaml:"topics"`
		Rules          []Rule           `yaml:"rules"`
		PayloadFormats []PayloadFormat  `yaml:"payload_formats"`
	}
	Headers struct {
		MediaTypes []MediaType    `yaml:"media_types"`
		UserAgent  UserAgentRules `yaml:"user_agent"`
	}
	Config struct {
		Ports      []Port        `yaml:"ports"`
		DataFormat DataFormat    `yaml:"data_format"`
		FileName   FileNameRules `yaml:"file_name"`
		VehicleID  VehicleIDRule `yaml:"vehicle_id"`
	}
}

// rawScenario is one row of Table 7-4 or 7-5 as written in the data file;
// RetryCount is nil where the seed gives no number (T7-4 row I).
type rawScenario struct {
	Row             string   `yaml:"row"`
	Title           string   `yaml:"title"`
	Retry           bool     `yaml:"retry"`
	RetryIntervalS  float64  `yaml:"retry_interval_s"`
	RetryCount      *int     `yaml:"retry_count"`
	TimeoutS        float64  `yaml:"timeout_s"`
	RetryText       string   `yaml:"retry_text"`
	Termination     string   `yaml:"termination"`
	Discard         string   `yaml:"discard"`
	DiscardReading  string   `yaml:"discard_reading"`
	Interpretations []string `yaml:"interpretations"`
}

// decodeStrict decodes one embedded file into v, rejecting unknown keys.
func decodeStrict(name string, v any) error {
	b, err := files.ReadFile(name)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// loadRaw reads every data file.
func loadRaw() (*rawData, error) {
	var r rawData
	for _, f := range []struct {
		name string
		v    any
	}{
		{"data/tls.yaml", &r.TLS},
		{"data/tls_abnormal.yaml", &r.Abnormal},
		{"data/http.yaml", &r.HTTP},
		{"data/retry.yaml", &r.Retry},
		{"data/grpc.yaml", &r.GRPC},
		{"data/mqtt.yaml", &r.MQTT},
		{"data/headers.yaml", &r.Headers},
		{"data/config.yaml", &r.Config},
	} {
		if err := decodeStrict(f.name, f.v); err != nil {
			return nil, err
		}
	}
	return &r, nil
}

// DataFiles lists the embedded data files, in load order. Invariant: every
// table this package serves comes from exactly these files.
func DataFiles() []string {
	return []string{
		"data/tls.yaml", "data/tls_abnormal.yaml", "data/http.yaml", "data/retry.yaml",
		"data/grpc.yaml", "data/mqtt.yaml", "data/headers.yaml", "data/config.yaml",
	}
}

var (
	base       *rawData
	defaultDoc Document
)

func init() {
	r, err := loadRaw()
	if err != nil {
		panic("spec: embedded data: " + err.Error())
	}
	base = r
	d, err := Resolve(DefaultOptions())
	if err != nil {
		panic("spec: embedded data: " + err.Error())
	}
	defaultDoc = d
}
