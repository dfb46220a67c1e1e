package spec

import (
	"math"
	"time"
)

// Silence values of HTTPStatus.Silence (Table 7-8, codes 567 and 568; I-009).
const (
	SilenceNone      = ""            // no silence: the code has no special action
	SilenceUntilIGOn = "until-ig-on" // no communication until the next IG ON
	SilenceFor       = "for-duration"
)

// HTTPStatus is one row of Table 7-8 (7.2.2.4; HTTP/2 by 7.2.3.4).
//
// Invariants: Code is unique; Reason is the seed's reason phrase (OCR
// artefacts corrected, I-030); Class is the seed's class column carried down.
// Retry is what the retry engine must do under the Options in force;
// RetryStated is true only where the seed's own row carries the Retry value,
// otherwise the value is the reading of I-008 (or an override). RollBack is
// true for 400/404/408/409 (7.2.2.4), which never retry. Silence is one of
// the Silence* constants; SilenceS/SilenceDuration (spec time) are non-zero
// iff Silence == SilenceFor. Row is "T7-8 <code>".
type HTTPStatus struct {
	Code            int           `yaml:"code" json:"code"`
	Reason          string        `yaml:"reason" json:"reason"`
	Class           string        `yaml:"class" json:"class"`
	Retry           bool          `yaml:"retry" json:"retry"`
	RetryStated     bool          `yaml:"retry_stated" json:"retry_stated"`
	RetryOverridden bool          `yaml:"-" json:"retry_overridden,omitempty"`
	RollBack        bool          `yaml:"rollback" json:"rollback"`
	Silence         string        `yaml:"silence" json:"silence,omitempty"`
	SilenceS        float64       `yaml:"silence_s" json:"silence_s,omitempty"`
	SilenceDuration time.Duration `yaml:"-" json:"-"`
	Clause          string        `yaml:"clause" json:"clause"`
	Row             string        `yaml:"row" json:"row"`
	Interpretations []string      `yaml:"interpretations" json:"interpretations,omitempty"`
}

// Rule is one textual rule with its clause. Invariant: ID is unique within
// its list; Codes lists the status codes the rule names, if any.
type Rule struct {
	ID              string   `yaml:"id" json:"id"`
	Clause          string   `yaml:"clause" json:"clause"`
	Row             string   `yaml:"row" json:"row"`
	Rule            string   `yaml:"rule" json:"rule"`
	Codes           []int    `yaml:"codes" json:"codes,omitempty"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// ResponseTimeout is the HTTP response timeout of 7.2.2.5 (HTTP/2 by
// 7.2.3.5). Invariant: Timeout (spec time) equals TimeoutS seconds; the timer
// excludes connection set-up (line connection, TCP, TLS) and does not apply
// to bulk uploads/downloads (I-032).
type ResponseTimeout struct {
	TimeoutS                   float64       `yaml:"timeout_s" json:"timeout_s"`
	Timeout                    time.Duration `yaml:"-" json:"-"`
	ExcludesConnectionSetup    bool          `yaml:"excludes_connection_setup" json:"excludes_connection_setup"`
	ExcludesBulkTransfer       bool          `yaml:"excludes_bulk_transfer" json:"excludes_bulk_transfer"`
	ExtendIntervalAfterTimeout bool          `yaml:"extend_interval_after_timeout" json:"extend_interval_after_timeout"`
	Clause                     string        `yaml:"clause" json:"clause"`
	Row                        string        `yaml:"row" json:"row"`
	Interpretations            []string      `yaml:"interpretations" json:"interpretations,omitempty"`
}

// HTTPResponseTimeout is the default response timeout of 7.2.2.5 in spec
// time. Invariant: equals the data file's value (tested); Options may
// override it per DUT (Document.HTTPResponseTimeout).
const HTTPResponseTimeout = 60 * time.Second

// HTTP2Conformity records an HTTP/2 clause that says "Conform to HTTP/1.1
// specification (ConformsTo)". Invariant: the HTTP/1.1 rules of ConformsTo
// apply unchanged to HTTP/2.
type HTTP2Conformity struct {
	Clause          string   `yaml:"clause" json:"clause"`
	ConformsTo      string   `yaml:"conforms_to" json:"conforms_to"`
	Topic           string   `yaml:"topic" json:"topic"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// RetryRule is one row of the retry table of 7.2.2.6 (HTTP/1.1, HTTP/2 and,
// by I-025, gRPC) or Table 7-25 (MQTT, 7.2.5.6).
//
// Invariants: ID is unique ("upload-realtime", "upload-non-realtime",
// "download", and the "mqtt-" prefixed rows of T7-25). Retries counts retries
// after the first attempt. Interval is spec time and equals IntervalS
// seconds. Applicable is false where the seed says N/A; then Retries and
// Interval are 0 and no retry is performed.
type RetryRule struct {
	ID              string        `yaml:"id" json:"id"`
	UseCase         string        `yaml:"use_case" json:"use_case"`
	RealTime        bool          `yaml:"real_time" json:"real_time"`
	Applicable      bool          `yaml:"applicable" json:"applicable"`
	Retries         int           `yaml:"retries" json:"retries"`
	IntervalS       float64       `yaml:"interval_s" json:"interval_s"`
	Interval        time.Duration `yaml:"-" json:"-"`
	Protocols       []string      `yaml:"protocols" json:"protocols"`
	Clause          string        `yaml:"clause" json:"clause"`
	Table           string        `yaml:"table" json:"table"`
	Row             string        `yaml:"row" json:"row"`
	Interpretations []string      `yaml:"interpretations" json:"interpretations,omitempty"`
}

// TimeoutBackoff is the reading of "extend the retransmission interval"
// after timeouts (7.2.2.5, 7.2.5.5; I-016). Invariant: Factor >= 1 and
// Cap (spec time) equals CapS seconds.
type TimeoutBackoff struct {
	Factor          float64       `yaml:"factor" json:"factor"`
	CapS            float64       `yaml:"cap_s" json:"cap_s"`
	Cap             time.Duration `yaml:"-" json:"-"`
	Clauses         []string      `yaml:"clauses" json:"clauses"`
	Interpretations []string      `yaml:"interpretations" json:"interpretations,omitempty"`
}

// HTTPStatuses returns Table 7-8 in the seed's row order under DefaultOptions.
func HTTPStatuses() []HTTPStatus { return cloneRows(defaultDoc.HTTPStatus) }

// HTTPStatusFor returns the Table 7-8 row of code under DefaultOptions; ok is
// false for a code the table does not list (such as 429, I-017).
func HTTPStatusFor(code int) (HTTPStatus, bool) { return defaultDoc.HTTPStatusFor(code) }

// RetryRules returns the retry rows of 7.2.2.6 then Table 7-25.
func RetryRules() []RetryRule { return cloneRows(defaultDoc.RetryRules) }

// RetryRuleFor returns the retry rule with the given ID; ok is false if none.
func RetryRuleFor(id string) (RetryRule, bool) { return defaultDoc.RetryRuleFor(id) }

// HTTPStatusFor returns the Table 7-8 row of code with this Document's
// overrides applied; ok is false for a code the table does not list.
func (d Document) HTTPStatusFor(code int) (HTTPStatus, bool) {
	for _, s := range d.HTTPStatus {
		if s.Code == code {
			return clone(s), true
		}
	}
	return HTTPStatus{}, false
}

// HTTPRetry reports whether a response with this status code must be
// retried. Invariant: codes Table 7-8 does not list are never retried
// unless Options.HTTPRetry says so (I-017).
func (d Document) HTTPRetry(code int) bool {
	if s, ok := d.HTTPStatusFor(code); ok {
		return s.Retry
	}
	return d.Options.HTTPRetry[code]
}

// RetryRuleFor returns the retry rule with the given ID; ok is false if none.
func (d Document) RetryRuleFor(id string) (RetryRule, bool) {
	for _, r := range d.RetryRules {
		if r.ID == id {
			return clone(r), true
		}
	}
	return RetryRule{}, false
}

// HTTPResponseTimeout returns the response timeout of 7.2.2.5 (spec time)
// under this Document's options.
func (d Document) HTTPResponseTimeout() time.Duration { return d.HTTPTimeout.Timeout }

// RetransmissionInterval returns the interval to wait before the next
// retransmission after `timeouts` consecutive timeouts (7.2.2.5, 7.2.5.5;
// I-016): base * Factor^timeouts, never above Cap and never below base.
// With timeouts <= 0 it returns base. All values are spec time.
func (d Document) RetransmissionInterval(base time.Duration, timeouts int) time.Duration {
	if timeouts <= 0 || base <= 0 {
		return base
	}
	b := d.TimeoutBackoff
	v := float64(base) * math.Pow(b.Factor, float64(timeouts))
	if b.Cap > 0 && (v > float64(b.Cap) || math.IsInf(v, 1) || math.IsNaN(v)) {
		v = float64(b.Cap)
	}
	if v < float64(base) {
		return base
	}
	if v > float64(math.MaxInt64) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(v)
}

// RetransmissionInterval is Document.RetransmissionInterval under DefaultOptions.
func RetransmissionInterval(base time.Duration, timeouts int) time.Duration {
	return defaultDoc.RetransmissionInterval(base, timeouts)
}
