package visscases

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/icoc-dev/icoc/harness/vissclient"
)

// v3.0 TRANSPORT 4.2 HTTPS / Gen2 TRANSPORT 5.1 HTTPS.
func (t *T) needHTTP() {
	if t.ep.HTTP == "" {
		t.skip("the DUT profile gives no https endpoint for its " + t.d.Tag + " server")
	}
}

func (t *T) httpGet(path, query, token string) *vissclient.HTTPResponse {
	t.needHTTP()
	r, err := vissclient.HTTPGet(t.ctx, t.ep, t.run().VISS.TLS, path, query, token)
	if err != nil {
		t.fail("an HTTPS answer to GET /"+path, err.Error())
	}
	t.conform(r.Msg)
	return r
}

func init() {
	add(&specDef{
		topic: "https-get",
		// "The client MAY send a HTTPS GET request message to the server to get one or more value(s) of one or more vehicle signal(s). If the server can fulfill the request, it SHALL return a response containing the requested value(s)."
		v3: &clause{"T4.2.2.1", "The client MAY send a HTTPS GET request message to the server to get one or more value(s) of one or more vehicle signal(s). If the server can fulfill the request, it SHALL return a response containing the requested value(s)."},
		// "The client MAY send a HTTPS GET request message to the server to get the value of one or more vehicle signals. If the server is able to satisfy the request it SHALL return a response containing the requested value(s)."
		gen2:   &clause{"T5.1.2.1", "The client MAY send a HTTPS GET request message to the server to get the value of one or more vehicle signals. If the server is able to satisfy the request it SHALL return a response containing the requested value(s)."},
		text:   "GET /Vehicle/Speed returns 200 and the value the harness put on the CAN bus",
		quirks: []string{"stale-value", "wrong-scale"},
		body: func(t *T) {
			t.put(map[string]float64{pathSpeed: 5})
			t.wait(t.gap())
			t.put(map[string]float64{pathSpeed: 77.7})
			want := t.latest(pathSpeed)
			t.wait(t.settle())
			r := t.httpGet("Vehicle/Speed", "", "")
			t.check(r.Status == http.StatusOK, "200 OK", fmt.Sprintf("%d %s", r.Status, r.Msg.Raw))
			v, _, ok := t.single(r.Msg)
			eq, why := t.equal(pathSpeed, want.Value, v)
			t.check(ok && eq, "the value "+want.Value.Wire()+" the bus carried last", why+": "+string(r.Msg.Raw))
		},
	}, &specDef{
		topic: "https-status",
		// "If the server is unable to fulfill the request, e.g. because the client is not authorized to retrieve one or more of the signals, then it SHALL respond with an appropriate error status code."
		v3: &clause{"T4.2.2.1", "If the server is unable to fulfill the request, e.g. because the client is not authorized to retrieve one or more of the signals, then it SHALL respond with an appropriate error status code."},
		// "If the server is unable to fulfil the request, e.g. because the client is not authorized to retrieve one or more of the signals, then the server response SHALL have the status code set to indicate error."
		gen2:   &clause{"T5.1.2.1", "If the server is unable to fulfil the request, e.g. because the client is not authorized to retrieve one or more of the signals, then the server response SHALL have the status code set to indicate error."},
		text:   "a GET of an unknown path and a GET of an access-controlled one without a token are answered with the error's status code",
		quirks: []string{"http-status-200"},
		body: func(t *T) {
			for _, p := range []string{"Vehicle/NoSuchNode", strings.ReplaceAll(pathOdometer, ".", "/")} {
				r := t.httpGet(p, "", "")
				n, reason, ok := r.Msg.ErrorCode()
				t.check(ok && r.Status == n && n >= 400, "an error status equal to the error's number", fmt.Sprintf("status %d, error %d %s: %s", r.Status, n, reason, r.Msg.Raw))
			}
		},
	}, &specDef{
		topic: "https-set",
		// "The client MAY send a request to update the value of a signal. If the server can fulfill the request, it SHALL return a setSuccessResponse message. If an error occurs, e.g. because the client is not authorized to set the requested value, or the value is read-only, the server SHALL return a setErrorResponse message."
		v3: &clause{"T4.2.2.6", "If an error occurs, e.g. because the client is not authorized to set the requested value, or the value is read-only, the server SHALL return a setErrorResponse message."},
		// "If the server is able to satisfy the request its response SHALL have a 200 OK status code set. If an error occurs e.g. because the client is not authorized to set the requested value, or the value is read-only, the server response SHALL have the status code set to indicate error."
		gen2:   &clause{"T5.1.2.5", "If the server is able to satisfy the request its response SHALL have a 200 OK status code set. If an error occurs e.g. because the client is not authorized to set the requested value, or the value is read-only, the server response SHALL have the status code set to indicate error."},
		text:   "POST of an actuator with a token succeeds and POST of a sensor is refused",
		quirks: []string{"set-on-sensor-ok", "set-refused"},
		body: func(t *T) {
			t.needHTTP()
			tok := t.tokenFor(pathTrip, true)
			r, err := vissclient.HTTPPost(t.ctx, t.ep, t.run().VISS.TLS, strings.ReplaceAll(pathTrip, ".", "/"), "3", tok)
			if err != nil {
				t.fail("an answer", err.Error())
			}
			t.conform(r.Msg)
			t.check(r.Status == http.StatusOK, "200 OK for POST of the actuator "+pathTrip, fmt.Sprintf("%d %s", r.Status, r.Msg.Raw))
			r, err = vissclient.HTTPPost(t.ctx, t.ep, t.run().VISS.TLS, "Vehicle/Speed", "3", "")
			if err != nil {
				t.fail("an answer", err.Error())
			}
			t.conform(r.Msg)
			t.expectSituation(r.Msg, "set-on-sensor", "POST of the sensor Vehicle.Speed")
		},
	}, &specDef{
		topic: "bearer",
		// "For HTTP requests, tokens SHALL be included in Authorization header."
		v3: &clause{"T3.3", "For HTTP requests, tokens SHALL be included in Authorization header."},
		// "Tokens are integrated in HTTP requests in the Authorization header."
		gen2:   &clause{"T4.3", "Tokens are integrated in HTTP requests in the Authorization header."},
		text:   "GET of an access-controlled node succeeds with the token in an Authorization: Bearer header",
		quirks: []string{"valid-token-refused"},
		body: func(t *T) {
			node := t.readNode()
			tok := t.tokenFor(node, false)
			t.put(map[string]float64{node: 34.5})
			want := t.latest(node)
			t.wait(t.settle())
			r := t.httpGet(strings.ReplaceAll(node, ".", "/"), "", tok)
			v, _, _ := t.single(r.Msg)
			eq, why := t.equal(node, want.Value, v)
			t.check(r.Status == http.StatusOK && eq, "200 OK and the value "+want.Value.Wire(), fmt.Sprintf("%d, %s: %s", r.Status, why, r.Msg.Raw))
		},
	})
}
