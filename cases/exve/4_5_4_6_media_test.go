package exve_test

// 4.5 media types and 4.6 resource versioning (exve-resourceversion).

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	exveop "github.com/icoc-dev/icoc/simulator/exve"
	exvespec "github.com/icoc-dev/icoc/spec/exve"
	. "github.com/onsi/ginkgo/v2"
)

// contentType parses a response's Content-Type; the parameters' keys are
// lower case.
func contentType(r *respT) (string, map[string]string) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return "", nil
	}
	return mt, params
}

// versionOf is the exve-resourceversion of an answer.
func versionOf(r *respT) string {
	_, p := contentType(r)
	return p[exvespec.VersionParam()]
}

// readData reads the first data resource of the profile's vehicle (or a
// vehicle that has it) with Accept.
func readData(ctx context.Context, q harness.Requirement, accept string) (*respT, exveop.Resource) {
	GinkgoHelper()
	res := firstData()
	vid := sampleVehicle(ctx, q, res.Name)
	r := get(ctx, "/vehicles/"+vid+"/"+res.Name, hxAccept(accept))
	return r, res
}

// REQ_04_05_01: "The media type: application/json; utf-8 should be
// supported in HTTP request and response messages." (I-212)
var _ = op("REQ_04_05_01", "a request for application/json is answered application/json with a JSON body", qs("json-as-text"),
	func(ctx SpecContext, q harness.Requirement) {
		r, _ := readData(ctx, q, "application/json")
		status(q, r, 200)
		mt, _ := contentType(r)
		check(mt == "application/json" && jsonValid(r.Body), q, "Content-Type application/json and a JSON body", "%s", r.Describe())
	})

// REQ_04_05_02: "Media types that may be supported ... text/plain; utf-8,
// text/xml; utf-8, application/octet-stream" (I-213: XML)
var _ = op("REQ_04_05_02", "a request for text/xml is answered text/xml with an XML body", qs("xml-as-json"),
	func(ctx SpecContext, q harness.Requirement) {
		r, _ := readData(ctx, q, "text/xml")
		status(q, r, 200)
		mt, _ := contentType(r)
		check((mt == "text/xml" || mt == "application/xml") && xmlValid(r.Body), q, "Content-Type text/xml and an XML body", "%s", r.Describe())
	})

// xmlValid reports whether b is a well-formed XML document with a root.
func xmlValid(b []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(b))
	root := false
	for {
		t, err := d.Token()
		if err == io.EOF {
			return root
		}
		if err != nil {
			return false
		}
		if _, ok := t.(xml.StartElement); ok {
			root = true
		}
	}
}

// REQ_04_05_03: "At least one media type shall be selected when requesting
// data." (I-235)
var _ = ap("REQ_04_05_03", "every request that reads data names a concrete media type in Accept", aqs("accept-any"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, a := range apSession(ctx, q) {
			if a.Method != "GET" {
				continue
			}
			concrete := false
			for _, part := range strings.Split(a.Header.Get("Accept"), ",") {
				mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
				concrete = concrete || err == nil && !strings.Contains(mt, "*")
			}
			check(concrete, q, "Accept with a type/subtype (not only */* or type/*)", "%s", describe(a))
		}
	})

// REQ_04_06_01: "The resource versioning shall be done on the resource
// level."
var _ = op("REQ_04_06_01", "each resource's answer names its own use-case resource in exve-resourceversion", qs("global-version"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		n := 0
		for _, res := range ex.Catalogue.Resources {
			if !res.PerVehicle() || !res.Supports("GET") {
				continue
			}
			r := get(ctx, "/vehicles/"+vid+"/"+res.Name)
			status(q, r, 200)
			v := versionOf(r)
			check(strings.HasPrefix(v, res.UseCase+".v"), q, fmt.Sprintf("exve-resourceversion=%s.v{major.minor} for %s", res.UseCase, res.Name), "%s", r.Describe())
			n++
		}
		check(n >= 2, q, "two resources to compare", "%d", n)
	})

// REQ_04_06_03: "The resource version shall be identified by a custom
// parameter exve-resourceversion included in the request and response
// header fields "Accept" and "Content-Type"." (I-209)
var _ = op("REQ_04_06_03", "the answer's Content-Type carries exve-resourceversion", qs("no-version-echo"),
	func(ctx SpecContext, q harness.Requirement) {
		r, res := readData(ctx, q, "application/json; exve-resourceversion="+firstData().VersionValue(firstData().Latest().Version))
		status(q, r, 200)
		check(versionOf(r) != "", q, "exve-resourceversion in Content-Type ("+res.Name+")", "%s", r.Describe())
	})

var _ = op("REQ_04_06_03", "an older version asked for in Accept is the version answered", qs("ignore-requested-version"),
	func(ctx SpecContext, q harness.Requirement) {
		var res exveop.Resource
		for _, r := range ex.Catalogue.OfKind(exveop.KindData) {
			if len(r.Versions) > 1 {
				res = r
			}
		}
		if res.Name == "" {
			Skip("not applicable: no resource with two versions in the catalogue")
		}
		old := res.Versions[0]
		vid := sampleVehicle(ctx, q, res.Name)
		r := get(ctx, "/vehicles/"+vid+"/"+res.Name, hxAccept("application/json; exve-resourceversion="+res.VersionValue(old.Version)))
		status(q, r, 200)
		check(versionOf(r) == res.VersionValue(old.Version), q, "exve-resourceversion="+res.VersionValue(old.Version)+" in the answer", "%s", r.Describe())
		for _, it := range items(r, res.Items) {
			for k := range obj(it) {
				check(containsStr(old.Fields, k), q, "only the data items of "+old.Version+" "+fmt.Sprint(old.Fields), "%q in %s", k, jsonString(it))
			}
		}
	})

var _ = op("REQ_04_06_03", "an unknown major version asked for in Accept gets 406", qs("unknown-version-latest"),
	func(ctx SpecContext, q harness.Requirement) {
		res := firstData()
		r, _ := readData(ctx, q, "application/json; exve-resourceversion="+res.UseCase+".v99.0")
		status(q, r, 406)
	})

var _ = ap("REQ_04_06_03", "its Accept names the resource version it reads (exve-resourceversion)", aqs("unversioned-accept"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, a := range apSession(ctx, q) {
			if a.Method != "GET" {
				continue
			}
			check(strings.Contains(a.Header.Get("Accept"), exvespec.VersionParam()+"="), q, "exve-resourceversion in Accept", "%s", describe(a))
		}
	})

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// REQ_04_06_04: "Syntax of the custom parameter exve-resourceversion shall
// be: {media type}; exve-resourceversion={usecase resource.}v{major.minor}"
var _ = op("REQ_04_06_04", "exve-resourceversion is {usecase resource}.v{major}.{minor} after the media type", qs("version-syntax"),
	func(ctx SpecContext, q harness.Requirement) {
		r, _ := readData(ctx, q, "application/json")
		status(q, r, 200)
		ct := r.Header.Get("Content-Type")
		mt, _ := contentType(r)
		check(mt != "" && exvespec.ValidVersionValue(versionOf(r)) && strings.HasPrefix(ct, mt+";"), q,
			"{media type}; exve-resourceversion={usecase resource.}v{major.minor}", "%q", ct)
	})

// REQ_04_06_05: "As character encoding, utf-8 shall be used in
// accept-charset or content HTTP headers." (I-212)
var _ = op("REQ_04_06_05", "every answer with content says charset=utf-8", qs("charset-latin1"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		for _, r := range []*respT{get(ctx, "/vehicles?limit=2"), get(ctx, "/vehicles/"+vid+"/odometers"), get(ctx, "/vehicles/ICOC-NO-SUCH-VEHICLE")} {
			answered(q, r)
			_, p := contentType(r)
			check(strings.EqualFold(p["charset"], "utf-8"), q, "charset=utf-8", "%s", r.Describe())
		}
	})

var _ = ap("REQ_04_06_05", "any charset it asks for is utf-8", aqs("accept-latin1"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, a := range apSession(ctx, q) {
			if cs := a.Header.Get("Accept-Charset"); cs != "" {
				check(strings.Contains(strings.ToLower(cs), "utf-8"), q, "Accept-Charset utf-8", "%s (Accept-Charset %q)", describe(a), cs)
			}
			for _, part := range strings.Split(a.Header.Get("Accept"), ",") {
				if _, p, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && p["charset"] != "" {
					check(strings.EqualFold(p["charset"], "utf-8"), q, "charset=utf-8", "%s", describe(a))
				}
			}
		}
	})

// REQ_04_06_07: "If no version is defined in the accept header, the latest
// version shall be returned."
var _ = op("REQ_04_06_07", "without a version in Accept the latest version is answered", qs("default-oldest"),
	func(ctx SpecContext, q harness.Requirement) {
		for _, res := range ex.Catalogue.OfKind(exveop.KindData) {
			vid := sampleVehicle(ctx, q, res.Name)
			r := get(ctx, "/vehicles/"+vid+"/"+res.Name, hxAccept("application/json"))
			status(q, r, 200)
			want := res.VersionValue(res.Latest().Version)
			check(versionOf(r) == want, q, "exve-resourceversion="+want+" (the latest)", "%s", r.Describe())
		}
	})

var _ = time.Second
