package mqtt_test

import (
	"strings"

	"github.com/icoc-dev/icoc/harness"
)

// quirkCases pairs each quirk with the specs that must catch it.
func quirkCases() []harness.QuirkCase {
	var out []harness.QuirkCase
	for _, f := range []func() []harness.QuirkCase{reasonQuirks, waitQuirks, basicsQuirks, topicQuirks, headerQuirks, sessionQuirks, brokerQuirks} {
		out = append(out, f()...)
	}
	// A vehicle that never talks to the center fails every vehicle-DUT
	// spec, each saying what it expected and what did arrive (two cases,
	// so that two children share the work).
	var rows, rest []string
	for _, c := range reasonCases() {
		rows = append(rows, c.name)
	}
	seen := map[string]bool{}
	for _, c := range out {
		if strings.HasPrefix(c.Quirk, harness.CenterQuirkPrefix) {
			continue
		}
		for _, n := range c.Specs {
			if !seen[n] && !strings.HasPrefix(n, "[7.2.5.4 T7-") {
				seen[n] = true
				rest = append(rest, n)
			}
		}
	}
	say := []string{"Expected:", "Actual:"}
	return append(out,
		harness.QuirkCase{Quirk: "mute", Specs: rows, MustSay: say},
		harness.QuirkCase{Quirk: "mute", Specs: rest, MustSay: say})
}

// variantCases pairs each variant (another choice its clause allows) with
// the specs of that clause, which must pass under it.
func variantCases() []harness.VariantCase {
	return []harness.VariantCase{
		// I-016 gives no numbers: a linear extension conforms as well.
		{Variant: "backoff-linear", Specs: []string{waitNames["CONNACK"], waitNames["PUBACK"]}},
		// I-043: any non-zero Keep Alive.
		{Variant: "mqtt-keepalive-s=50", Specs: []string{keepAliveName, serverKAName}},
		// 7.2.5.1 asks the vehicle to use aliases; taking none from the
		// broker is the vehicle's choice (Topic Alias Maximum 0 in CONNECT).
		{Variant: "mqtt-no-inbound-alias", Specs: []string{aliasUseName, aliasResetName, pushAckTopicName, pubackName}},
		// The acknowledgement's content is the application's.
		{Variant: "mqtt-push-ack-text", Specs: []string{pushAckTopicName, formatName, qosPublishName}},
	}
}

// notApplicable names specs that only ever report "not applicable" in the
// sim and so have no quirk: none.
func notApplicable() []string { return nil }
