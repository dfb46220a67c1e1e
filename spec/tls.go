package spec

import (
	"slices"
	"time"
)

// TLSRule is one textual TLS rule (7.1.1.1, 7.1.1.3, 7.1.1.5). Invariant: ID
// is unique among TLSBasics() and Clause names the seed clause it states.
type TLSRule struct {
	ID              string   `yaml:"id" json:"id"`
	Clause          string   `yaml:"clause" json:"clause"`
	Row             string   `yaml:"row" json:"row"`
	Rule            string   `yaml:"rule" json:"rule"`
	Value           string   `yaml:"value" json:"value"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// CipherSuite is one row of Table 7-1 (7.1.1.2.1). Invariant: Priority is
// the seed's priority (1 is the highest) or 0 where the seed gives none;
// Allowed says whether a negotiated suite of this name conforms under the
// Options in force (I-010); IANA is the TLS 1.3 code point.
type CipherSuite struct {
	Name            string   `yaml:"name" json:"name"`
	IANA            uint16   `yaml:"iana" json:"iana"`
	Priority        int      `yaml:"priority" json:"priority"`
	Enc             string   `yaml:"enc" json:"enc"`
	Mac             string   `yaml:"mac" json:"mac"`
	Allowed         bool     `yaml:"-" json:"allowed"`
	Clause          string   `yaml:"clause" json:"clause"`
	Row             string   `yaml:"row" json:"row"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// KeyExchange is one key-exchange rule of 7.1.1.2.2. Invariant: MinBits is
// the seed's minimum; Groups lists the TLS 1.3 named groups that meet it
// (I-022), so a negotiated group conforms iff some rule lists it.
type KeyExchange struct {
	Method          string   `yaml:"method" json:"method"`
	MinBits         int      `yaml:"min_bits" json:"min_bits"`
	Groups          []string `yaml:"groups" json:"groups"`
	Clause          string   `yaml:"clause" json:"clause"`
	Row             string   `yaml:"row" json:"row"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// Signature is one signature method of 7.1.1.2.3. Invariant: Schemes are the
// TLS SignatureScheme names that realise it; all methods must be kept usable.
type Signature struct {
	Name            string   `yaml:"name" json:"name"`
	Family          string   `yaml:"family" json:"family,omitempty"`
	Schemes         []string `yaml:"schemes" json:"schemes"`
	MinBits         int      `yaml:"min_bits" json:"min_bits,omitempty"`
	Clause          string   `yaml:"clause" json:"clause"`
	Row             string   `yaml:"row" json:"row"`
	Interpretations []string `yaml:"interpretations" json:"interpretations,omitempty"`
}

// TLSSession holds the session rules of 7.1.1.4. Invariant: SessionTimeout
// (spec time) equals SessionTimeoutS seconds; EarlyData is false (no 0-RTT).
type TLSSession struct {
	Resumption         string        `yaml:"resumption" json:"resumption"`
	PSKKeyExchangeMode string        `yaml:"psk_key_exchange_mode" json:"psk_key_exchange_mode"`
	EarlyData          bool          `yaml:"early_data" json:"early_data"`
	SessionTimeoutS    float64       `yaml:"session_timeout_s" json:"session_timeout_s"`
	SessionTimeout     time.Duration `yaml:"-" json:"-"`
	SIGPIPENote        string        `yaml:"sigpipe_note" json:"sigpipe_note"`
	Clause             string        `yaml:"clause" json:"clause"`
	Row                string        `yaml:"row" json:"row"`
}

// TLSSessionTimeout is the TLS session lifetime of 7.1.1.4, in spec time.
// Invariant: equals TLSSessionRules().SessionTimeout.
const TLSSessionTimeout = 12 * time.Hour

// Discard values of TLSScenario.Discard.
const (
	DiscardCertificate = "certificate" // "Discard acquired certificate immediately."
	DiscardCRL         = "crl"         // "Discard acquired CRL immediately."
	DiscardNothing     = "nothing"     // the row says nothing about discarding
)

// TLSScenario is one row of Table 7-4 (server authentication at the in-car
// unit) or Table 7-5 (client authentication at the center), clause 7.1.1.7.
//
// Invariants: Table is "T7-4" or "T7-5"; Row is the row letter. Retry is
// false iff the seed's Retry cell is "None", and then RetryCount is 0.
// RetryCount counts retries after the first attempt; RetryCountStated is
// false only for T7-4 row I ("X times"), whose count comes from
// Options.ServerAuthRowIRetries (I-006). RetryIntervalS and TimeoutS are spec
// seconds, 0 where the row gives none. Discard is one of the Discard*
// constants, as written; DiscardReading is set where the register reads it
// differently (I-021). RetryText and Termination are the seed's cells.
type TLSScenario struct {
	Table            string   `json:"table"`
	Row              string   `json:"row"`
	Title            string   `json:"title"`
	Retry            bool     `json:"retry"`
	RetryIntervalS   float64  `json:"retry_interval_s"`
	RetryCount       int      `json:"retry_count"`
	RetryCountStated bool     `json:"retry_count_stated"`
	TimeoutS         float64  `json:"timeout_s"`
	RetryText        string   `json:"retry_text"`
	Termination      string   `json:"termination"`
	Discard          string   `json:"discard"`
	DiscardReading   string   `json:"discard_reading,omitempty"`
	Clause           string   `json:"clause"`
	Interpretations  []string `json:"interpretations,omitempty"`
}

// RetryInterval returns RetryIntervalS as spec time.
func (s TLSScenario) RetryInterval() time.Duration { return seconds(s.RetryIntervalS) }

// Timeout returns TimeoutS as spec time (0: the row states no timeout).
func (s TLSScenario) Timeout() time.Duration { return seconds(s.TimeoutS) }

// ID returns "T7-4 A" style identifiers, unique across both tables.
func (s TLSScenario) ID() string { return s.Table + " " + s.Row }

// TLSBasics returns the textual TLS rules (7.1.1.1, 7.1.1.3, 7.1.1.5) under DefaultOptions.
func TLSBasics() []TLSRule { return cloneRows(defaultDoc.TLSBasics) }

// CipherSuites returns Table 7-1 in seed order under DefaultOptions.
func CipherSuites() []CipherSuite { return cloneRows(defaultDoc.CipherSuites) }

// KeyExchanges returns the key-exchange rules of 7.1.1.2.2.
func KeyExchanges() []KeyExchange { return cloneRows(defaultDoc.KeyExchange) }

// Signatures returns the signature methods of 7.1.1.2.3.
func Signatures() []Signature { return cloneRows(defaultDoc.Signatures) }

// TLSSessionRules returns the session rules of 7.1.1.4.
func TLSSessionRules() TLSSession { return defaultDoc.TLSSession }

// TLSServerAuth returns Table 7-4 rows A..L in order under DefaultOptions.
func TLSServerAuth() []TLSScenario { return cloneRows(defaultDoc.TLSServerAuth) }

// TLSClientAuth returns Table 7-5 rows A..M in order under DefaultOptions.
func TLSClientAuth() []TLSScenario { return cloneRows(defaultDoc.TLSClientAuth) }

// TLSScenarioFor returns the row of table "T7-4" or "T7-5" with the given
// letter; ok is false if there is none.
func (d Document) TLSScenarioFor(table, row string) (TLSScenario, bool) {
	rows := d.TLSServerAuth
	if table == "T7-5" {
		rows = d.TLSClientAuth
	} else if table != "T7-4" {
		return TLSScenario{}, false
	}
	for _, r := range rows {
		if r.Row == row {
			return clone(r), true
		}
	}
	return TLSScenario{}, false
}

// CipherSuiteAllowed reports whether a negotiated TLS 1.3 cipher suite
// (IANA code point) conforms to Table 7-1 under this Document's options.
func (d Document) CipherSuiteAllowed(iana uint16) bool {
	return slices.ContainsFunc(d.CipherSuites, func(c CipherSuite) bool { return c.IANA == iana && c.Allowed })
}

// GroupAllowed reports whether a negotiated key-exchange group (by its
// RFC 8446 name, e.g. "secp384r1") meets 7.1.1.2.2.
func (d Document) GroupAllowed(group string) bool {
	for _, k := range d.KeyExchange {
		if slices.Contains(k.Groups, group) {
			return true
		}
	}
	return false
}
