package mqtt_test

import "github.com/icoc-dev/icoc/harness"

// quirkCases pairs each quirk with the specs that must catch it.
func quirkCases() []harness.QuirkCase {
	var out []harness.QuirkCase
	for _, f := range []func() []harness.QuirkCase{reasonQuirks, waitQuirks, basicsQuirks, topicQuirks, headerQuirks, sessionQuirks, brokerQuirks} {
		out = append(out, f()...)
	}
	return out
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
