package spec

import (
	"bufio"
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// SeedInfo names the seed the tables are transcribed from.
type SeedInfo struct {
	File    string `json:"file"`
	Title   string `json:"title"`
	Version string `json:"version"`
}

// Seed is the core seed this package transcribes.
var Seed = SeedInfo{
	File:    "000_f552bc2a06c36321.txt",
	Title:   "Common Specification for the Communication Interface between In-Car and Out-Car",
	Version: "1.2",
}

// Document is every table and rule of the seed under one set of Options, as
// served to callers and printed by "icoc spec". Invariants: each row carries
// its clause and row ID; every Interpretations ID names an entry of the
// register; a Document from Resolve is a deep copy, so changing it affects no
// other caller.
type Document struct {
	Seed              SeedInfo          `json:"seed"`
	Options           Options           `json:"options"`
	TLSBasics         []TLSRule         `json:"tls_basics"`
	CipherSuites      []CipherSuite     `json:"cipher_suites"`
	KeyExchange       []KeyExchange     `json:"key_exchange"`
	Signatures        []Signature       `json:"signatures"`
	TLSSession        TLSSession        `json:"tls_session"`
	TLSServerAuth     []TLSScenario     `json:"tls_server_auth"`
	TLSClientAuth     []TLSScenario     `json:"tls_client_auth"`
	HTTPStatus        []HTTPStatus      `json:"http_status"`
	HTTPRules         []Rule            `json:"http_rules"`
	HTTPTimeout       ResponseTimeout   `json:"http_response_timeout"`
	HTTP2Conformance  []HTTP2Conformity `json:"http2_conformance"`
	SessionCookieName string            `json:"session_cookie_name"`
	RetryRules        []RetryRule       `json:"retry_rules"`
	TimeoutBackoff    TimeoutBackoff    `json:"timeout_backoff"`
	GRPCStatus        []GRPCStatus      `json:"grpc_status"`
	GRPC              GRPCRules         `json:"grpc"`
	MQTTReason        MQTTReasonTables  `json:"mqtt_reason"`
	MQTTAckTimeouts   []AckTimeout      `json:"mqtt_ack_timeouts"`
	MQTTTopics        MQTTTopics        `json:"mqtt_topics"`
	MQTTRules         []Rule            `json:"mqtt_rules"`
	// MQTTPayloadFormats are the Payload Format Indicator values of 7.2.5.3.
	MQTTPayloadFormats []PayloadFormat  `json:"mqtt_payload_formats"`
	MediaTypes         []MediaType      `json:"media_types"`
	UserAgent          UserAgentRules   `json:"user_agent"`
	Ports              []Port           `json:"ports"`
	DataFormat         DataFormat       `json:"data_format"`
	FileName           FileNameRules    `json:"file_name"`
	VehicleID          VehicleIDRule    `json:"vehicle_id"`
	Interpretations    []Interpretation `json:"interpretations"`
}

// All returns every table under DefaultOptions (a deep copy).
func All() Document { return clone(defaultDoc) }

// Resolve returns every table with the readings of o applied. It fails iff
// o.Validate fails.
func Resolve(o Options) (Document, error) {
	if err := o.Validate(); err != nil {
		return Document{}, err
	}
	r := clone(*base)
	d := Document{
		Seed:              Seed,
		Options:           clone(o),
		TLSBasics:         r.TLS.Basics,
		CipherSuites:      r.TLS.CipherSuites,
		KeyExchange:       r.TLS.KeyExchange,
		Signatures:        r.TLS.Signatures,
		TLSSession:        r.TLS.Session,
		HTTPStatus:        r.HTTP.Status,
		HTTPRules:         r.HTTP.Rules,
		HTTPTimeout:       r.HTTP.ResponseTimeout,
		HTTP2Conformance:  r.HTTP.HTTP2Conformance,
		SessionCookieName: o.SessionCookieName,
		RetryRules:        r.Retry.Rules,
		TimeoutBackoff:    r.Retry.TimeoutBackoff,
		GRPCStatus:        r.GRPC.Status,
		GRPC: GRPCRules{
			ContentType:       r.GRPC.ContentType,
			UserAgent:         r.GRPC.UserAgent,
			VehicleIDMetadata: r.GRPC.VehicleIDMetadata,
			MinVersion:        r.GRPC.MinVersion,
			SplitSizeBytes:    r.GRPC.SplitSizeBytes,
			SplitMinBytes:     r.GRPC.SplitMinBytes,
			SplitMaxBytes:     r.GRPC.SplitMaxBytes,
			AppDataMaxBytes:   r.GRPC.AppDataMaxBytes,
			AppStatus:         r.GRPC.AppStatus,
			RetryAfterRule:    r.GRPC.RetryAfterRule,
			Services:          r.GRPC.Services,
			SizeLimits:        r.GRPC.SizeLimits,
			Clause:            "7.2.4",
		},
		MQTTReason:         r.MQTT.Reason,
		MQTTAckTimeouts:    r.MQTT.AckTimeouts,
		MQTTTopics:         MQTTTopics{Style: o.MQTTTopicStyle, Forms: r.MQTT.Topics},
		MQTTRules:          r.MQTT.Rules,
		MQTTPayloadFormats: r.MQTT.PayloadFormats,
		MediaTypes:         r.Headers.MediaTypes,
		UserAgent:          r.Headers.UserAgent,
		Ports:              r.Config.Ports,
		DataFormat:         r.Config.DataFormat,
		FileName:           r.Config.FileName,
		VehicleID:          r.Config.VehicleID,
	}
	var err error
	if d.Interpretations, err = parseRegister(); err != nil {
		return Document{}, err
	}

	// TLS.
	for i := range d.TLSBasics {
		if d.TLSBasics[i].ID == "ocsp-stapling-vehicle" && !o.OCSPStapling {
			d.TLSBasics[i].Value = "not-used"
		}
	}
	for i := range d.CipherSuites {
		c := &d.CipherSuites[i]
		c.Allowed = c.Priority > 0 || o.AllowChaCha20
	}
	d.TLSSession.SessionTimeout = seconds(d.TLSSession.SessionTimeoutS)
	if d.TLSServerAuth, err = scenarios("T7-4", r.Abnormal.ServerAuth, o); err != nil {
		return Document{}, err
	}
	if d.TLSClientAuth, err = scenarios("T7-5", r.Abnormal.ClientAuth, o); err != nil {
		return Document{}, err
	}

	// HTTP.
	for i := range d.HTTPStatus {
		s := &d.HTTPStatus[i]
		if v, ok := o.HTTPRetry[s.Code]; ok {
			s.Retry, s.RetryOverridden = v, true
		}
		s.SilenceDuration = seconds(s.SilenceS)
	}
	d.HTTPTimeout.TimeoutS = o.HTTPResponseTimeoutS
	d.HTTPTimeout.Timeout = seconds(o.HTTPResponseTimeoutS)
	for i := range d.RetryRules {
		d.RetryRules[i].Interval = seconds(d.RetryRules[i].IntervalS)
	}
	d.TimeoutBackoff.Factor = o.TimeoutBackoffFactor
	d.TimeoutBackoff.CapS = o.TimeoutBackoffCapS
	d.TimeoutBackoff.Cap = seconds(o.TimeoutBackoffCapS)
	d.UserAgent.VehicleIDHeader = o.VehicleIDHeader

	// gRPC.
	for i := range d.GRPCStatus {
		s := &d.GRPCStatus[i]
		if v, ok := o.GRPCRetry[s.Code]; ok {
			s.Retry, s.RetryOverridden = v, true
		}
	}

	// MQTT.
	for i := range d.MQTTAckTimeouts {
		a := &d.MQTTAckTimeouts[i]
		if !a.Stated && a.Packet == "UNSUBACK" {
			a.TimeoutS = o.MQTTUnsubackTimeoutS
		}
		a.Timeout = seconds(a.TimeoutS)
	}

	// Configuration, data format, file names, vehicle id.
	for i := range d.Ports {
		if d.Ports[i].Protocol == ProtoHTTP2 {
			d.Ports[i].Port = o.HTTP2Port
		}
	}
	d.DataFormat.GzipThresholdBytes = o.GzipThresholdBytes
	d.FileName.RequestIDInvalidLength = o.RequestIDInvalidLength
	if o.Triggers == "*" {
		d.FileName.AnyTrigger = true
	} else {
		var ts []Trigger
		for _, c := range o.Triggers {
			t := Trigger{ID: string(c), Meaning: "(profile)"}
			for _, k := range d.FileName.Triggers {
				if k.ID == t.ID {
					t = k
				}
			}
			ts = append(ts, t)
		}
		d.FileName.Triggers = ts
	}
	d.VehicleID.Length = o.VehicleIDLength

	if err := d.check(); err != nil {
		return Document{}, err
	}
	return d, nil
}

func scenarios(table string, raw []rawScenario, o Options) ([]TLSScenario, error) {
	out := make([]TLSScenario, 0, len(raw))
	for _, r := range raw {
		s := TLSScenario{
			Table: table, Row: r.Row, Title: r.Title, Retry: r.Retry,
			RetryIntervalS: r.RetryIntervalS, TimeoutS: r.TimeoutS,
			RetryText: r.RetryText, Termination: r.Termination,
			Discard: r.Discard, DiscardReading: r.DiscardReading,
			Clause: "7.1.1.7", Interpretations: r.Interpretations,
		}
		if r.RetryCount != nil {
			s.RetryCount, s.RetryCountStated = *r.RetryCount, true
		} else {
			if table != "T7-4" || r.Row != "I" {
				return nil, fmt.Errorf("spec: %s %s: retry_count missing", table, r.Row)
			}
			s.RetryCount = o.ServerAuthRowIRetries
		}
		switch s.Discard {
		case DiscardCertificate, DiscardCRL, DiscardNothing:
		default:
			return nil, fmt.Errorf("spec: %s %s: discard %q", table, r.Row, s.Discard)
		}
		out = append(out, s)
	}
	return out, nil
}

// check verifies the invariants the types document.
func (d Document) check() error {
	known := map[string]bool{}
	for _, in := range d.Interpretations {
		known[in.ID] = true
	}
	var errs []string
	refs := func(where string, ids []string) {
		for _, id := range ids {
			if !known[id] {
				errs = append(errs, where+": unknown interpretation "+id)
			}
		}
	}
	seen := map[string]bool{}
	uniq := func(key string) {
		if seen[key] {
			errs = append(errs, "duplicate "+key)
		}
		seen[key] = true
	}
	for _, s := range d.HTTPStatus {
		uniq(fmt.Sprint("http ", s.Code))
		refs(s.Row, s.Interpretations)
		if s.Clause == "" || s.Row != fmt.Sprint("T7-8 ", s.Code) {
			errs = append(errs, fmt.Sprintf("http %d: clause/row", s.Code))
		}
		if (s.Silence == SilenceFor) != (s.SilenceS > 0) {
			errs = append(errs, fmt.Sprintf("http %d: silence", s.Code))
		}
	}
	for _, s := range d.GRPCStatus {
		uniq(fmt.Sprint("grpc ", s.Code))
		refs(s.Row, s.Interpretations)
		if s.Row != fmt.Sprint("T7-20 ", s.Code) {
			errs = append(errs, fmt.Sprintf("grpc %d: row", s.Code))
		}
	}
	for _, p := range []string{"CONNACK", "PUBACK", "SUBACK", "UNSUBACK"} {
		for _, m := range d.MQTTReason.Table(p) {
			uniq(fmt.Sprint(p, m.Code))
			refs(m.Row, m.Interpretations)
			if m.Hex != fmt.Sprintf("0x%02X", m.Code) || m.Clause == "" {
				errs = append(errs, fmt.Sprintf("%s %d: hex/clause", p, m.Code))
			}
		}
	}
	for _, r := range d.RetryRules {
		uniq("retry " + r.ID)
		refs(r.Row, r.Interpretations)
		if !r.Applicable && (r.Retries != 0 || r.Interval != 0) {
			errs = append(errs, "retry "+r.ID+": N/A with values")
		}
	}
	for _, s := range append(d.TLSServerAuth, d.TLSClientAuth...) {
		uniq(s.ID())
		refs(s.ID(), s.Interpretations)
		if !s.Retry && s.RetryCount != 0 {
			errs = append(errs, s.ID()+": no retry but a count")
		}
	}
	for _, c := range d.CipherSuites {
		refs(c.Row, c.Interpretations)
	}
	for _, k := range d.KeyExchange {
		refs(k.Row, k.Interpretations)
	}
	for _, s := range d.Signatures {
		refs(s.Row, s.Interpretations)
	}
	for _, b := range d.TLSBasics {
		refs(b.Row, b.Interpretations)
	}
	for _, r := range append(d.HTTPRules, append(d.MQTTRules, d.UserAgent.Rules...)...) {
		refs(r.Row, r.Interpretations)
	}
	for _, a := range d.MQTTAckTimeouts {
		refs(a.Row, a.Interpretations)
	}
	for _, f := range d.MQTTPayloadFormats {
		uniq(fmt.Sprint("pfi ", f.Value))
		if f.Hex != fmt.Sprintf("0x%02X", f.Value) || f.Clause != "7.2.5.3" {
			errs = append(errs, fmt.Sprintf("pfi %d: hex/clause", f.Value))
		}
	}
	if _, ok := d.RetryRuleFor(d.Options.MQTTSessionRetryRule); !ok {
		errs = append(errs, "mqtt_session_retry_rule "+d.Options.MQTTSessionRetryRule+": no such retry rule")
	}
	for _, t := range d.MQTTTopics.Forms {
		uniq("topic " + t.ID)
		refs(t.Row, t.Interpretations)
	}
	for _, p := range d.Ports {
		refs(p.Row, p.Interpretations)
	}
	for _, h := range d.HTTP2Conformance {
		refs(h.Clause, h.Interpretations)
	}
	refs("http_response_timeout", d.HTTPTimeout.Interpretations)
	refs("timeout_backoff", d.TimeoutBackoff.Interpretations)
	refs("grpc content type", d.GRPC.ContentType.Interpretations)
	refs("grpc vehicle id", d.GRPC.VehicleIDMetadata.Interpretations)
	for i, a := range d.GRPC.AppStatus {
		refs(a.Row, a.Interpretations)
		if a.Value != i || a.RetryAfter != (a.Name == "RETRYAFTER") {
			errs = append(errs, fmt.Sprintf("grpc app status %d %s: value/retry_after", a.Value, a.Name))
		}
	}
	for _, sv := range d.GRPC.Services {
		uniq("grpc service " + sv.Path)
		refs(sv.Path, sv.Interpretations)
		if sv.Path != "/"+sv.Service+"/"+sv.Method || (sv.Streaming != "unary" && sv.Streaming != "client" && sv.Streaming != "server") {
			errs = append(errs, "grpc service "+sv.Path+": path/streaming")
		}
	}
	if g := d.GRPC; !(0 < g.SplitMinBytes && g.SplitMinBytes <= g.SplitSizeBytes && g.SplitSizeBytes <= g.SplitMaxBytes) {
		errs = append(errs, "grpc split sizes out of order")
	}
	refs("data_format", d.DataFormat.Interpretations)
	refs("file_name", d.FileName.Interpretations)
	refs("vehicle_id", d.VehicleID.Interpretations)
	if len(errs) > 0 {
		return fmt.Errorf("spec: data invariants: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Interpretation is one entry of the register INTERPRETATIONS.md.
// Invariant: ID matches I-NNN and is unique; Title is the entry's heading;
// Configurable is the entry's "Configurable:" line ("no" or where).
type Interpretation struct {
	ID           string `json:"id"`
	Title        string `json:"title"`
	Configurable string `json:"configurable"`
}

// Interpretations returns the register's entries in file order.
func Interpretations() []Interpretation { return cloneRows(defaultDoc.Interpretations) }

// Register returns the text of INTERPRETATIONS.md.
func Register() string {
	b, _ := files.ReadFile("INTERPRETATIONS.md")
	return string(b)
}

// parseRegister reads the "## I-NNN: Title" headings and the
// "**Configurable:**" line of each entry.
func parseRegister() ([]Interpretation, error) {
	b, err := files.ReadFile("INTERPRETATIONS.md")
	if err != nil {
		return nil, err
	}
	var out []Interpretation
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "## I-"); ok {
			id, title, ok := strings.Cut(rest, ":")
			if !ok {
				return nil, fmt.Errorf("spec: register heading %q: want \"## I-NNN: title\"", line)
			}
			out = append(out, Interpretation{ID: "I-" + id, Title: strings.TrimSpace(title)})
			continue
		}
		if rest, ok := strings.CutPrefix(line, "**Configurable:**"); ok && len(out) > 0 {
			out[len(out)-1].Configurable = strings.TrimSpace(rest)
		}
	}
	return out, nil
}

// seconds converts spec seconds to spec time.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// clone returns a deep copy of v (slices, maps, pointers and structs).
func clone[T any](v T) T {
	var out T
	deepCopy(reflect.ValueOf(&out).Elem(), reflect.ValueOf(v))
	return out
}

// cloneRows returns a deep copy of a slice.
func cloneRows[T any](s []T) []T { return clone(s) }

func cloneReasons(t MQTTReasonTables) MQTTReasonTables { return clone(t) }

func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			deepCopy(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		it := src.MapRange()
		for it.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			deepCopy(v, it.Value())
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		deepCopy(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Struct:
		if src.Type() == reflect.TypeOf(time.Time{}) {
			dst.Set(src)
			return
		}
		for i := 0; i < src.NumField(); i++ {
			if dst.Field(i).CanSet() {
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	default:
		dst.Set(src)
	}
}
