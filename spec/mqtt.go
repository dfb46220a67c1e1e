package spec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MQTTReason is one row of Tables 7-21..7-24 (7.2.5.4). Invariants: Code is
// unique within its table and Hex is "0x%02X" of Code; Name is as printed in
// the seed; Retry is the seed's Retry column. Row is "T7-2x 0xNN".
type MQTTReason struct {
	Code            int      `yaml:"code" json:"code"`
	Hex             string   `yaml:"hex" json:"hex"`
	Name            string   `yaml:"name" json:"name"`
	Retry           bool     `yaml:"retry" json:"retry"`
	Clause          string   `yaml:"clause" json:"clause"`
	Row             string   `yaml:"row" json:"row"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// MQTTReasonTables holds Tables 7-21 (CONNACK), 7-22 (PUBACK), 7-23 (SUBACK)
// and 7-24 (UNSUBACK), each in the seed's row order.
type MQTTReasonTables struct {
	Connack  []MQTTReason `yaml:"connack" json:"connack"`
	Puback   []MQTTReason `yaml:"puback" json:"puback"`
	Suback   []MQTTReason `yaml:"suback" json:"suback"`
	Unsuback []MQTTReason `yaml:"unsuback" json:"unsuback"`
}

// Table returns the rows for packet "CONNACK", "PUBACK", "SUBACK" or
// "UNSUBACK" (case-insensitive); nil for any other name.
func (t MQTTReasonTables) Table(packet string) []MQTTReason {
	switch strings.ToUpper(packet) {
	case "CONNACK":
		return t.Connack
	case "PUBACK":
		return t.Puback
	case "SUBACK":
		return t.Suback
	case "UNSUBACK":
		return t.Unsuback
	}
	return nil
}

// AckTimeout is the ACK wait of 7.2.5.5 for one packet type. Invariant:
// Timeout (spec time) equals TimeoutS seconds; Stated is false where the
// seed gives no value (UNSUBACK, I-015).
type AckTimeout struct {
	Packet          string        `yaml:"packet" json:"packet"`
	TimeoutS        float64       `yaml:"timeout_s" json:"timeout_s"`
	Timeout         time.Duration `yaml:"-" json:"-"`
	Stated          bool          `yaml:"stated" json:"stated"`
	Clause          string        `yaml:"clause" json:"clause"`
	Row             string        `yaml:"row" json:"row"`
	Interpretations []string      `yaml:"interpretations" json:"interpretations,omitempty"`
}

// TopicForm is one topic/channel form of 7.2.5.2 or of the AsyncAPI yaml of
// 7.2.5.9 (I-005). Invariant: ID is unique.
type TopicForm struct {
	ID              string   `yaml:"id" json:"id"`
	Form            string   `yaml:"form" json:"form"`
	Directions      []string `yaml:"directions" json:"directions,omitempty"`
	Clause          string   `yaml:"clause" json:"clause"`
	Row             string   `yaml:"row" json:"row"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// MQTTTopics is the topic section of the Document. Invariant: Style is the
// topic style in force ("text" = 7.2.5.2, "asyncapi" = 7.2.5.9 channels).
type MQTTTopics struct {
	Style string      `json:"style"`
	Forms []TopicForm `json:"forms"`
}

// MQTTReasons returns Tables 7-21..7-24.
func MQTTReasons() MQTTReasonTables { return cloneReasons(defaultDoc.MQTTReason) }

// MQTTReasonFor returns the row of code in the table of packet ("CONNACK",
// "PUBACK", "SUBACK", "UNSUBACK"); ok is false if the table does not list it.
func MQTTReasonFor(packet string, code int) (MQTTReason, bool) {
	return defaultDoc.MQTTReasonFor(packet, code)
}

// MQTTReasonFor returns the row of code in the table of packet; ok is false
// if the table does not list it (such a code is never retried).
func (d Document) MQTTReasonFor(packet string, code int) (MQTTReason, bool) {
	for _, r := range d.MQTTReason.Table(packet) {
		if r.Code == code {
			return clone(r), true
		}
	}
	return MQTTReason{}, false
}

// MQTTAckTimeouts returns the ACK waits of 7.2.5.5 (UNSUBACK by I-015).
func MQTTAckTimeouts() []AckTimeout { return cloneRows(defaultDoc.MQTTAckTimeouts) }

// MQTTAckTimeout returns the ACK wait for packet (spec time); ok is false for
// a packet type 7.2.5.5 does not cover.
func (d Document) MQTTAckTimeout(packet string) (time.Duration, bool) {
	for _, a := range d.MQTTAckTimeouts {
		if strings.EqualFold(a.Packet, packet) {
			return a.Timeout, true
		}
	}
	return 0, false
}

// Direction is the last level of a PUBLISH topic (7.2.5.2).
type Direction string

// The two directions of 7.2.5.2.
const (
	C2V Direction = "C2V" // center -> in-car unit
	V2C Direction = "V2C" // in-car unit -> center
)

// Topic styles of Options.MQTTTopicStyle (I-005).
const (
	TopicStyleText     = "text"
	TopicStyleAsyncAPI = "asyncapi"
)

// ErrTopicLevel is wrapped by the topic builders for an empty level or one
// containing '/', '+', '#', NUL or invalid UTF-8.
var ErrTopicLevel = errors.New("invalid MQTT topic level")

func checkLevel(what, s string) error {
	if s == "" || strings.ContainsAny(s, "/+#\x00") || !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s %q", ErrTopicLevel, what, s)
	}
	return nil
}

// MQTTTopic builds the basic topic "<vehicle id>/<application>" of 7.2.5.2.
// Invariant: both levels are non-empty and contain no '/', '+', '#' or NUL.
func MQTTTopic(vehicleID, application string) (string, error) {
	if err := checkLevel("vehicle id", vehicleID); err != nil {
		return "", err
	}
	if err := checkLevel("application", application); err != nil {
		return "", err
	}
	return vehicleID + "/" + application, nil
}

// MQTTPublishTopic builds the PUBLISH topic
// "<vehicle id>/<application>/<C2V|V2C>" of 7.2.5.2.
func MQTTPublishTopic(vehicleID, application string, dir Direction) (string, error) {
	if dir != C2V && dir != V2C {
		return "", fmt.Errorf("%w: direction %q", ErrTopicLevel, dir)
	}
	t, err := MQTTTopic(vehicleID, application)
	if err != nil {
		return "", err
	}
	return t + "/" + string(dir), nil
}

// ParseMQTTPublishTopic splits a 7.2.5.2 PUBLISH topic. It is the inverse of
// MQTTPublishTopic: for every topic it accepts, MQTTPublishTopic(results)
// returns the same topic.
func ParseMQTTPublishTopic(topic string) (vehicleID, application string, dir Direction, err error) {
	parts := strings.Split(topic, "/")
	if len(parts) != 3 {
		return "", "", "", fmt.Errorf("%w: topic %q: want <vehicle id>/<application>/<C2V|V2C>", ErrTopicLevel, topic)
	}
	if _, err := MQTTPublishTopic(parts[0], parts[1], Direction(parts[2])); err != nil {
		return "", "", "", err
	}
	return parts[0], parts[1], Direction(parts[2]), nil
}

// AsyncAPIUploadChannel builds the data-upload channel of the 7.2.5.9.1 yaml,
// "/upload/<vehicle id>".
func AsyncAPIUploadChannel(vehicleID string) (string, error) {
	if err := checkLevel("vehicle id", vehicleID); err != nil {
		return "", err
	}
	return "/upload/" + vehicleID, nil
}

// AsyncAPIPushChannel builds the push channel of the 7.2.5.9.2 yaml,
// "/push/<vehicle id>/<app_id>/<sub_id>" (app_id, sub_id: int32).
func AsyncAPIPushChannel(vehicleID string, appID, subID int32) (string, error) {
	if err := checkLevel("vehicle id", vehicleID); err != nil {
		return "", err
	}
	return "/push/" + vehicleID + "/" + strconv.Itoa(int(appID)) + "/" + strconv.Itoa(int(subID)), nil
}

// AsyncAPIDownloadRequestChannel builds "/downloadRequest/<vehicle id>" (7.2.5.9.4 yaml).
func AsyncAPIDownloadRequestChannel(vehicleID string) (string, error) {
	if err := checkLevel("vehicle id", vehicleID); err != nil {
		return "", err
	}
	return "/downloadRequest/" + vehicleID, nil
}

// AsyncAPIDownloadChannel builds "/download/<vehicle id>/<filename>" (7.2.5.9.4 yaml).
func AsyncAPIDownloadChannel(vehicleID, filename string) (string, error) {
	if err := checkLevel("vehicle id", vehicleID); err != nil {
		return "", err
	}
	if err := checkLevel("file name", filename); err != nil {
		return "", err
	}
	return "/download/" + vehicleID + "/" + filename, nil
}

// UploadTopic returns the topic the in-car unit publishes uploads of
// application to, in the topic style in force: "text" gives
// "<vid>/<application>/V2C", "asyncapi" gives "/upload/<vid>".
func (d Document) UploadTopic(vehicleID, application string) (string, error) {
	if d.MQTTTopics.Style == TopicStyleAsyncAPI {
		if err := checkLevel("application", application); err != nil {
			return "", err
		}
		return AsyncAPIUploadChannel(vehicleID)
	}
	return MQTTPublishTopic(vehicleID, application, V2C)
}

// PushTopic returns the topic the center publishes pushes on, in the topic
// style in force: "text" gives "<vid>/<application>/C2V", "asyncapi" gives
// "/push/<vid>/<app_id>/<sub_id>".
func (d Document) PushTopic(vehicleID, application string, appID, subID int32) (string, error) {
	if d.MQTTTopics.Style == TopicStyleAsyncAPI {
		return AsyncAPIPushChannel(vehicleID, appID, subID)
	}
	return MQTTPublishTopic(vehicleID, application, C2V)
}

// PushAckTopic returns the topic the in-car unit acknowledges a push on
// (7.2.5.2, I-031): the push's Response Topic property when it has one,
// otherwise "<vid>/<application>/V2C".
func PushAckTopic(responseTopic, vehicleID, application string) (string, error) {
	if responseTopic != "" {
		if strings.ContainsAny(responseTopic, "+#\x00") || !utf8.ValidString(responseTopic) {
			return "", fmt.Errorf("%w: response topic %q", ErrTopicLevel, responseTopic)
		}
		return responseTopic, nil
	}
	return MQTTPublishTopic(vehicleID, application, V2C)
}

// PayloadFormat is one Payload Format Indicator value of 7.2.5.3.
// Invariant: Hex is "0x%02X" of Value; Value is 0 (bytes) or 1 (UTF-8).
type PayloadFormat struct {
	Value   int    `yaml:"value" json:"value"`
	Hex     string `yaml:"hex" json:"hex"`
	Meaning string `yaml:"meaning" json:"meaning"`
	Clause  string `yaml:"clause" json:"clause"`
	Row     string `yaml:"row" json:"row"`
}

// MQTTPayloadFormats returns the Payload Format Indicator values of 7.2.5.3.
func MQTTPayloadFormats() []PayloadFormat { return cloneRows(defaultDoc.MQTTPayloadFormats) }

// ErrPayloadFormat is wrapped by CheckPublishFormat for a PUBLISH whose
// Payload Format Indicator or Content Type breaks 7.2.5.3.
var ErrPayloadFormat = errors.New("7.2.5.3 PUBLISH format")

// CheckPublishFormat checks the 7.2.5.3 properties of one PUBLISH: a
// Payload Format Indicator (pfi nil when absent) of 0 or 1, a payload that
// is valid UTF-8 when it is 1 (RFC 3629), and a Content Type (empty when
// absent) that is one of the media types, compared case-insensitively
// (RFC 6838). It returns nil iff all hold.
func (d Document) CheckPublishFormat(pfi *byte, contentType string, payload []byte) error {
	var errs []error
	switch {
	case pfi == nil:
		errs = append(errs, fmt.Errorf("%w: no Payload Format Indicator", ErrPayloadFormat))
	case *pfi > 1:
		errs = append(errs, fmt.Errorf("%w: Payload Format Indicator %d is neither 0 (bytes) nor 1 (UTF-8)", ErrPayloadFormat, *pfi))
	case *pfi == 1 && !utf8.Valid(payload):
		errs = append(errs, fmt.Errorf("%w: Payload Format Indicator 1 (UTF-8) on a payload that is not valid UTF-8", ErrPayloadFormat))
	}
	if contentType == "" {
		errs = append(errs, fmt.Errorf("%w: no Content Type", ErrPayloadFormat))
	} else if !IsMediaType(contentType) {
		errs = append(errs, fmt.Errorf("%w: Content Type %q is none of %s", ErrPayloadFormat, contentType, strings.Join(d.mediaTypeNames(), ", ")))
	}
	return errors.Join(errs...)
}

// CheckPublishFormat is Document.CheckPublishFormat under DefaultOptions.
func CheckPublishFormat(pfi *byte, contentType string, payload []byte) error {
	return defaultDoc.CheckPublishFormat(pfi, contentType, payload)
}

func (d Document) mediaTypeNames() []string {
	out := make([]string, len(d.MediaTypes))
	for i, m := range d.MediaTypes {
		out[i] = m.MediaType
	}
	return out
}

// MQTTSessionRetryRule is the retry rule of CONNECT, SUBSCRIBE and
// UNSUBSCRIBE after a Retry-Yes reason code (Options.MQTTSessionRetryRule,
// register I-140). Invariant: it is an applicable Table 7-25 upload rule.
func (d Document) MQTTSessionRetryRule() RetryRule {
	r, _ := d.RetryRuleFor(d.Options.MQTTSessionRetryRule)
	return r
}

// MQTTSessionRetryRule is Document.MQTTSessionRetryRule under DefaultOptions.
func MQTTSessionRetryRule() RetryRule { return defaultDoc.MQTTSessionRetryRule() }

// MQTTUploadRetryRule is the Table 7-25 rule of a data upload over MQTT:
// real-time required or not.
func (d Document) MQTTUploadRetryRule(realTime bool) RetryRule {
	id := "mqtt-upload-non-realtime"
	if realTime {
		id = "mqtt-upload-realtime"
	}
	r, _ := d.RetryRuleFor(id)
	return r
}

// MQTTUploadRetryRule is Document.MQTTUploadRetryRule under DefaultOptions.
func MQTTUploadRetryRule(realTime bool) RetryRule { return defaultDoc.MQTTUploadRetryRule(realTime) }

// MQTTAckTimeout is Document.MQTTAckTimeout under DefaultOptions.
func MQTTAckTimeout(packet string) (time.Duration, bool) { return defaultDoc.MQTTAckTimeout(packet) }
