package revfetch

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/miekg/dns"
)

func read(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(pki.Path(f))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckFixtures(t *testing.T) {
	now := pki.ReferenceTime()
	cert := func(n pki.Name) *x509C {
		c, err := pki.LoadCertificate(n)
		if err != nil {
			t.Fatal(err)
		}
		return &x509C{c}
	}
	inter, center, revoked, veh := cert(pki.Intermediate), cert(pki.CenterECDSA), cert(pki.CenterRevoked), cert(pki.Vehicle)
	for _, c := range []struct {
		file string
		leaf *x509C
		want Verdict
	}{
		{pki.IntermediateCRL, center, Good},
		{pki.IntermediateCRL, revoked, Revoked},
		{pki.IntermediateCRLExpired, center, Expired},
		{pki.IntermediateCRLBadSignature, center, BadSignature},
	} {
		if v, _, err := CheckCRL(read(t, c.file), c.leaf.Certificate, inter.Certificate, now, CheckOptions{}); v != c.want {
			t.Errorf("CRL %s for %s: %v (%v), want %v", c.file, c.leaf.Subject.CommonName, v, err, c.want)
		}
	}
	for _, c := range []struct {
		file string
		want Verdict
	}{
		{pki.OCSPVehicleGood, Good},
		{pki.OCSPVehicleRevoked, Malformed}, // about another serial
		{pki.OCSPVehicleExpired, Expired},
		{pki.OCSPVehicleUnknown, Malformed},
		{pki.OCSPVehicleBadSignature, BadSignature},
		{pki.OCSPVehicleUntrusted, Untrusted},
	} {
		if v, _, err := CheckOCSP(read(t, c.file), veh.Certificate, inter.Certificate, now, CheckOptions{}); v != c.want {
			t.Errorf("OCSP %s: %v (%v), want %v", c.file, v, err, c.want)
		}
	}
	if !MustStaple(cert(pki.CenterMustStaple).Certificate) || MustStaple(center.Certificate) {
		t.Error("MustStaple")
	}
}

func TestFreshnessAndCache(t *testing.T) {
	now := time.Now()
	next := now.Add(time.Hour)
	h := http.Header{"Cache-Control": {"public, max-age=60"}}
	if got := FreshUntil(h, now, next); !got.Equal(now.Add(time.Minute)) {
		t.Errorf("max-age: %v", got)
	}
	if got := FreshUntil(http.Header{}, now, next); !got.Equal(next) {
		t.Errorf("no header: %v", got)
	}
	var c Cache
	old := Entry{ThisUpdate: now.Add(-time.Hour), NextUpdate: next, ETag: `"a"`}
	newer := Entry{ThisUpdate: now, NextUpdate: next, ETag: `"b"`}
	c.Put("k", newer)
	if c.Put("k", old) {
		t.Error("an older response replaced a newer one")
	}
	if e, _ := c.Get("k"); e.ETag != `"b"` || e.Conditional().Get("If-None-Match") != `"b"` {
		t.Errorf("entry %+v", e)
	}
	c.Clear()
	if c.Len() != 0 {
		t.Error("Clear")
	}
}

type x509C struct{ *x509.Certificate }

// A dual-stack lookup asks for A and AAAA at once, once each per attempt,
// and returns the A answer's addresses (then the AAAA answer's); without
// DualStack only an A query goes out.
func TestLookupDualStack(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var types []uint16
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		q := r.Question[0]
		mu.Lock()
		types = append(types, q.Qtype)
		mu.Unlock()
		m := new(dns.Msg)
		m.SetReply(r)
		if q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: net.IPv4(127, 0, 0, 7)})
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	defer srv.Shutdown()
	for _, dual := range []bool{false, true} {
		mu.Lock()
		types = nil
		mu.Unlock()
		f := &Fetcher{Resolver: pc.LocalAddr().String(), DualStack: dual}
		addrs, err := f.Lookup(context.Background(), "crl.icoc.test")
		if err != nil || len(addrs) != 1 || addrs[0] != "127.0.0.7" {
			t.Fatalf("dual stack %v: %v %v", dual, addrs, err)
		}
		mu.Lock()
		got := slices.Clone(types)
		mu.Unlock()
		slices.Sort(got)
		want := []uint16{dns.TypeA}
		if dual {
			want = []uint16{dns.TypeA, dns.TypeAAAA}
		}
		if !slices.Equal(got, want) {
			t.Errorf("dual stack %v: queries of types %v, want %v", dual, got, want)
		}
	}
}
