// Package exve is the harness's side of ISO 20078-2 (ExVe web services):
// with an offering party as the device under test the harness plays the
// accessing party (an HTTPS client with OAuth 2.0 client credentials, and a
// callback with a token endpoint mounted on the harness's center, so every
// push lands on the run's timeline and the run's fault plan can break the
// callback); with an accessing party as the device under test it plays the
// offering party (the reference offering party on the harness's center,
// which the fault plan bends: rate-limit windows, any status, stalls) and
// drives the accessing party through its actions. Against the simulators
// the offering party DUT is the reference offering party on the harness's
// center, fed by the reference vehicle's real uploads; the accessing party
// DUT is the reference accessing party on a listener of its own.
package exve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/simulator/center"
	exveop "github.com/icoc-dev/icoc/simulator/exve"
	"github.com/icoc-dev/icoc/simulator/exveap"
)

// ExVe is the ExVe side of one run.
type ExVe struct {
	Run *harness.Run
	// Cfg is the profile's exve section, with defaults.
	Cfg harness.ExVeConfig
	// Catalogue is what the offering party declares.
	Catalogue exveop.Catalogue
	// Base is the offering party's base URI; TokenURL its token endpoint.
	Base     *url.URL
	TokenURL string
	// Roots are the roots the harness trusts for the DUT's TLS.
	Roots *x509.CertPool
	// Center is where the reference offering party and the harness's
	// callback are mounted (the run's center, or one of its own when the
	// run has none); its recorder and fault plan are the run's.
	Center *center.Server
	// OP is the reference offering party (the DUT in the sim, or the
	// harness's own offering party for an accessing party DUT); nil when
	// the offering party is a real device.
	OP *exveop.OfferingParty
	// AP is the harness's accessing party: its callback and token endpoint
	// take the offering party DUT's pushes.
	AP *exveap.AP
	// DUTAP drives the accessing party DUT; RefAP is the reference
	// accessing party when it is the DUT.
	DUTAP Driver
	RefAP *exveap.AP

	ownCenter bool
	mu        sync.Mutex
	clients   map[string]*Client
}

// Driver makes the accessing party DUT act: one of exveap's actions
// (read, burst, readout, subscribe) with its arguments.
type Driver interface {
	Do(ctx context.Context, action string, args map[string]string) error
}

// Setup is the suite option that starts the ExVe side once the run has
// started and stores it in *out; the run's stop stops it.
func Setup(out **ExVe) harness.Option {
	return harness.AfterStart(func(r *harness.Run) error {
		e, err := Start(r)
		if err != nil {
			return fmt.Errorf("exve: %w", err)
		}
		*out = e
		r.AtStop(e.Close)
		return nil
	})
}

// Start starts what the profile's ExVe roles need.
func Start(r *harness.Run) (*ExVe, error) {
	p := r.Profile
	e := &ExVe{Run: r, Cfg: p.ExVe, Catalogue: p.ExVeCatalogue(), clients: map[string]*Client{}}
	rootFile := e.Cfg.RootCAFile
	if rootFile == "" {
		rootFile = p.DUT.RootCAFile
	}
	pem, err := os.ReadFile(rootFile)
	if err != nil {
		return nil, fmt.Errorf("profile %s: exve.root_ca_file: %w", p.Source, err)
	}
	e.Roots = x509.NewCertPool()
	if !e.Roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("profile %s: %s: no PEM certificate", p.Source, rootFile)
	}
	opRole, apRole := p.HasRole(harness.RoleOfferingParty), p.HasRole(harness.RoleAccessingParty)
	if !opRole && !apRole {
		return e, nil
	}
	e.Center = r.Center
	if e.Center == nil {
		cc := center.NewDefaultConfig()
		cc.Addr = p.Center.Listen
		cc.CertFile, cc.KeyFile, cc.ClientCAFile = p.Center.CertFile, p.Center.KeyFile, p.Center.ClientCAFile
		c, err := center.New(cc)
		if err != nil {
			return nil, err
		}
		c.AddHook(r.Recorder)
		c.AddHook(r.Faults)
		if err := c.Start(); err != nil {
			return nil, err
		}
		e.Center, e.ownCenter = c, true
	}
	realOP := opRole && !p.DUT.Simulated
	if !realOP {
		oc := exveop.NewDefaultConfig()
		oc.Addr = e.Cfg.OPListen
		oc.CertFile, oc.KeyFile = p.Center.CertFile, p.Center.KeyFile
		oc.RootCAFiles = []string{rootFile}
		oc.TimeScale = p.Clock.Scale
		oc.Quirks = r.QuirksOf(harness.ExVeOPQuirkPrefix)
		oc.ConsentGranted = []string{p.DUT.VIN}
		oc.Logf = func(f string, a ...any) { harnessLog(r, "exve offering party: "+f, a...) }
		op, err := exveop.New(oc, e.Center)
		if err != nil {
			e.Close()
			return nil, err
		}
		if err := op.Start(); err != nil {
			e.Close()
			return nil, err
		}
		e.OP = op
		e.Base, _ = url.Parse(op.BaseURI())
		e.TokenURL = op.TokenEndpoint()
	} else {
		e.Base, _ = url.Parse(e.Cfg.BaseURI)
		e.TokenURL = e.Cfg.TokenEndpoint
		if e.TokenURL == "" {
			e.TokenURL = strings.TrimRight(e.Cfg.BaseURI, "/") + exveop.TokenPath
		}
	}
	if opRole {
		ac := exveap.NewDefaultConfig()
		ac.CertFile, ac.KeyFile = p.Center.CertFile, p.Center.KeyFile
		ac.RootCAFiles = []string{rootFile}
		ac.OfferingParty, ac.TokenEndpoint = e.Base.String(), e.TokenURL
		ac.ClientID, ac.ClientSecret = e.Cfg.Clients.Main.ID, e.Cfg.Clients.Main.Secret
		ac.TimeScale = p.Clock.Scale
		if e.Cfg.CallbackBaseURI != "" {
			u, err := url.Parse(e.Cfg.CallbackBaseURI)
			if err != nil {
				e.Close()
				return nil, fmt.Errorf("profile %s: exve.callback_base_uri: %w", p.Source, err)
			}
			ac.PublicHost, ac.BasePath = u.Host, u.Path
		}
		ap, err := exveap.New(ac)
		if err != nil {
			e.Close()
			return nil, err
		}
		if err := ap.Mount(e.Center, e.Cfg.CallbackListen); err != nil {
			e.Close()
			return nil, err
		}
		e.AP = ap
	}
	if apRole {
		if p.DUT.Simulated {
			ac := exveap.NewDefaultConfig()
			ac.CertFile, ac.KeyFile = p.Center.CertFile, p.Center.KeyFile
			ac.RootCAFiles = []string{rootFile}
			ac.OfferingParty, ac.TokenEndpoint = e.Base.String(), e.TokenURL
			ac.ClientID, ac.ClientSecret, ac.Scopes = e.Cfg.APClient.ID, e.Cfg.APClient.Secret, e.Cfg.APClient.Scopes
			ac.TimeScale = p.Clock.Scale
			ac.Quirks = r.QuirksOf(harness.ExVeAPQuirkPrefix)
			ap, err := exveap.New(ac)
			if err != nil {
				e.Close()
				return nil, err
			}
			if err := ap.Listen(); err != nil {
				e.Close()
				return nil, err
			}
			e.RefAP, e.DUTAP = ap, ap
		} else {
			e.DUTAP = &commandDriver{argv: e.Cfg.APCommand, env: []string{"ICOC_EXVE_BASE_URI=" + e.Base.String(), "ICOC_EXVE_TOKEN_ENDPOINT=" + e.TokenURL}}
		}
	}
	return e, nil
}

func harnessLog(r *harness.Run, format string, args ...any) {
	if os.Getenv("ICOC_VERBOSE") != "" {
		fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
	}
}

// Close stops what Start started.
func (e *ExVe) Close() {
	if e.RefAP != nil {
		e.RefAP.Close()
	}
	if e.OP != nil {
		e.OP.Close()
	}
	if e.ownCenter && e.Center != nil {
		_ = e.Center.Close()
	}
}

// APCallbackAddr is the host:port of the accessing party DUT's callback.
func (e *ExVe) APCallbackAddr() string {
	if e.RefAP != nil {
		return e.RefAP.CallbackAddr()
	}
	return e.Cfg.APCallback
}

// Client returns the harness's client "main", "limited" or "short"; the
// same one every time (its connections and token are kept).
func (e *ExVe) Client(which string) *Client {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.clients[which]; c != nil {
		return c
	}
	c := e.NewClient(which)
	e.clients[which] = c
	return c
}

// NewClient returns a new client "main", "limited" or "short": new
// connections, its own token.
func (e *ExVe) NewClient(which string) *Client {
	id := e.Cfg.Clients.Main
	switch which {
	case "limited":
		id = e.Cfg.Clients.Limited
	case "short":
		id = e.Cfg.Clients.Short
	}
	return newClient(e, which, id)
}

// TLSClientConfig is the harness's client TLS towards the DUT: its roots,
// TLS 1.2 or later unless the caller narrows it.
func (e *ExVe) TLSClientConfig() *tls.Config {
	return &tls.Config{RootCAs: e.Roots, MinVersion: tls.VersionTLS12}
}

// commandDriver runs a real accessing party's actions as commands.
type commandDriver struct {
	argv []string
	env  []string
}

// Do runs the command once for the action, arguments sorted by key.
func (d *commandDriver) Do(ctx context.Context, action string, args map[string]string) error {
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	argv := append(append([]string(nil), d.argv...), action)
	for _, k := range keys {
		argv = append(argv, k+"="+args[k])
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), d.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("accessing party command %q: %v; output:\n%s", strings.Join(argv, " "), err, out)
	}
	return nil
}

// ErrNoOffering says the run has no offering party.
var ErrNoOffering = errors.New("the run has no ExVe offering party")
