package exve

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/icoc-dev/icoc/simulator/center"
	exvespec "github.com/icoc-dev/icoc/spec/exve"
)

func init() {
	q("json-as-text", "REQ_04_05_01", "labels JSON bodies text/plain")
	q("xml-as-json", "REQ_04_05_02", "answers a request for text/xml with JSON")
	q("global-version", "REQ_04_06_01", "versions every resource as api.v1.0 instead of per resource")
	q("no-version-echo", "REQ_04_06_03", "writes no exve-resourceversion parameter in the response Content-Type")
	q("ignore-requested-version", "REQ_04_06_03", "answers the latest version whatever version Accept asks for")
	q("unknown-version-latest", "REQ_04_06_03", "answers an unknown major version with the latest instead of 406")
	q("version-syntax", "REQ_04_06_04", "writes the version parameter as odometer-1.1 instead of odometer.v1.1")
	q("charset-latin1", "REQ_04_06_05", "writes charset=iso-8859-1 in Content-Type")
	q("default-oldest", "REQ_04_06_07", "answers the oldest version when Accept names none")
	q("error-id-missing", "REQ_04_11_01", "writes error bodies without exveErrorId")
	q("error-msg-missing", "REQ_04_11_02", "writes error bodies without exveErrorMsg")
	q("error-ref-not-uuid", "REQ_04_11_04", "writes an exveErrorRef that is not a UUID")
	q("error-msg-object", "REQ_04_11_06", "writes exveErrorMsg as an object with text and language")
	q("errors-not-array", "REQ_04_11_07", "writes several errors as an object keyed by number instead of the array exveErrors")
	q("xml-error-as-json", "REQ_04_11_08", "writes error bodies in JSON when the request asks for XML")
	q("error-no-content-type", "REQ_04_04_04", "answers errors with a body but no Content-Type")
	variant("single-error", "REQ_04_11_07", "reports only the first of several errors, without exveErrors")
	q("error-keys-on-success", "REQ_04_11_03", "writes exveErrorId null and exveErrorMsg empty into successful answers")
}

// versionRe is a version: v{major}.{minor}.
var versionRe = regexp.MustCompile(`^v(\d+)\.(\d+)$`)

// obj is a JSON object under construction.
type obj = map[string]any

// Media types the offering party writes.
const (
	mtJSON    = "application/json"
	mtTextXML = "text/xml"
	mtAppXML  = "application/xml"
)

// apiError is an error answer of 4.11: status, exveErrorId, exveErrorMsg
// and, for several errors, the others in exveErrors.
type apiError struct {
	status int
	id     string
	msg    string
	note   string
	more   []*apiError
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.id, e.msg) }

func errf(status int, id, format string, args ...any) *apiError {
	return &apiError{status: status, id: id, msg: fmt.Sprintf(format, args...)}
}

// wantsXML reports whether the request asks for XML (REQ_04_11_08: by its
// Content-Type, else by its Accept).
func wantsXML(r *http.Request) (bool, string) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && (mt == mtTextXML || mt == mtAppXML) {
		return true, mt
	}
	for _, a := range acceptList(r.Header.Get("Accept")) {
		switch a.typ {
		case mtTextXML, mtAppXML:
			return true, a.typ
		case mtJSON, "*/*", "application/*":
			return false, mtJSON
		}
	}
	return false, mtJSON
}

type acceptEntry struct {
	typ    string
	params map[string]string
	q      float64
}

// acceptList parses an Accept header into its media ranges, best first
// (by q, then in order).
func acceptList(h string) []acceptEntry {
	var out []acceptEntry
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			// Tolerate "exve-resourceversion= container.v1.0" (a space
			// after =, as Annex A writes it).
			mt, params, err = mime.ParseMediaType(strings.ReplaceAll(part, "= ", "="))
			if err != nil {
				continue
			}
		}
		e := acceptEntry{typ: mt, params: params, q: 1}
		if qs, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(qs, 64); err == nil {
				e.q = f
			}
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].q > out[j].q })
	return out
}

// negotiate picks the media type and version of res for r (4.5, 4.6): the
// first acceptable Accept entry; its exve-resourceversion, when given,
// names the version (an unknown major: 406, I-209; an unknown minor: the
// major's latest); none: the latest (REQ_04_06_07).
func (op *OfferingParty) negotiate(r *http.Request, res Resource) (string, Version, *apiError) {
	entries := acceptList(r.Header.Get("Accept"))
	if len(entries) == 0 {
		entries = []acceptEntry{{typ: mtJSON, q: 1}}
	}
	for _, e := range entries {
		mt := ""
		switch e.typ {
		case mtJSON, "*/*", "application/*":
			mt = mtJSON
		case mtTextXML, mtAppXML:
			mt = e.typ
			if op.q.Has("xml-as-json") {
				mt = mtJSON
			}
		}
		if mt == "" || e.q == 0 {
			continue
		}
		want, ok := e.params[exvespec.VersionParam()]
		if !ok || op.q.Has("ignore-requested-version") {
			if op.q.Has("default-oldest") && !ok {
				return mt, res.Versions[0], nil
			}
			return mt, res.Latest(), nil
		}
		v, err := pickVersion(res, want)
		if err != nil && !op.q.Has("unknown-version-latest") {
			return "", Version{}, err
		}
		if err != nil {
			v = res.Latest()
		}
		return mt, v, nil
	}
	if op.q.Has("unacceptable-as-json") {
		return mtJSON, res.Latest(), nil
	}
	return "", Version{}, errf(http.StatusNotAcceptable, "NOT_ACCEPTABLE", "none of the media types in Accept %q can be produced; this resource is application/json or text/xml", r.Header.Get("Accept"))
}

// pickVersion resolves an exve-resourceversion value against res.
func pickVersion(res Resource, want string) (Version, *apiError) {
	use, ver, ok := strings.Cut(want, ".v")
	if !ok || use != res.UseCase {
		return Version{}, errf(http.StatusNotAcceptable, "UNKNOWN_RESOURCE_VERSION", "%s=%s does not name resource %s (want %s.v{major}.{minor})", exvespec.VersionParam(), want, res.UseCase, res.UseCase)
	}
	m := versionRe.FindStringSubmatch("v" + ver)
	if m == nil {
		return Version{}, errf(http.StatusNotAcceptable, "UNKNOWN_RESOURCE_VERSION", "%s=%s: the version is not v{major}.{minor}", exvespec.VersionParam(), want)
	}
	var best *Version
	for i, v := range res.Versions {
		vm := versionRe.FindStringSubmatch(v.Version)
		if vm[1] != m[1] {
			continue
		}
		if vm[2] == m[2] {
			return v, nil
		}
		best = &res.Versions[i] // versions are oldest first: the last of the major wins
	}
	if best != nil {
		return *best, nil
	}
	return Version{}, errf(http.StatusNotAcceptable, "UNKNOWN_RESOURCE_VERSION", "resource %s has no major version %s (it has %s)", res.UseCase, m[1], versionList(res))
}

func versionList(res Resource) string {
	var vs []string
	for _, v := range res.Versions {
		vs = append(vs, v.Version)
	}
	return strings.Join(vs, ", ")
}

// contentType writes the Content-Type of a representation: the media type,
// the resource version (REQ_04_06_03/04) and charset=utf-8 (REQ_04_06_05).
func (op *OfferingParty) contentType(mt string, res *Resource, v Version) string {
	ct := mt
	if op.q.Has("json-as-text") && mt == mtJSON {
		ct = "text/plain"
	}
	if res != nil && !op.q.Has("no-version-echo") {
		val := res.VersionValue(v.Version)
		switch {
		case op.q.Has("global-version"):
			val = "api.v1.0"
		case op.q.Has("version-syntax"):
			val = res.UseCase + "-" + strings.TrimPrefix(v.Version, "v")
		}
		ct += "; " + exvespec.VersionParam() + "=" + val
	}
	cs := "utf-8"
	if op.q.Has("charset-latin1") {
		cs = "iso-8859-1"
	}
	return ct + "; charset=" + cs
}

// reply builds a successful answer with body (nil: none).
func (op *OfferingParty) reply(status int, mt string, res *Resource, v Version, body any) center.Answer {
	h := http.Header{}
	if body == nil {
		return center.Answer{Status: status, Header: h, By: serviceName}
	}
	var b []byte
	if mt == mtTextXML || mt == mtAppXML {
		b = toXML(body)
	} else {
		if m, ok := body.(obj); ok && op.q.Has("error-keys-on-success") {
			m["exveErrorId"], m["exveErrorMsg"] = nil, ""
		}
		b, _ = json.Marshal(body)
		mt = mtJSON
	}
	h.Set("Content-Type", op.contentType(mt, res, v))
	return center.Answer{Status: status, Header: h, Body: b, By: serviceName}
}

// errorAnswer writes e in the error format of 4.11, in XML when the request
// asks for it (REQ_04_11_08).
func (op *OfferingParty) errorAnswer(r *http.Request, e *apiError) center.Answer {
	body := op.errorBody(e)
	isXML, mt := false, mtJSON
	if r != nil {
		isXML, mt = wantsXML(r)
	}
	if op.q.Has("xml-error-as-json") {
		isXML, mt = false, mtJSON
	}
	h := http.Header{}
	var b []byte
	if isXML {
		b = toXML(obj{"exveError": body})
	} else {
		b, _ = json.Marshal(body)
	}
	if op.q.Has("error-no-content-type") {
		h["Content-Type"] = nil // nil: not even the one net/http would sniff
	} else {
		h.Set("Content-Type", mt+"; charset=utf-8")
	}
	return center.Answer{Status: e.status, Header: h, Body: b, By: serviceName}
}

// errorBody is the JSON object of e: the keys of one error, or exveErrors
// for several.
func (op *OfferingParty) errorBody(e *apiError) obj {
	one := func(e *apiError) obj {
		o := obj{}
		if !op.q.Has("error-id-missing") {
			o["exveErrorId"] = e.id
		}
		switch {
		case op.q.Has("error-msg-missing"):
		case op.q.Has("error-msg-object"):
			o["exveErrorMsg"] = obj{"text": e.msg, "lang": "en"}
		default:
			o["exveErrorMsg"] = e.msg
		}
		o["exveErrorRef"] = uuid.NewString()
		if op.q.Has("error-ref-not-uuid") {
			o["exveErrorRef"] = "ref-" + strconv.Itoa(e.status)
		}
		if e.note != "" {
			o["exveNote"] = e.note
		}
		return o
	}
	if len(e.more) == 0 || op.q.Has("single-error") {
		return one(e)
	}
	all := append([]*apiError{e}, e.more...)
	if op.q.Has("errors-not-array") {
		m := obj{}
		for i, x := range all {
			m[strconv.Itoa(i+1)] = one(x)
		}
		return obj{"exveErrors": m}
	}
	var list []any
	for _, x := range all {
		list = append(list, one(x))
	}
	return obj{"exveErrors": list}
}

// toXML writes a JSON-shaped value as XML (Example 9's shape): an object's
// keys are elements in key order, an array repeats its key's element, and
// a single-key object at the top is the root element.
func toXML(v any) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	root := "response"
	if m, ok := v.(obj); ok && len(m) == 1 {
		for k, val := range m {
			root, v = k, val
		}
	}
	writeXML(&b, root, v)
	return b.Bytes()
}

func writeXML(b *bytes.Buffer, name string, v any) {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			writeXML(b, name, e)
		}
		return
	case []obj:
		for _, e := range t {
			writeXML(b, name, e)
		}
		return
	}
	b.WriteString("<" + name + ">")
	switch t := v.(type) {
	case obj:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			writeXML(b, k, t[k])
		}
	case nil:
	default:
		var s string
		switch x := t.(type) {
		case string:
			s = x
		default:
			j, _ := json.Marshal(x)
			s = strings.Trim(string(j), `"`)
		}
		_ = xml.EscapeText(b, []byte(s))
	}
	b.WriteString("</" + name + ">")
}
