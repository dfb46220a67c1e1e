package exve_test

// 4.13 resource discovery and 4.14 capability discovery.

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"

	"github.com/icoc-dev/icoc/harness"
	exveop "github.com/icoc-dev/icoc/simulator/exve"
	. "github.com/onsi/ginkgo/v2"
)

var discoveryVersionRe = regexp.MustCompile(`^v?[0-9]+\.[0-9]+$`)

// REQ_04_13_01: "The authorized resources for a connected vehicle shall be
// listed in the resource discovery response."
var _ = op("REQ_04_13_01", "resource discovery lists exactly what the token grants: all for a full token, the granted ones for a limited token", qs("discovery-lists-all"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		names := func(c string) []string {
			r := ex.Client(c).Do(ctx, "GET", "/vehicles/"+url.PathEscape(vid)+"/resources/")
			status(q, r, 200)
			var out []string
			for _, e := range items(r, "resources") {
				out = append(out, fmt.Sprint(obj(e)["name"]))
			}
			return out
		}
		full := names("main")
		for _, res := range ex.Catalogue.Resources {
			if res.PerVehicle() {
				check(slices.Contains(full, res.Name), q, "every resource the full token grants ("+res.Name+")", "%v", full)
			}
		}
		granted, denied := limitedGrants()
		lim := names("limited")
		for _, res := range granted {
			check(slices.Contains(lim, res.Name), q, "the resources the limited token grants listed ("+res.Name+")", "%v", lim)
		}
		for _, res := range denied {
			check(!slices.Contains(lim, res.Name), q, "no resource the limited token does not grant ("+res.Name+")", "%v", lim)
		}
	})

// discoveryEntries judges name, version and href of each entry.
func discoveryEntries(ctx SpecContext, q harness.Requirement, path, key string) {
	GinkgoHelper()
	vid := vehicleID(ctx, q)
	r := get(ctx, "/vehicles/"+url.PathEscape(vid)+path)
	status(q, r, 200)
	es := items(r, key)
	check(len(es) > 0, q, "entries under "+key, "%s", r.Describe())
	for _, e := range es {
		m := obj(e)
		check(m["name"] != nil && discoveryVersionRe.MatchString(fmt.Sprint(m["version"])) && m["href"] != nil, q,
			"each entry with name, version (v1.0 or 1.0, I-215) and href", "%s", jsonString(m))
		h := fmt.Sprint(m["href"])
		check(underBase(resolve(r.URL, h)), q, "an href to the resource under the base URI", "%q", h)
		if res, ok := ex.Catalogue.ByName(fmt.Sprint(m["name"])); ok && res.Supports("GET") && res.Kind != exveop.KindAsync {
			status(q, get(ctx, resolve(r.URL, h)), 200)
		}
	}
}

// REQ_04_13_02: "Each resource listed shall include: resource name, version
// and a URI to the resource. These should be named 'name', 'version' and
// 'href'." (I-214, I-215)
var _ = op("REQ_04_13_02", "each discovered resource has name, version and an href that serves it", qs("discovery-no-href"),
	func(ctx SpecContext, q harness.Requirement) { discoveryEntries(ctx, q, "/resources/", "resources") })

var _ = withVariants("REQ_04_13_02", "", harness.ExVeOPQuirkPrefix+"discovery-extra-keys")

// REQ_04_14_01: "The capabilities for a connected vehicle should be listed
// in the capability discovery response."
var _ = op("REQ_04_14_01", "capability discovery of a consenting vehicle lists what it can provide", qs("capabilities-empty"),
	func(ctx SpecContext, q harness.Requirement) {
		vid := vehicleID(ctx, q)
		pushData(ctx)
		r := get(ctx, "/vehicles/"+url.PathEscape(vid)+"/capabilities/")
		status(q, r, 200)
		check(len(items(r, "capabilities")) > 0, q, "the vehicle's capabilities listed", "%s", r.Describe())
	})

// REQ_04_14_02: "Each capability listed should include: available
// resources, version and a URI to the resource."
var _ = op("REQ_04_14_02", "each capability has name, version and an href that serves it", qs("capabilities-no-version"),
	func(ctx SpecContext, q harness.Requirement) {
		discoveryEntries(ctx, q, "/capabilities/", "capabilities")
	})

var _ = withVariants("REQ_04_14_02", "", harness.ExVeOPQuirkPrefix+"discovery-extra-keys")

// REQ_04_14_03: "To access the capability discovery, it shall be
// authorized by the resource owner."
var _ = op("REQ_04_14_03", "capability discovery of a vehicle whose owner has not consented is refused with 403", qs("capabilities-without-consent"),
	func(ctx SpecContext, q harness.Requirement) {
		r := get(ctx, "/vehicles/"+url.PathEscape(ex.Cfg.UnconsentedVehicle)+"/capabilities/")
		status(q, r, 403)
		check(r.Object()["exveErrorId"] != nil, q, "an error body with the 403", "%s", r.Describe())
	})
