package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	exveop "github.com/icoc-dev/icoc/simulator/exve"
	"go.yaml.in/yaml/v3"
)

// The ISO 20078-2 roles a profile's dut.roles may hold besides vehicle and
// center.
const (
	RoleOfferingParty  = "offering-party"
	RoleAccessingParty = "accessing-party"
)

// ExVeConfig is the ExVe part of a profile (key exve): where an offering
// party DUT is and how the harness gets tokens from it, what it declares
// (its resource catalogue), and how the harness reaches and drives an
// accessing party DUT. For the built-in sim profile every field has a
// default that fits the reference simulators.
type ExVeConfig struct {
	// BaseURI is the offering party DUT's base URI (REQ_04_02_03); empty:
	// the reference offering party's.
	BaseURI string `yaml:"base_uri"`
	// TokenEndpoint is its OAuth 2.0 token endpoint (I-228); empty: the
	// base URI + /oauth2/token.
	TokenEndpoint string `yaml:"token_endpoint"`
	// RootCAFile is the root the DUT's TLS certificate (offering party, or
	// accessing party's callback) chains to; empty: dut.root_ca_file.
	RootCAFile string `yaml:"root_ca_file"`
	// Clients are the OAuth clients the harness uses: main (every scope of
	// the catalogue), limited (one resource's scope only: odometers) and
	// short (short-lived tokens, for the expiry specs).
	Clients ExVeClients `yaml:"clients"`
	// Catalogue is a file (YAML or JSON, simulator/exve's Catalogue shape)
	// with what the offering party declares; empty: the reference's.
	Catalogue string `yaml:"catalogue"`
	// RateLimitedResource is a resource with a rate limit small enough to
	// exceed in a spec (REQ_04_08_06); empty: engineReadings.
	RateLimitedResource string `yaml:"rate_limited_resource"`
	// PagingStart is the index of the first result for start= (I-227).
	PagingStart int `yaml:"paging_start"`
	// DeactivationWait bounds the wait for a deactivation after a push
	// fault (spec time, I-230); 0: 60 s.
	DeactivationWait time.Duration `yaml:"deactivation_wait"`
	// AsyncTimeout bounds an asynchronous readout (spec time); 0: 120 s.
	AsyncTimeout time.Duration `yaml:"async_timeout"`
	// UnconsentedVehicle is a vehicle ID whose resource owner has not
	// consented (REQ_04_14_03); empty: the first demo vehicle of the
	// reference.
	UnconsentedVehicle string `yaml:"unconsented_vehicle"`
	// CallbackListen is where the harness's callback (accessing party)
	// listens; CallbackBaseURI is how the offering party DUT reaches it
	// (empty: from the listener).
	CallbackListen  string `yaml:"callback_listen"`
	CallbackBaseURI string `yaml:"callback_base_uri"`
	// OPListen is where the harness's offering party listens for an
	// accessing party DUT.
	OPListen string `yaml:"op_listen"`
	// APCommand runs one action of a real accessing party DUT: the action
	// (read, burst, readout, subscribe) and key=value arguments are
	// appended; ICOC_EXVE_BASE_URI and ICOC_EXVE_TOKEN_ENDPOINT name the
	// harness's offering party. Empty for the reference accessing party.
	APCommand []string `yaml:"ap_command"`
	// APCallback is the host:port of a real accessing party DUT's callback
	// (for its TLS specs).
	APCallback string `yaml:"ap_callback"`
	// APClient is the client the accessing party DUT uses at the harness's
	// offering party; empty: icoc-ap-short of the reference.
	APClient ExVeClient `yaml:"ap_client"`

	// catalogue is the loaded catalogue.
	catalogue *exveop.Catalogue
}

// ExVeClients are the OAuth clients of ExVeConfig.
type ExVeClients struct {
	Main    ExVeClient `yaml:"main"`
	Limited ExVeClient `yaml:"limited"`
	Short   ExVeClient `yaml:"short"`
}

// ExVeClient is one OAuth client: its credentials and the scopes it asks
// for (empty: whatever the token endpoint grants).
type ExVeClient struct {
	ID     string   `yaml:"id"`
	Secret string   `yaml:"secret"`
	Scopes []string `yaml:"scopes"`
}

// ExVeCatalogue returns the catalogue the offering party declares.
func (p *Profile) ExVeCatalogue() exveop.Catalogue {
	if p.ExVe.catalogue != nil {
		return *p.ExVe.catalogue
	}
	return exveop.DefaultCatalogue()
}

// exveDefaults fills what the reference simulators need.
func (c *ExVeConfig) exveDefaults() {
	ref := exveop.NewDefaultConfig()
	if c.Clients.Main.ID == "" {
		c.Clients.Main = ExVeClient{ID: ref.Clients[0].ID, Secret: ref.Clients[0].Secret}
	}
	if c.Clients.Limited.ID == "" {
		c.Clients.Limited = ExVeClient{ID: ref.Clients[1].ID, Secret: ref.Clients[1].Secret}
	}
	if c.Clients.Short.ID == "" {
		c.Clients.Short = ExVeClient{ID: ref.Clients[2].ID, Secret: ref.Clients[2].Secret}
	}
	if c.APClient.ID == "" {
		c.APClient = c.Clients.Short
	}
	if c.RateLimitedResource == "" {
		c.RateLimitedResource = "engineReadings"
	}
	if c.DeactivationWait <= 0 {
		c.DeactivationWait = time.Minute
	}
	if c.AsyncTimeout <= 0 {
		c.AsyncTimeout = 2 * time.Minute
	}
	if c.UnconsentedVehicle == "" {
		c.UnconsentedVehicle = exveop.DemoVIN(1)
	}
	if c.CallbackListen == "" {
		c.CallbackListen = "127.0.0.1:0"
	}
	if c.OPListen == "" {
		c.OPListen = "127.0.0.1:0"
	}
}

// validateExVe checks the exve section for the profile's ExVe roles.
func (p *Profile) validateExVe(bad func(field, format string, args ...any) error) error {
	c := &p.ExVe
	c.exveDefaults()
	op, ap := p.HasRole(RoleOfferingParty), p.HasRole(RoleAccessingParty)
	if !op && !ap {
		return nil
	}
	if c.RootCAFile != "" {
		if _, err := os.Stat(c.RootCAFile); err != nil {
			return bad("exve.root_ca_file", "%s", unwrapPathError(err))
		}
	}
	if op && !p.DUT.Simulated {
		u, err := url.Parse(c.BaseURI)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return bad("exve.base_uri", "%q: want the offering party's https base URI (REQ_04_02_03)", c.BaseURI)
		}
		if c.TokenEndpoint != "" {
			if u, err := url.Parse(c.TokenEndpoint); err != nil || u.Scheme != "https" || u.Host == "" {
				return bad("exve.token_endpoint", "%q: want an https URL", c.TokenEndpoint)
			}
		}
	}
	for _, f := range []struct{ field, addr string }{{"exve.callback_listen", c.CallbackListen}, {"exve.op_listen", c.OPListen}} {
		if _, _, err := net.SplitHostPort(f.addr); err != nil {
			return bad(f.field, "%q: %v", f.addr, err)
		}
	}
	if ap && !p.DUT.Simulated && len(c.APCommand) == 0 {
		return bad("exve.ap_command", "not set: the harness cannot make a real accessing party act without it")
	}
	if c.Catalogue != "" {
		cat, err := loadCatalogue(c.Catalogue)
		if err != nil {
			return bad("exve.catalogue", "%v", err)
		}
		c.catalogue = &cat
	}
	if c.PagingStart != 0 && c.PagingStart != 1 {
		return bad("exve.paging_start", "%d: 0 or 1 (I-227)", c.PagingStart)
	}
	return nil
}

// loadCatalogue reads a catalogue file: YAML (JSON is YAML too), strictly.
func loadCatalogue(path string) (exveop.Catalogue, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return exveop.Catalogue{}, fmt.Errorf("%s", unwrapPathError(err))
	}
	var cat exveop.Catalogue
	if strings.HasSuffix(path, ".json") {
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		err = d.Decode(&cat)
	} else {
		d := yaml.NewDecoder(bytes.NewReader(b))
		d.KnownFields(true)
		err = d.Decode(&cat)
	}
	if err != nil {
		return cat, fmt.Errorf("%s: %v", path, err)
	}
	if err := cat.Validate(); err != nil {
		return cat, fmt.Errorf("%s: %v", path, err)
	}
	return cat, nil
}
