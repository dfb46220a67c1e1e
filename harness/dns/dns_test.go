package dns

import (
	"fmt"
	"net"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// LookupA is a one-query resolver for the tests.
func LookupA(server, name string, timeout time.Duration) ([]string, error) {
	c := &mdns.Client{Net: "udp", Timeout: timeout}
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), mdns.TypeA)
	r, _, err := c.Exchange(m, server)
	if err != nil {
		return nil, err
	}
	if r.Rcode != mdns.RcodeSuccess {
		return nil, fmt.Errorf("%s: %s", name, mdns.RcodeToString[r.Rcode])
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*mdns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out, nil
}

func TestServerModes(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Set("crl.icoc.test", net.ParseIP("127.0.0.2"), net.ParseIP("127.0.0.1"))
	got, err := LookupA(s.Addr(), "crl.icoc.test", time.Second)
	if err != nil || len(got) != 2 || got[0] != "127.0.0.2" || got[1] != "127.0.0.1" {
		t.Fatalf("several answers: %v %v", got, err)
	}
	if _, err := LookupA(s.Addr(), "unknown.icoc.test", time.Second); err == nil {
		t.Error("unknown name resolved")
	}
	s.SetMode("crl.icoc.test", NoAnswer, 0)
	start := time.Now()
	if _, err := LookupA(s.Addr(), "crl.icoc.test", 100*time.Millisecond); err == nil {
		t.Error("no answer: resolved")
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > time.Second {
		t.Errorf("no answer: gave up after %v", d)
	}
	s.SetMode("crl.icoc.test", Slow, 200*time.Millisecond)
	if _, err := LookupA(s.Addr(), "crl.icoc.test", 100*time.Millisecond); err == nil {
		t.Error("slow answer beat the timeout")
	}
	if _, err := LookupA(s.Addr(), "crl.icoc.test", time.Second); err != nil {
		t.Errorf("slow answer within the timeout: %v", err)
	}
	if n := len(s.Queries("crl.icoc.test", start)); n != 3 {
		t.Errorf("%d queries logged, want 3", n)
	}
}
