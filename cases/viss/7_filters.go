package visscases

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness/vissclient"
	"github.com/icoc-dev/icoc/spec/viss"
	. "github.com/onsi/ginkgo/v2"
)

// v3Variant maps a v3 filter variant to its clause; gen2Word a Gen2
// reserved word to its clause.
var (
	v3Variant = map[string]string{"paths": "7.1", "history": "7.2", "timebased": "7.3", "range": "7.4", "change": "7.5", "curvelog": "7.6", "metadata": "7.7", "unknown": "7"}
	gen2Word  = map[string]string{"$spec": "7.1.1", "$path": "7.1.2", "$data": "7.1.3", "$interval": "7.2.1", "$range": "7.2.2", "$change": "7.2.3", "unknown": "7", "7.3": "7.3"}
)

// 002 7 / 001 7: each invalid form of each filter is a spec, generated
// from the dialect's invalid_filters table.
func init() {
	for _, n := range vissspec.Dialects() {
		d := vissspec.MustLoad(n, vissspec.DefaultOptions())
		for i, f := range d.InvalidFilters {
			idx := i
			sd := &specDef{
				topic:  "invalid",
				text:   fmt.Sprintf("%s filter refused on a %s: %s", f.Variant, f.Action, f.Why),
				quirks: []string{"filter-lenient"},
				body: func(t *T) {
					f := t.d.InvalidFilters[idx]
					c := t.dial()
					var m *vissclient.Message
					if t.d.Name == vissspec.V3 {
						var filter any
						if err := json.Unmarshal([]byte(f.Filter), &filter); err != nil {
							t.fail("a JSON filter in the table", err.Error())
						}
						path := pathSpeed
						if f.Variant == "paths" {
							path = "Vehicle"
						}
						m = t.request(c, map[string]any{"action": f.Action, "path": path, "filter": filter})
					} else if f.Action == "subscribe" {
						m = t.request(c, map[string]any{"action": "subscribe", "path": t.path(pathSpeed), "filter": f.Filter})
					} else {
						m = t.get(c, t.path(pathSpeed)+"?"+f.Filter, nil)
					}
					t.expectSituation(m, f.Situation, fmt.Sprintf("a %s with the filter %s (%s)", f.Action, f.Filter, f.Why))
				},
			}
			if n == vissspec.V3 {
				// "In the JSON object, the key-value pairs "variant" and "parameter" must always be present. The JSON expression may consist of maximum one object with variant "paths", plus maximum one object with any other supported variant"
				sd.v3 = &clause{v3Variant[f.Variant], `In the JSON object, the key-value pairs "variant" and "parameter" must always be present. The JSON expression may consist of maximum one object with variant "paths", plus maximum one object with any other supported variant`}
			} else {
				// "The query component must have the following structure reserved-word comparison-operator expression"
				sd.gen2 = &clause{gen2Word[f.Variant], "The query component must have the following structure reserved-word comparison-operator expression"}
			}
			add(sd)
		}
	}

	add(&specDef{
		topic: "paths",
		// "Every path element in a value array must address at least one node in the tree [...] Different elements of the value array may address the same node, in which case it is the responsibility of the server to resolve this to a singleton"
		v3:     &clause{"7.1", "A path in the filter value may contain the wildcard character (*) as a representative for a single path segment. [...] Different elements of the value array may address the same node, in which case it is the responsibility of the server to resolve this to a singleton in the event messages."},
		text:   "a get of Vehicle with the paths Speed, Chassis.Axle.Row1.Wheel.*.Speed and Speed again returns those three signals once each, with their bus values",
		quirks: []string{"paths-filter-ignored"},
		body: func(t *T) {
			c := t.dial()
			t.put(map[string]float64{pathSpeed: 50, pathWheelL: 51, pathWheelR: 52})
			t.wait(t.settle())
			m := t.get(c, "Vehicle", map[string]any{"filter": map[string]any{"variant": "paths", "parameter": []string{"Speed", "Chassis.Axle.Row1.Wheel.*.Speed", "Speed"}}})
			t.expectOK(m, "the get")
			t.expectValues(m, []string{pathSpeed, pathWheelL, pathWheelR})
		},
	}, &specDef{
		topic: "search",
		// "The search filter makes it possible to tailor a subset of this response. [...] search-expression is a path expression that may contain the wildcard character (*) for representation of an unknown node name."
		gen2:   &clause{"7.1.2", "search-expression is a path expression that may contain the wildcard character (*) for representation of an unknown node name."},
		text:   "a get of Vehicle/Chassis/Axle/Row1/Wheel?$pathEQ*/Speed returns the two wheel speeds with their bus values",
		quirks: []string{"paths-filter-ignored"},
		body: func(t *T) {
			c := t.dial()
			t.put(map[string]float64{pathSpeed: 50, pathWheelL: 51, pathWheelR: 52})
			t.wait(t.settle())
			m := t.get(c, "Vehicle/Chassis/Axle/Row1/Wheel?$pathEQ*/Speed", nil)
			t.expectOK(m, "the search read")
			t.expectValues(m, []string{pathWheelL, pathWheelR})
		},
	}, &specDef{
		topic: "data",
		// "If a request, typically when it is addressing a subtree, is only interested in response data with a specific value, then a data value filter can be used."
		gen2:   &clause{"7.1.3", "If a request, typically when it is addressing a subtree, is only interested in response data with a specific value, then a data value filter can be used."},
		text:   "a search read with $dataGT50 returns only the wheel whose speed is above 50",
		quirks: []string{"data-filter-ignored"},
		body: func(t *T) {
			c := t.dial()
			t.put(map[string]float64{pathSpeed: 50, pathWheelL: 60, pathWheelR: 40})
			t.wait(t.settle())
			m := t.get(c, "Vehicle/Chassis/Axle/Row1/Wheel?$pathEQ*/SpeedAND$dataGT50", nil)
			t.expectOK(m, "the read")
			t.expectValues(m, []string{pathWheelL})
		},
	}, &specDef{
		topic: "history",
		// "A request for historic data will return a Not found error (404) if historic data is unavailable. The period must conform to the [[ISO8601]] duration format [...] The period in the filter expression goes from current time, excluding the current value, and backwards in time."
		v3:       &clause{"7.2", "The period in the filter expression goes from current time, excluding the current value, and backwards in time. [...] A request for historic data will return a Not found error (404) if historic data is unavailable."},
		text:     "a history read returns only captures of the period, in time order, with the values the harness sent (or 404 when nothing was recorded)",
		quirks:   []string{"history-ignores-period"},
		variants: []string{"no-history"},
		body: func(t *T) {
			c := t.dial()
			t.putSeries(pathSpeed, []float64{1, 2})
			t.wait(20 * t.gap())
			start := time.Now()
			caps := t.putSeries(pathSpeed, []float64{11, 12, 13, 14})
			t.wait(t.gap())
			window := time.Since(start) + t.wall(t.gap())
			secs := int(t.run().Clock.Spec(window)/time.Second) + 1
			m := t.get(c, pathSpeed, map[string]any{"filter": map[string]any{"variant": "history", "parameter": fmt.Sprintf("PT%dS", secs)}})
			if n, _, isErr := m.ErrorCode(); isErr {
				t.expectSituation(m, "history-unavailable", fmt.Sprintf("a history read of the last %d s", secs))
				_ = n
				return
			}
			early := start.Add(-t.wall(t.run().Profile.Tolerance.Allowed(0)))
			pds := vissclient.DataPoints(m.Obj)
			var last time.Time
			for _, pd := range pds {
				for _, dp := range pd.DPs {
					ts, err := vissspec.ParseTimestamp(dp.TS)
					t.check(err == nil && !ts.Before(early), fmt.Sprintf("data points captured within the last %d s (spec), from %s on", secs, start.UTC().Format(time.RFC3339Nano)), fmt.Sprintf("a data point at %s: %s", dp.TS, m.Raw))
					t.check(!ts.Before(last), "data points in time order", string(m.Raw))
					last = ts
					found := false
					for _, cp := range caps {
						if ok, _ := t.equal(pathSpeed, cp.Value, dp.Value); ok {
							found = true
						}
					}
					t.check(found, "values the harness sent in the period "+vissclient.Describe(caps), fmt.Sprintf("%v: %s", dp.Value, m.Raw))
				}
			}
		},
	}, &specDef{
		topic: "metadata",
		// "If the "parameter" object contains an empty string, then all metadata that the server can retrieve for the for the addressed node(s) are returned, while if it contains a metadata key name, or an array of key names, then only the selected metadata is returned."
		v3:     &clause{"7.7", `If the "parameter" object contains an empty string, then all metadata that the server can retrieve for the for the addressed node(s) are returned, while if it contains a metadata key name, or an array of key names, then only the selected metadata is returned.`},
		text:   "a metadata read returns the node's VSS metadata, limited to what the parameter selects",
		quirks: []string{"metadata-ignores-selection"},
		body: func(t *T) {
			c := t.dial()
			if t.d.MetadataByDepth {
				t.metadataDepth(c, "Vehicle.Chassis", map[string]any{"filter": map[string]any{"variant": "metadata", "parameter": "1"}}, 1)
				return
			}
			m := t.get(c, pathSpeed, map[string]any{"filter": map[string]any{"variant": "metadata", "parameter": "datatype"}})
			md, _ := m.Obj["metadata"].(map[string]any)
			sp, _ := md["Speed"].(map[string]any)
			t.check(sp != nil && sp["datatype"] == "float", `metadata {"Speed": {"datatype": "float"}}`, string(m.Raw))
			_, extra := sp["description"]
			t.check(!extra, "only the selected key datatype (register I-267)", string(m.Raw))
		},
	}, &specDef{
		topic: "spec",
		// "depth sets the maximum branch depth that is returned in the response, counted from the root node given by the path component in the request."
		gen2:   &clause{"7.1.1", "depth sets the maximum branch depth that is returned in the response, counted from the root node given by the path component in the request."},
		text:   "a service discovery read with $specEQ1 returns the branch's metadata cut at that depth",
		quirks: []string{"metadata-ignores-selection"},
		body: func(t *T) {
			c := t.dial()
			t.metadataDepth(c, "Vehicle/Chassis?$specEQ1", nil, 1)
		},
	})
}

// expectValues fails unless m carries exactly the paths, each with the
// value the harness sent last.
func (t *T) expectValues(m *vissclient.Message, paths []string) {
	GinkgoHelper()
	got := t.values(m)
	if v, single := got[""]; single && len(paths) == 1 {
		// Gen2: one value is a plain string (Gen2 TRANSPORT 5.2.2.1).
		got = map[string]any{paths[0]: v}
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := append([]string(nil), paths...)
	sort.Strings(want)
	t.check(strings.Join(keys, ",") == strings.Join(want, ","), "exactly the paths "+strings.Join(want, ", "), fmt.Sprintf("paths %v: %s", keys, m.Raw))
	for _, p := range paths {
		ok, why := t.equal(p, t.latest(p).Value, got[p])
		t.check(ok, "the value the bus carried for "+p, why)
	}
}

// metadataDepth reads metadata and fails when it goes deeper than depth+1
// generations below the addressed node (register I-298: depth may count
// from 0 or 1) or lacks the node.
func (t *T) metadataDepth(c *vissclient.Conn, path string, extra map[string]any, depth int) {
	GinkgoHelper()
	m := t.get(c, path, extra)
	md, _ := m.Obj["metadata"].(map[string]any)
	root, _ := md["Chassis"].(map[string]any)
	t.check(root != nil && root["type"] == "branch", `metadata {"Chassis": {"type": "branch", ...}}`, string(m.Raw))
	var deepest func(n map[string]any) int
	deepest = func(n map[string]any) int {
		kids, _ := n["children"].(map[string]any)
		d := 1
		for _, k := range kids {
			if o, ok := k.(map[string]any); ok {
				d = max(d, 1+deepest(o))
			}
		}
		return d
	}
	got := deepest(root)
	t.check(got <= depth+1, fmt.Sprintf("at most %d generations for depth %d (register I-298)", depth+1, depth), fmt.Sprintf("%d generations", got))
}
