package spec

import (
	"errors"
	"fmt"
	"mime"
	"regexp"
	"strings"
)

// MediaType is one supported media type of 7.2.2.3 / 7.2.5.3. Invariant:
// MediaType is lower case; matching is case-insensitive (RFC 6838).
type MediaType struct {
	MediaType string   `yaml:"media_type" json:"media_type"`
	Format    string   `yaml:"format" json:"format"`
	Clauses   []string `yaml:"clauses" json:"clauses"`
	Row       string   `yaml:"row" json:"row"`
}

// ProductPart is one part of the User-Agent product identifier (7.2.2.3).
type ProductPart struct {
	Part     string `yaml:"part" json:"part"`
	Required bool   `yaml:"required" json:"required"`
	Rule     string `yaml:"rule" json:"rule"`
}

// UserAgentRules are the header rules of 7.2.2.3 (HTTP/2 by 7.2.3.3).
// Invariant: VehicleIDHeader is the custom header carrying the vehicle
// identifier under the Options in force (I-038).
type UserAgentRules struct {
	Clause                    string        `yaml:"clause" json:"clause"`
	ProductIdentifier         []ProductPart `yaml:"product_identifier" json:"product_identifier"`
	ForbiddenContent          []string      `yaml:"forbidden_content" json:"forbidden_content"`
	NoApplicationSpecificInfo bool          `yaml:"no_application_specific_info" json:"no_application_specific_info"`
	VehicleIDHeader           string        `yaml:"vehicle_id_header" json:"vehicle_id_header"`
	ForbiddenHeaderExamples   []string      `yaml:"forbidden_header_examples" json:"forbidden_header_examples"`
	Rules                     []Rule        `yaml:"rules" json:"rules"`
}

// MediaTypes returns the four supported media types of 7.2.2.3/7.2.5.3 in
// seed order, lower case.
func MediaTypes() []string {
	out := make([]string, len(defaultDoc.MediaTypes))
	for i, m := range defaultDoc.MediaTypes {
		out[i] = m.MediaType
	}
	return out
}

// IsMediaType reports whether a Content-Type value names a supported media
// type, ignoring case (RFC 6838) and parameters such as "; charset=utf-8".
func IsMediaType(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return false
	}
	for _, m := range defaultDoc.MediaTypes {
		if mt == m.MediaType {
			return true
		}
	}
	return false
}

var (
	uaToken   = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+(/[!#$%&'*+.^_`|~0-9A-Za-z-]+)?$")
	uaIMEI    = regexp.MustCompile(`(^|[^0-9])[0-9]{15,16}([^0-9]|$)`)
	uaGUID    = regexp.MustCompile(`[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}`)
	uaTCON    = regexp.MustCompile(`(?i)tcon`)
	hmacHdrRe = regexp.MustCompile(`(?i)^x-[a-z0-9]+-(authenticate|authentication)$`)
)

// ErrUserAgent is wrapped by every error CheckUserAgent returns.
var ErrUserAgent = errors.New("User-Agent violates 7.2.2.3")

// CheckUserAgent checks a User-Agent value against 7.2.2.3 (I-039): it must
// start with an RFC 7231 product token (the information management key,
// optionally "/version"), be made of products and comments only, and carry
// nothing that looks like an IMEI (15-16 digit run), a GUID or a TCON id.
// It returns nil iff no rule is violated; the error lists every violation.
func CheckUserAgent(ua string) error {
	var bad []string
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return fmt.Errorf("%w: empty (the information management key is always required)", ErrUserAgent)
	}
	rest := ua
	first := true
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		if rest[0] == '(' {
			if first {
				bad = append(bad, "starts with a comment, not a product identifier")
				first = false
			}
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				bad = append(bad, "unterminated comment")
				break
			}
			rest = rest[end+1:]
			continue
		}
		i := strings.IndexAny(rest, " \t(")
		tok := rest
		if i >= 0 {
			tok, rest = rest[:i], rest[i:]
		} else {
			rest = ""
		}
		if !uaToken.MatchString(tok) {
			bad = append(bad, fmt.Sprintf("%q is not a product token", tok))
		}
		first = false
	}
	if uaIMEI.MatchString(ua) {
		bad = append(bad, "contains a 15/16-digit number (IMEI?)")
	}
	if uaGUID.MatchString(ua) {
		bad = append(bad, "contains a GUID")
	}
	if uaTCON.MatchString(ua) {
		bad = append(bad, "contains TCON")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrUserAgent, strings.Join(bad, "; "))
	}
	return nil
}

// IsProprietaryAuthHeader reports whether a header field name is a
// proprietary HMAC authentication field of the kind 7.2.2.3 forbids
// (X-<word>-Authenticate, X-<word>-Authentication, any case).
func IsProprietaryAuthHeader(name string) bool { return hmacHdrRe.MatchString(name) }
