package harness

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/harness/dns"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/simulator/vehicle"
)

// CenterQuirkPrefix marks a quirk of the reference center in ICOC_QUIRKS
// ("center.accept-expired-client-cert"); every other quirk is the
// reference vehicle's. See also RunQuirkSelfTest.
const CenterQuirkPrefix = "center."

// splitQuirks returns the vehicle's and the center's quirks (the latter
// without the prefix).
func splitQuirks(all []string) (veh, cen []string) {
	for _, q := range all {
		if c, ok := strings.CutPrefix(q, CenterQuirkPrefix); ok {
			cen = append(cen, c)
		} else {
			veh = append(veh, q)
		}
	}
	return veh, cen
}

// TLSRun is the TLS side of a run (7.1.1): the harness's CRL distribution
// point and OCSP responder, the log of every connection, ClientHello and
// handshake the harness's center saw, and, when the DUT is a center, the
// DUT (a separate reference center in the sim).
type TLSRun struct {
	// Revocation is the harness's CDP and OCSP responder (crl.icoc.test,
	// ocsp.icoc.test). Nil when the harness does not play the center.
	Revocation *center.RevocationServer
	// DNS is the DNS server the DUT resolves the CDP/OCSP hosts with; it
	// answers crl.icoc.test and ocsp.icoc.test with the loopback address
	// of Revocation (whose port the DUT is told).
	DNS *dns.Server
	// CenterDUT is the reference center the harness starts as the DUT when
	// the profile's DUT is a simulated center; nil otherwise.
	CenterDUT *center.Server

	// names resolve to addr (profile center.harness_address) in DNS.
	names []string
	addr  net.IP
}

// Revocation host names of the test PKI's CDP and OCSP URLs.
const (
	CRLHost  = "crl.icoc.test"
	OCSPHost = "ocsp.icoc.test"
)

// ResetDNS makes the CDP/OCSP hosts and the center's names resolve to the
// harness (the profile's center.harness_address) again, answered at once.
func (t *TLSRun) ResetDNS() {
	if t.DNS == nil {
		return
	}
	for _, h := range t.names {
		t.DNS.Set(h, t.addr)
	}
}

// RevocationPort is the TCP port of the harness's responder.
func (t *TLSRun) RevocationPort() int {
	if t.Revocation == nil {
		return 0
	}
	_, port, _ := net.SplitHostPort(t.Revocation.Addr())
	n, _ := strconv.Atoi(port)
	return n
}

// startTLS starts the TLS side of the run once the harness's center runs:
// the recorder hears every ClientHello and, when the harness plays the
// center, its CDP/OCSP responder from the test PKI runs.
func (r *Run) startTLS() error {
	cc := r.Profile.Center
	t := &TLSRun{addr: net.ParseIP(cc.HarnessAddress), names: []string{CRLHost, OCSPHost, cc.Host}}
	r.TLS = t
	if r.Center != nil {
		r.Center.OnClientHello(r.Recorder.OnClientHello)
		r.Center.SetClientResponseTimeout(0)
	}
	addr := r.Profile.Center.RevocationListen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	rs, err := NewRevocationServer(addr, r.logf)
	if err != nil {
		return err
	}
	if err := rs.Start(); err != nil {
		return err
	}
	t.Revocation = rs
	d, err := dns.Start(cc.DNSListen)
	if err != nil {
		return err
	}
	t.DNS = d
	t.ResetDNS()
	if r.Profile.HasRole("center") && r.Profile.DUT.Simulated {
		return r.startCenterDUT()
	}
	return nil
}

// startCenterDUT starts a separate reference center as the DUT, with the
// center's quirks, its client revocation checked at the harness's OCSP
// responder through the harness's DNS, and the profile's clock.
func (r *Run) startCenterDUT() error {
	p := r.Profile
	_, cq := splitQuirks(r.Quirks)
	cc := center.NewDefaultConfig()
	cc.Addr = "127.0.0.1:0"
	cc.CertFile, cc.KeyFile, cc.ClientCAFile = p.Center.CertFile, p.Center.KeyFile, p.Center.ClientCAFile
	applySpecToCenter(&cc, p.Spec)
	cc.ALPN = []string{"h2", "http/1.1"}
	cc.Quirks = cq
	cc.TLS.TimeScale = p.Clock.Scale
	cc.TLS.PartialChainCAFile = pki.Path(pki.Intermediate.CertFile())
	// 7.1.1.2.3: the RSA-3072 certificate beside the profile's ECDSA one.
	cc.TLS.AltCertFile, cc.TLS.AltKeyFile = pki.Path(pki.CenterRSA.ChainFile()), pki.Path(pki.CenterRSA.KeyFile())
	cc.TLS.ClientRevocation = center.ClientRevocation{Enabled: true, Resolver: r.TLS.DNS.Addr(), Port: r.TLS.RevocationPort()}
	cc.Logf = func(format string, args ...any) { r.logf("center DUT: "+format, args...) }
	c, err := center.New(cc)
	if err != nil {
		return fmt.Errorf("reference center (DUT): %w", err)
	}
	if err := c.Start(); err != nil {
		return fmt.Errorf("reference center (DUT): %w", err)
	}
	r.TLS.CenterDUT = c
	return nil
}

// CenterDUTAddr is where the center DUT listens: the simulated one's
// address, or the profile's center.address for a real one.
func (r *Run) CenterDUTAddr() string {
	if r.TLS != nil && r.TLS.CenterDUT != nil {
		return r.TLS.CenterDUT.Addr()
	}
	return r.Profile.Center.Address
}

// NewRevocationServer builds a CDP and OCSP responder for the test PKI:
// the root's and the intermediate's CRLs at the paths of their CDP URLs,
// OCSP answers by the delegated responder (and the rogue one for faults).
func NewRevocationServer(addr string, logf func(string, ...any)) (*center.RevocationServer, error) {
	cfg := center.PKIRevocationConfig(pki.Dir(), addr)
	cfg.Logf = logf
	return center.NewRevocationServer(cfg)
}

// configureVehicleTLS points a simulated vehicle DUT at the harness's CDP
// and OCSP responder and gives it only the vehicle's quirks.
func (r *Run) configureVehicleTLS(vc *vehicle.Config) {
	vc.Quirks, _ = splitQuirks(r.Quirks)
	vc.WildcardServerNames = r.Profile.DUT.WildcardServerNames
	if r.TLS != nil && r.TLS.Revocation != nil {
		vc.Revocation.Resolver = r.TLS.DNS.Addr()
		vc.Revocation.Port = r.TLS.RevocationPort()
	}
}

// stopTLS stops what startTLS started.
func (r *Run) stopTLS() {
	if r.TLS != nil && r.TLS.Revocation != nil {
		_ = r.TLS.Revocation.Close()
	}
	if r.TLS != nil && r.TLS.DNS != nil {
		_ = r.TLS.DNS.Close()
	}
	if r.TLS != nil && r.TLS.CenterDUT != nil {
		_ = r.TLS.CenterDUT.Close()
	}
}

// ResetTLS brings the harness's TLS side back to its state at start: the
// center's certificate from the profile, no staple, no handshake fault,
// the CDP/OCSP responder's CRLs and faults.
func (r *Run) ResetTLS() error {
	p := r.Profile
	if r.Center != nil {
		if err := r.Center.SetCertificates([2]string{p.Center.CertFile, p.Center.KeyFile}); err != nil {
			return err
		}
		r.Center.SetStaple(nil)
		r.Center.SetHandshakeFault(center.HandshakeNormal)
	}
	if r.TLS != nil && r.TLS.Revocation != nil {
		if err := r.TLS.Revocation.Reset(); err != nil {
			return fmt.Errorf("revocation server reset: %w", err)
		}
		r.TLS.ResetDNS()
	}
	return nil
}
