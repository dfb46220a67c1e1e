package spec

import (
	"fmt"
	"strings"
)

// Options are the readings of the register (INTERPRETATIONS.md) that a real
// device may take differently. They are meant for a `spec:` section of the
// DUT profile (yaml names below), which profiles do not have yet; Resolve
// applies them to a Document. Start from DefaultOptions and
// change fields: the zero Options is not valid.
//
// Invariant: DefaultOptions().Validate() == nil, and Resolve(DefaultOptions())
// is what the package-level functions serve.
type Options struct {
	// VehicleIDLength is the length of the vehicle identifier (I-001): 17
	// (a VIN, 7.3) by default; 15 is what the seed's yaml listings say.
	VehicleIDLength int `yaml:"vehicle_id_length" json:"vehicle_id_length"`
	// VehicleIDHeader is the HTTP custom header carrying the vehicle
	// identifier (I-038); default "vehicle_id".
	VehicleIDHeader string `yaml:"vehicle_id_header" json:"vehicle_id_header"`
	// SessionCookieName is the session cookie name (I-003); default "session_id".
	SessionCookieName string `yaml:"session_cookie_name" json:"session_cookie_name"`
	// MQTTTopicStyle is "text" (7.2.5.2, default) or "asyncapi" (7.2.5.9 channels) (I-005).
	MQTTTopicStyle string `yaml:"mqtt_topic_style" json:"mqtt_topic_style"`
	// ServerAuthRowIRetries is the X of Table 7-4 row I, "retry failed X times" (I-006); default 1.
	ServerAuthRowIRetries int `yaml:"tls_server_auth_row_i_retries" json:"tls_server_auth_row_i_retries"`
	// AllowChaCha20 keeps TLS_CHACHA20_POLY1305_SHA256 of Table 7-1 allowed (I-010); default true.
	AllowChaCha20 bool `yaml:"allow_chacha20" json:"allow_chacha20"`
	// OCSPStapling says whether the in-car unit requests and checks stapled
	// OCSP responses for server certificates (7.1.1.5 vs change history 0.55, I-011); default true.
	OCSPStapling bool `yaml:"ocsp_stapling" json:"ocsp_stapling"`
	// HTTPRetry overrides the Retry value of Table 7-8 rows, or gives one to
	// an unlisted code, by status code (I-008, I-017, I-027).
	HTTPRetry map[int]bool `yaml:"http_retry" json:"http_retry,omitempty"`
	// GRPCRetry overrides the Retry value of Table 7-20 rows by gRPC code (I-027).
	GRPCRetry map[int]bool `yaml:"grpc_retry" json:"grpc_retry,omitempty"`
	// HTTP2Port is the HTTP/2 port, T.B.D in Appendix 2 (I-014); default 443.
	HTTP2Port int `yaml:"http2_port" json:"http2_port"`
	// HTTPResponseTimeoutS is the response timeout of 7.2.2.5 in spec seconds (I-032); default 60.
	HTTPResponseTimeoutS float64 `yaml:"http_response_timeout_s" json:"http_response_timeout_s"`
	// MQTTUnsubackTimeoutS is the UNSUBACK wait, absent from 7.2.5.5 (I-015); default 30.
	MQTTUnsubackTimeoutS float64 `yaml:"mqtt_unsuback_timeout_s" json:"mqtt_unsuback_timeout_s"`
	// MQTTSessionRetryRule is the retry rule (an ID of RetryRules) by which
	// CONNECT, SUBSCRIBE and UNSUBSCRIBE are retried after a Retry-Yes code
	// of Tables 7-21, 7-23 and 7-24, which Table 7-25 does not cover
	// (I-140); default "mqtt-upload-realtime".
	MQTTSessionRetryRule string `yaml:"mqtt_session_retry_rule" json:"mqtt_session_retry_rule"`
	// TimeoutBackoffFactor and TimeoutBackoffCapS extend the retransmission
	// interval after timeouts (I-016); default 2 and 600.
	TimeoutBackoffFactor float64 `yaml:"timeout_backoff_factor" json:"timeout_backoff_factor"`
	TimeoutBackoffCapS   float64 `yaml:"timeout_backoff_cap_s" json:"timeout_backoff_cap_s"`
	// GzipThresholdBytes is the body size from which HTTP/gRPC bodies are gzipped (I-018); default 2048.
	GzipThresholdBytes int `yaml:"gzip_threshold_bytes" json:"gzip_threshold_bytes"`
	// RequestIDInvalidLength is the length of the invalid request ID "000..."/"FFF..." (I-019); default 8.
	RequestIDInvalidLength int `yaml:"request_id_invalid_length" json:"request_id_invalid_length"`
	// Triggers is the set of accepted trigger identifiers, one character each
	// (I-020); default "nfmsc"; "*" accepts any ASCII alphanumeric.
	Triggers string `yaml:"triggers" json:"triggers"`
}

// DefaultOptions returns the readings the register chooses. Invariant: it
// validates, and every call returns a fresh value.
func DefaultOptions() Options {
	return Options{
		VehicleIDLength:        17,
		VehicleIDHeader:        "vehicle_id",
		SessionCookieName:      "session_id",
		MQTTTopicStyle:         TopicStyleText,
		ServerAuthRowIRetries:  1,
		AllowChaCha20:          true,
		OCSPStapling:           true,
		HTTP2Port:              443,
		HTTPResponseTimeoutS:   60,
		MQTTUnsubackTimeoutS:   30,
		MQTTSessionRetryRule:   "mqtt-upload-realtime",
		TimeoutBackoffFactor:   2,
		TimeoutBackoffCapS:     600,
		GzipThresholdBytes:     GzipThreshold,
		RequestIDInvalidLength: 8,
		Triggers:               "nfmsc",
	}
}

// Validate returns an error naming the first field out of range.
func (o Options) Validate() error {
	bad := func(f string, v any, why string) error {
		return &FieldError{Field: f, Value: fmt.Sprint(v), Reason: why}
	}
	switch {
	case o.VehicleIDLength < 1 || o.VehicleIDLength > 64:
		return bad("vehicle_id_length", o.VehicleIDLength, "must be 1..64")
	case o.VehicleIDHeader == "" || strings.ContainsAny(o.VehicleIDHeader, " \t:\r\n"):
		return bad("vehicle_id_header", o.VehicleIDHeader, "must be a header field name")
	case o.SessionCookieName == "" || strings.ContainsAny(o.SessionCookieName, " \t;=,\r\n"):
		return bad("session_cookie_name", o.SessionCookieName, "must be a cookie name")
	case o.MQTTTopicStyle != TopicStyleText && o.MQTTTopicStyle != TopicStyleAsyncAPI:
		return bad("mqtt_topic_style", o.MQTTTopicStyle, `must be "text" or "asyncapi"`)
	case o.ServerAuthRowIRetries < 0 || o.ServerAuthRowIRetries > 100:
		return bad("tls_server_auth_row_i_retries", o.ServerAuthRowIRetries, "must be 0..100")
	case o.HTTP2Port < 1 || o.HTTP2Port > 65535:
		return bad("http2_port", o.HTTP2Port, "must be 1..65535")
	case !(o.HTTPResponseTimeoutS > 0):
		return bad("http_response_timeout_s", o.HTTPResponseTimeoutS, "must be > 0")
	case !(o.MQTTUnsubackTimeoutS > 0):
		return bad("mqtt_unsuback_timeout_s", o.MQTTUnsubackTimeoutS, "must be > 0")
	case !strings.HasPrefix(o.MQTTSessionRetryRule, "mqtt-upload-"):
		return bad("mqtt_session_retry_rule", o.MQTTSessionRetryRule, `must name a Table 7-25 upload rule ("mqtt-upload-realtime" or "mqtt-upload-non-realtime")`)
	case !(o.TimeoutBackoffFactor >= 1):
		return bad("timeout_backoff_factor", o.TimeoutBackoffFactor, "must be >= 1")
	case !(o.TimeoutBackoffCapS >= 0):
		return bad("timeout_backoff_cap_s", o.TimeoutBackoffCapS, "must be >= 0 (0: no cap)")
	case o.GzipThresholdBytes < 1:
		return bad("gzip_threshold_bytes", o.GzipThresholdBytes, "must be >= 1")
	case o.RequestIDInvalidLength < 1 || o.RequestIDInvalidLength > 64:
		return bad("request_id_invalid_length", o.RequestIDInvalidLength, "must be 1..64")
	case o.Triggers == "":
		return bad("triggers", o.Triggers, `must list trigger characters or be "*"`)
	}
	if o.Triggers != "*" {
		for i := 0; i < len(o.Triggers); i++ {
			if !isAlnum(o.Triggers[i]) {
				return bad("triggers", o.Triggers, "each trigger must be one ASCII alphanumeric character")
			}
		}
	}
	for c := range o.GRPCRetry {
		if c < 0 || c > 16 {
			return bad("grpc_retry", c, "gRPC codes are 0..16")
		}
	}
	for c := range o.HTTPRetry {
		if c < 100 || c > 999 {
			return bad("http_retry", c, "HTTP status codes are 100..999")
		}
	}
	return nil
}
