// Package httpcases holds the HTTP conformance specs (7.2.2, 7.2.3 and
// Appendix 1), written once and registered for each HTTP version by the
// suites in h1/ (HTTP/1.1) and h2/ (HTTP/2): 7.2.3.4 to 7.2.3.6 make HTTP/2
// conform to the HTTP/1.1 rules, so every spec runs over both. Files are
// named by clause. Every spec is judged on what the harness's center
// recorded on the wire.
package httpcases

import "github.com/icoc-dev/icoc/harness"

// Version is one HTTP version a suite runs over; the harness's center
// offers only its ALPN token, so a DUT that speaks both must use it.
type Version struct {
	// Name is "HTTP/1.1" or "HTTP/2"; it appears in every spec name.
	Name string
	// ALPN is the token the center offers (RFC 7301).
	ALPN string
	// Proto is the protocol the center sees on the request line.
	Proto string
	// Cap is the DUT capability the version needs.
	Cap   string
	Label harness.Label
}

// The two versions.
var (
	HTTP11 = Version{Name: "HTTP/1.1", ALPN: "http/1.1", Proto: "HTTP/1.1", Cap: "http1.1", Label: harness.HTTP1}
	HTTP2  = Version{Name: "HTTP/2", ALPN: "h2", Proto: "HTTP/2.0", Cap: "http2", Label: harness.HTTP2}
)

// suite is the specs of one version and the run they share.
type suite struct {
	run **harness.Run
	v   Version
}

func (s *suite) r() *harness.Run { return *s.run }

// Register adds every HTTP spec for version v to the calling test package's
// Ginkgo tree; the specs use the run SetUpSuite fills. Call it once, at
// package level.
func Register(run **harness.Run, v Version) bool {
	s := &suite{run: run, v: v}
	s.statusCodes()
	s.silences()
	s.timeouts()
	s.reasonPhrase()
	s.headers()
	s.sessions()
	s.alpn()
	s.upload()
	s.fileName()
	s.gzip()
	s.callsAndDownloads()
	s.push()
	s.centerDUT()
	return true
}

// QuirkCases pairs each quirk of the reference vehicle with the specs of
// version v that must catch it.
func QuirkCases(v Version) []harness.QuirkCase {
	var cases []harness.QuirkCase
	cases = append(cases, statusQuirks(v)...)
	cases = append(cases, silenceQuirks(v)...)
	cases = append(cases, timeoutQuirks(v)...)
	cases = append(cases, reasonPhraseQuirks(v)...)
	cases = append(cases, headerQuirks(v)...)
	cases = append(cases, sessionQuirks(v)...)
	cases = append(cases, alpnQuirks(v)...)
	cases = append(cases, gzipQuirks(v)...)
	cases = append(cases, callQuirks(v)...)
	cases = append(cases, pushQuirks(v)...)
	cases = append(cases, centerQuirks(v)...)
	cases = append(cases,
		harness.QuirkCase{Quirk: "corrupt-upload", Specs: []string{uploadIntactName(v)}},
		harness.QuirkCase{Quirk: "upper-extension", Specs: []string{fileNameName(v)}},
		harness.QuirkCase{Quirk: "request-id-hex", Specs: []string{fileNameName(v)}},
		harness.QuirkCase{Quirk: "local-time", Specs: []string{fileNameName(v)}},
		// A request ID in another form hides the upload from the specs
		// that pick attempts by it: they must say what did arrive.
		harness.QuirkCase{Quirk: "request-id-hex", Specs: []string{
			vehicleIDHeaderName(v), gzipCases[1].name(v), uploadIntactName(v), statusName(v, 503, true),
		}, MustSay: []string{"Expected:", "Actual:", "did arrive"}},
		// Every vehicle-DUT spec's nothing-arrived path must say what was
		// expected and what (nothing) arrived.
		harness.QuirkCase{Quirk: "mute", Specs: vehicleDUTSpecs(v), MustSay: []string{"Expected:", "Actual:"}},
	)
	return cases
}

// VariantCases pairs each variant of the reference vehicle (another choice
// a clause leaves open) with the specs of version v that must pass it.
func VariantCases(v Version) []harness.VariantCase {
	var cases []harness.VariantCase
	cases = append(cases, gzipVariants(v)...)
	cases = append(cases, timeoutVariants(v)...)
	cases = append(cases, silenceVariants(v)...)
	return cases
}

// vehicleDUTSpecs names every spec of version v that judges the vehicle
// and can run (not the specs that only report not applicable).
func vehicleDUTSpecs(v Version) []string {
	var out []string
	for _, c := range statusCases(v) {
		if c.notApplicable() == "" {
			out = append(out, c.name)
		}
	}
	out = append(out,
		harness.FormatName("7.2.2.4 T7-8 567", silence567Text(v)),
		harness.FormatName("7.2.2.4 T7-8 568", silence568Text(v)),
		harness.FormatName("7.2.2.5", timeoutText(v)),
		harness.FormatName("7.2.2.5", backoffText(v)),
		uploadIntactName(v),
		fileNameName(v),
		harness.FormatName("7.2.2.9.3", apiCallText(v)),
		harness.FormatName("7.2.2.6", apiRetryText(v)),
		harness.FormatName("7.2.2.9.4", downloadText(v)),
		harness.FormatName("7.2.2.6", downloadRetryText(v)),
	)
	for _, c := range headerCases {
		out = append(out, headerName(v, c))
	}
	for _, c := range sessionCases(v) {
		out = append(out, harness.FormatName(c.clause, c.text))
	}
	for _, c := range gzipCases {
		out = append(out, c.name(v))
	}
	if v == HTTP11 {
		out = append(out, harness.FormatName("7.2.2.4", reasonPhraseText(v)))
	} else {
		out = append(out, harness.FormatName("7.1.1.1", alpnText), harness.FormatName("7.2.3.9.2", pushText(v)))
	}
	return out
}

// NotApplicable names the specs of version v that only ever report "not
// applicable" and so have no quirk: the 1xx rows of Table 7-8 (I-054), the
// reason phrase over HTTP/2 (I-055), push over HTTP/1.1 (7.2.2.9.2).
func NotApplicable(v Version) []string {
	var out []string
	for _, c := range statusCases(v) {
		if c.notApplicable() != "" {
			out = append(out, c.name)
		}
	}
	if v != HTTP11 {
		out = append(out, harness.FormatName("7.2.2.4", reasonPhraseText(v)))
	} else {
		out = append(out, harness.FormatName("7.2.2.9.2", pushText(v)))
	}
	return out
}
