package exve_test

// 4.11: error messaging.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"mime"
	"regexp"
	"strings"

	"github.com/icoc-dev/icoc/harness"
	. "github.com/onsi/ginkgo/v2"
)

// errorAnswers provokes error answers of several kinds (401, 404, 406,
// 400).
func errorAnswers(ctx SpecContext, q harness.Requirement) []*respT {
	GinkgoHelper()
	out := []*respT{
		get(ctx, "/vehicles", hxNoAuth()),
		get(ctx, "/vehicles/ICOC-NO-SUCH-VEHICLE"),
		get(ctx, "/vehicles", hxAccept("image/png")),
		opc().Do(ctx, "POST", "/subscriptionProfiles", jsonBody(`{"token_type": `)),
	}
	for _, r := range out {
		answered(q, r)
		check(r.Status >= 400, q, "an error answer", "%s", r.Describe())
	}
	return out
}

// errorObjects are the error objects of a body: the body itself, or each
// element of exveErrors.
func errorObjects(r *respT) []map[string]any {
	m := r.Object()
	if l, ok := m["exveErrors"].([]any); ok {
		var out []map[string]any
		for _, e := range l {
			out = append(out, obj(e))
		}
		return out
	}
	return []map[string]any{m}
}

// REQ_04_11_01: "For error messaging the web service shall include a
// unique identifier in the message body using the keyword "exveErrorId"."
var _ = op("REQ_04_11_01", "every error answer has an exveErrorId", qs("error-id-missing"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, r := range errorAnswers(ctx, q) {
			for _, e := range errorObjects(r) {
				v, ok := e["exveErrorId"]
				s := fmt.Sprint(v)
				check(ok && v != nil && s != "" && !strings.ContainsAny(s, "{["), q, "exveErrorId, an identifier (a string or number)", "%s", r.Describe())
			}
		}
	})

// REQ_04_11_02: "... a short human-readable statement in the message body
// using the keyword "exveErrorMsg"."
var _ = op("REQ_04_11_02", "every error answer has an exveErrorMsg", qs("error-msg-missing"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, r := range errorAnswers(ctx, q) {
			for _, e := range errorObjects(r) {
				_, ok := e["exveErrorMsg"]
				check(ok, q, "exveErrorMsg in the error body", "%s", r.Describe())
			}
		}
	})

// REQ_04_11_03: ""exveErrorId" and "exveErrorMsg" keywords shall not be
// present at all, if a request is fully successful."
var _ = op("REQ_04_11_03", "a fully successful answer has neither exveErrorId nor exveErrorMsg, not even null or empty", qs("error-keys-on-success"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		_, p := createProfile(ctx, q, bearerProfile(newTag(), 3600))
		for _, r := range []*respT{get(ctx, "/vehicles?limit=3"), get(ctx, "/vehicles/"+vid+"/"+firstData().Name), get(ctx, "/subscriptions"), p} {
			answered(q, r)
			check(r.Status >= 200 && r.Status < 300, q, "a successful answer", "%s", r.Describe())
			for _, k := range []string{"exveErrorId", "exveErrorMsg"} {
				_, has := findKey(r.JSON(), k)
				check(!has, q, "no "+k+" in a fully successful answer", "%s", r.Describe())
			}
		}
	})

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// REQ_04_11_04: "... should include an error reference in the message body
// using the keyword “exveErrorRef”." NOTE 2: a UUID.
var _ = op("REQ_04_11_04", "every error answer has an exveErrorRef that is a UUID", qs("error-ref-not-uuid"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, r := range errorAnswers(ctx, q) {
			for _, e := range errorObjects(r) {
				check(uuidRe.MatchString(fmt.Sprint(e["exveErrorRef"])), q, "exveErrorRef, a UUID", "%s", r.Describe())
			}
		}
	})

// REQ_04_11_06: "The elements: “exveErrorMsg”, and “exveNote” shall be
// plain string literals."
var _ = op("REQ_04_11_06", "exveErrorMsg and exveNote are plain strings", qs("error-msg-object"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, r := range errorAnswers(ctx, q) {
			for _, e := range errorObjects(r) {
				for _, k := range []string{"exveErrorMsg", "exveNote"} {
					if v, ok := e[k]; ok {
						_, isString := v.(string)
						check(isString, q, k+" a string", "%s", r.Describe())
					}
				}
			}
		}
	})

// REQ_04_11_07: "The web service may return multiple error messages in the
// same response." (I-211)
var _ = op("REQ_04_11_07", "several errors are an array exveErrors of error objects", qs("errors-not-array"),
	func(ctx SpecContext, q harness.Requirement) {
		r := opc().Do(ctx, "POST", "/subscriptionProfiles", jsonBody(map[string]any{"token_type": "no_such_type", "callbackBaseURI": "ftp://nowhere"}))
		answered(q, r)
		check(r.Status >= 400 && r.Status < 500, q, "a 4xx for a profile with several errors", "%s", r.Describe())
		v, ok := r.Object()["exveErrors"]
		if !ok {
			report("one error", "the offering party reported one error of several; REQ_04_11_07 allows that")
			return
		}
		l, isList := v.([]any)
		check(isList && len(l) > 0, q, "exveErrors an array", "%s", r.Describe())
		for _, e := range l {
			check(obj(e)["exveErrorId"] != nil && obj(e)["exveErrorMsg"] != nil, q, "each element with exveErrorId and exveErrorMsg", "%s", r.Describe())
		}
	})

var _ = withVariants("REQ_04_11_07", "", "exve-op.single-error")

// REQ_04_11_08: "The format of error message shall be JSON or XML depending
// on the content-type of the request header ... For content-type text/xml,
// the error message shall be in XML format." (I-213)
var _ = op("REQ_04_11_08", "an error for a request asking text/xml is XML with exveErrorId; for application/json it is JSON", qs("xml-error-as-json"),
	func(ctx SpecContext, q harness.Requirement) {
		run.Requires("exve-xml")
		j := get(ctx, "/vehicles/ICOC-NO-SUCH-VEHICLE", hxAccept("application/json"))
		status(q, j, 404)
		check(jsonValid(j.Body), q, "a JSON error body", "%s", j.Describe())
		x := get(ctx, "/vehicles/ICOC-NO-SUCH-VEHICLE", hxAccept("text/xml"))
		status(q, x, 404)
		mt, _, _ := mime.ParseMediaType(x.Header.Get("Content-Type"))
		check((mt == "text/xml" || mt == "application/xml") && xmlValid(x.Body) && xmlHas(x.Body, "exveErrorId"), q,
			"an XML error body with an exveErrorId element", "%s", x.Describe())
	})

// xmlHas reports whether an XML document has an element named name.
func xmlHas(b []byte, name string) bool {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		t, err := d.Token()
		if err != nil {
			return false
		}
		if s, ok := t.(xml.StartElement); ok && s.Name.Local == name {
			return true
		}
	}
}
