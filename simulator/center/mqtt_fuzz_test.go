package center

import (
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/spec"
)

// FuzzMQTTTopic fuzzes the parsing the center does of what an MQTT client
// sends (7.2.5.2, 7.2.5.7): the PUBLISH topic, the VIN the broker's ACL
// reads from a topic, whether a topic is an upload, and the CONNECT's
// username and password against the one-time passwords issued.
//
//   - a topic spec.ParseMQTTPublishTopic accepts builds again to itself
//     (spec.MQTTPublishTopic), TopicVIN reads its first level and
//     isUploadTopic says V2C; one it refuses gets an error wrapping
//     spec.ErrTopicLevel that quotes the topic or the level at fault.
//   - TopicVIN never panics, and reads a level of the topic.
//   - the OTP check accepts a username and password only when they are
//     the VIN and the OTP issued to it, and only once.
func FuzzMQTTTopic(f *testing.F) {
	const vin = "JT1TESTVH00000001"
	f.Add(vin+"/can/V2C", vin, "")
	f.Add(vin+"/push/C2V", vin, "otp")
	f.Add("/upload/"+vin, "", "")
	f.Add("/push/"+vin+"/1/2", vin+" ", "x")
	f.Add(vin+"/can/v2c", "JT1TESTVH0000000", "")
	f.Add(vin+"/+/V2C", vin, "\x00")
	f.Add("a//V2C", "", "")
	f.Add("", "", "")
	f.Add("/", "", "")
	f.Add("\xff/app/V2C", "\xff", "\xff")
	f.Fuzz(func(t *testing.T, topic, username, password string) {
		id, app, dir, err := spec.ParseMQTTPublishTopic(topic)
		if err == nil {
			back, berr := spec.MQTTPublishTopic(id, app, dir)
			if berr != nil || back != topic {
				t.Fatalf("topic %q parsed to (%q, %q, %q), which builds %q (%v)", topic, id, app, dir, back, berr)
			}
			if got := TopicVIN(topic); got != id {
				t.Fatalf("topic %q: TopicVIN %q, parsed vehicle id %q", topic, got, id)
			}
			if isUploadTopic(topic) != (dir == spec.V2C) {
				t.Fatalf("topic %q (direction %s): isUploadTopic %v", topic, dir, isUploadTopic(topic))
			}
		} else {
			if !errors.Is(err, spec.ErrTopicLevel) {
				t.Fatalf("topic %q refused with an error that does not wrap ErrTopicLevel: %v", topic, err)
			}
			if !strings.Contains(err.Error(), "\"") {
				t.Fatalf("topic %q refused without quoting what is at fault: %v", topic, err)
			}
		}
		levels := strings.Split(topic, "/")
		if got := TopicVIN(topic); !slices.Contains(levels, got) {
			t.Fatalf("topic %q: TopicVIN %q is none of its levels", topic, got)
		}

		// The OTP check, as the broker runs it on a CONNECT.
		var o otpStore
		thumb := sha256.Sum256([]byte("the vehicle's client certificate"))
		otp := o.issue(vin, thumb, time.Hour)
		code := o.check(vin, thumb, username, password, Quirks{})
		want := 0x86
		if username == vin && password == otp {
			want = 0
		}
		if code != want {
			t.Fatalf("CONNECT username %q password %q (issued %q to %s): CONNACK 0x%02X, want 0x%02X", username, password, otp, vin, code, want)
		}
		again := o.check(vin, thumb, vin, otp, Quirks{})
		switch {
		case code == 0 && again != 0x86:
			t.Fatalf("the OTP was accepted twice (second CONNACK 0x%02X)", again)
		case code != 0 && again != 0:
			t.Fatalf("after a refused CONNECT (username %q password %q) the OTP issued is refused too: CONNACK 0x%02X", username, password, again)
		}
	})
}
