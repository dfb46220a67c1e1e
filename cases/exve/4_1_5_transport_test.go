package exve_test

// 4.1.5: HTTPS with TLS 1.2 or later, HTTP/1.1 or later, stateless.

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/icoc-dev/icoc/harness"
	. "github.com/onsi/ginkgo/v2"
)

// rawRequest writes one request by hand: method, path below the base URI
// and protocol, with Host, a bearer token and Accept.
func rawRequest(ctx SpecContext, method, path, proto string) string {
	tok, err := opc().Token(ctx)
	if err != nil {
		Fail("token: " + err.Error())
	}
	return fmt.Sprintf("%s %s%s %s\r\nHost: %s\r\nAuthorization: Bearer %s\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
		method, strings.TrimRight(ex.Base.Path, "/"), path, proto, ex.Base.Host, tok)
}

// REQ_04_01_01: "The REST-based web services interface implementation
// shall use HTTPS as the transport protocol with TLS."
var _ = op("REQ_04_01_01", "a request in plain HTTP (no TLS) to the offering party's port is not served", qs("plain-http"),
	func(ctx SpecContext, q harness.Requirement) {
		head, err := ex.RawExchange(ctx, ex.Host(), false, rawRequest(ctx, "GET", "/vehicles", "HTTP/1.1"))
		check(!strings.HasPrefix(head, "HTTP/1.1 2") && !strings.HasPrefix(head, "HTTP/1.0 2"), q,
			"no answer, or an error answer, to plain HTTP on "+ex.Host(), "%q (read: %v)", firstLine(head), err)
	})

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\r\n"); return l }

// statusOf parses the status code of a status line.
func statusOf(line string) int {
	var proto string
	var code int
	if _, err := fmt.Sscanf(line, "%s %d", &proto, &code); err != nil {
		return 0
	}
	return code
}

// REQ_04_01_02: "HTTP shall only be used with version 1.1 or higher
// compatible versions." (I-207: an HTTP/1.0 request gets 4xx or 5xx.)
var _ = op("REQ_04_01_02", "an HTTP/1.0 request is refused with a 4xx or 5xx, not served", qs("http10-served"),
	func(ctx SpecContext, q harness.Requirement) {
		head, err := ex.RawExchange(ctx, ex.Host(), true, rawRequest(ctx, "GET", "/vehicles", "HTTP/1.0"))
		code := statusOf(firstLine(head))
		check(err == nil && code >= 400 && code <= 599, q, "a 4xx or 5xx answer to GET {b}/vehicles HTTP/1.0 (505 by I-207)",
			"%q (read: %v)", firstLine(head), err)
	})

var _ = withVariants("REQ_04_01_02", "", harness.ExVeOPQuirkPrefix+"http10-400")

// tlsVersions judges REQ_04_01_03 at addr: TLS 1.0 and 1.1 refused, a
// handshake offering 1.2 and 1.3 succeeds with one of them.
func tlsVersions(ctx SpecContext, q harness.Requirement, addr, who string) {
	GinkgoHelper()
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		st, err := ex.DialTLS(ctx, addr, v, v)
		check(err != nil, q, fmt.Sprintf("%s refuses a handshake offering only %s", who, tls.VersionName(v)),
			"the handshake succeeded with %s", tls.VersionName(st.Version))
	}
	st, err := ex.DialTLS(ctx, addr, tls.VersionTLS12, tls.VersionTLS13)
	check(err == nil && st.Version >= tls.VersionTLS12, q, who+" takes a handshake offering TLS 1.2 and 1.3",
		"version %s, error %v", tls.VersionName(st.Version), err)
}

// REQ_04_01_03: "TLS shall only be used with version 1.2 or higher
// versions." (I-208)
var _ = op("REQ_04_01_03", "TLS 1.0 and 1.1 are refused; a client offering TLS 1.2 and 1.3 gets one of them", qs("tls10"),
	func(ctx SpecContext, q harness.Requirement) {
		tlsVersions(ctx, q, ex.Host(), "the offering party")
	})

var _ = withVariants("REQ_04_01_03", "TLS 1.0", harness.ExVeOPQuirkPrefix+"tls13-only")

var _ = ap("REQ_04_01_03", "the accessing party's callback refuses TLS 1.0 and 1.1 and takes TLS 1.2 or 1.3", aqs("callback-tls10"),
	func(ctx SpecContext, q harness.Requirement) {
		addr := ex.APCallbackAddr()
		if addr == "" {
			Skip("not applicable: the profile gives no exve.ap_callback address")
		}
		tlsVersions(ctx, q, addr, "the accessing party's callback")
	})

// REQ_04_01_05: "The request/reply REST implementation shall be stateless;
// i.e. the offering party server shall not maintain any accessing party
// client context or session information." (I-234)
var _ = op("REQ_04_01_05", "no answer sets a cookie, and a request on a fresh connection gets what it gets on a kept one", qs("set-cookie"),
	func(ctx SpecContext, q harness.Requirement) {
		first := get(ctx, "/vehicles?limit=3")
		second := get(ctx, "/vehicles?limit=3")
		fresh := ex.NewClient("main").Do(ctx, "GET", "/vehicles?limit=3")
		for i, r := range []*respT{first, second, fresh} {
			status(q, r, 200)
			check(len(r.Header.Values("Set-Cookie")) == 0, q, "no Set-Cookie in any answer", "answer %d: %s", i+1, r.Describe())
		}
		check(idsOf(second) == idsOf(fresh), q, "the same vehicles on a fresh connection as on the kept one",
			"kept: %s\nfresh: %s", idsOf(second), idsOf(fresh))
	})

// idsOf lists the vehicle IDs of a vehicle list.
func idsOf(r *respT) string {
	var ids []string
	for _, v := range items(r, "vehicles") {
		ids = append(ids, fmt.Sprint(obj(v)["id"]))
	}
	return strings.Join(ids, ",")
}
