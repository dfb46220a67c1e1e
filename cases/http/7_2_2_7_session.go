package httpcases

import (
	"fmt"
	"net/http"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	. "github.com/onsi/ginkgo/v2"
)

// sessionCase is one session rule, judged over two uploads in a row.
type sessionCase struct {
	clause, text, quirk, rule string
	// the center sets a cookie on the first answer
	setCookie bool
	check     func(a, b harness.Attempt) (ok bool, expected, actual string)
}

func sessionCases(v Version) []sessionCase {
	if v == HTTP11 {
		return []sessionCase{
			{
				clause: "7.2.2.7", text: "HTTP/1.1 opens a new connection for every exchange", quirk: "h1-keep-alive",
				rule: "In case of using HTTP/1.1, basically session shall not be maintained.",
				check: func(a, b harness.Attempt) (bool, string, string) {
					return a.ConnID != b.ConnID && !b.Reused, "two connections", fmt.Sprintf("connections %d and %d", a.ConnID, b.ConnID)
				},
			},
			{
				clause: "7.2.2.7", text: "HTTP/1.1 sends no Cookie, even when the center sets one", quirk: "h1-cookie", setCookie: true,
				rule: "In case of using HTTP/1.1, basically session shall not be maintained. (Cookie shall not be used.)",
				check: func(_, b harness.Attempt) (bool, string, string) {
					c := b.Header.Values("Cookie")
					return len(c) == 0, "no Cookie header on the second upload", fmt.Sprintf("Cookie: %q", c)
				},
			},
		}
	}
	return []sessionCase{
		{
			clause: "7.2.3.7", text: "HTTP/2 reuses one connection for every exchange", quirk: "h2-new-connection",
			rule: "6.1.1: Design in which each in-Car unit reuse one session is required. 6.3: Sessions [...] should be maintained as much as possible.",
			check: func(a, b harness.Attempt) (bool, string, string) {
				return a.ConnID == b.ConnID, "both uploads on one connection", fmt.Sprintf("connections %d and %d", a.ConnID, b.ConnID)
			},
		},
		{
			clause: "7.2.3.7", text: "HTTP/2 returns the sticky-session cookie the center set", quirk: "h2-no-cookie", setCookie: true,
			rule: "In case that stateful connection is required based on session management by the center with ALB configured environment, use sticky sessions (Cookie).",
			check: func(_, b harness.Attempt) (bool, string, string) {
				r := &http.Request{Header: b.Header}
				c, err := r.Cookie(center.SessionCookie)
				return err == nil && c.Value == "sticky-1", center.SessionCookie + "=sticky-1 on the second upload", fmt.Sprintf("Cookie: %q", b.Header.Values("Cookie"))
			},
		},
	}
}

// 7.2.2.7 / 7.2.3.7 Session management: HTTP/1.1 keeps no session and no
// cookie; HTTP/2 keeps one connection and the center's sticky cookie.
func (s *suite) sessions() {
	Describe("Session management over "+s.v.Name, func() {
		for _, c := range sessionCases(s.v) {
			It(harness.SpecName(c.clause, c.text), harness.Labels(s.v.Label, harness.VehicleDUT), func(ctx SpecContext) {
				run := s.r()
				run.Requires(s.v.Cap, "data-upload")
				req := harness.Requirement{Clause: c.clause, Rule: c.rule}
				s.speak()
				if c.setCookie {
					h := http.Header{}
					h.Add("Set-Cookie", (&http.Cookie{Name: center.SessionCookie, Value: "sticky-1", Path: "/"}).String())
					run.Faults.Set(center.Fault{Times: 1, Status: 200, Header: h, PathPrefix: "/files/"})
				}
				stA := s.triggerUpload(ctx, true)
				a := s.awaitAnswered(req, stA, 0, 30*time.Second)
				expectStatus(req, a, 200, "a good upload, before the second one is judged")
				stB := s.triggerUpload(ctx, true)
				b := s.awaitFirst(req, stB, 20*time.Second)
				if ok, expected, actual := c.check(a, b); !ok {
					Fail(harness.Verdict(req, expected, actual))
				}
			})
		}
	})
}

func sessionQuirks(v Version) []harness.QuirkCase {
	var out []harness.QuirkCase
	for _, c := range sessionCases(v) {
		out = append(out, harness.QuirkCase{Quirk: c.quirk, Specs: []string{harness.FormatName(c.clause, c.text)}})
	}
	return out
}
