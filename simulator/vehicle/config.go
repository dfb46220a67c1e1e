// Package vehicle is the reference vehicle: a DCM that takes CAN data off
// the bus, writes it into data files named per Appendix 1 §2, and uploads
// them to the center over HTTP/1.1 with its client certificate, retrying
// exactly as 7.2.2.6 and Table 7-8 say (both read from package spec). It
// obeys only the bus and the network; it runs with a time scale so that a
// spec minute can pass in a fraction of a wall second. Quirks (Config.Quirks)
// break one clause each and exist only for the harness's self-test.
package vehicle

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"time"

	"github.com/icoc-dev/icoc/simulator/bus"
	"github.com/icoc-dev/icoc/simulator/viss"
	"github.com/icoc-dev/icoc/spec"
)

// Config is everything the reference vehicle needs. Start from
// NewDefaultConfig; paths are used as given.
type Config struct {
	// CenterURL is the base URL of the center, e.g. https://center.icoc.test:443.
	CenterURL string `yaml:"center_url"`
	// CenterAddr, when set, is dialled instead of the URL's host (the URL's
	// host stays the TLS server name).
	CenterAddr string `yaml:"center_addr"`
	// Resolver, when set, is the DNS server (host:port, UDP) that resolves
	// the center's host name (and CenterAddr's, when it is a name); empty:
	// the system's resolver.
	Resolver string `yaml:"resolver"`
	// CertFile and KeyFile are the client certificate chain and key (6.2.2).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// RootCAFile is the OEM root the server chain must end at (6.2.3).
	RootCAFile string `yaml:"root_ca_file"`
	// Bus is the CAN bus the vehicle listens on.
	Bus bus.Config `yaml:"bus"`
	// TimeScale is wall seconds per spec second: 1 runs in real time, 0.05
	// runs a spec minute in 3 wall seconds. Must be positive.
	TimeScale float64 `yaml:"time_scale"`
	// Generation is the <generation> of Appendix 1 §2 (one letter, two digits).
	Generation string `yaml:"generation"`
	// Function is the <function> number of CAN data upload.
	Function int `yaml:"function"`
	// Extension is the lower-case file extension of CAN data files.
	Extension string `yaml:"extension"`
	// UserAgent is the product identifier (7.2.2.3).
	UserAgent string `yaml:"user_agent"`
	// Push makes the vehicle keep a push connection to the center
	// (7.2.3.9.2, register I-060); it needs HTTP2.
	Push bool `yaml:"push"`
	// HTTP2 makes the vehicle offer h2 in ALPN (besides http/1.1) and speak
	// HTTP/2 when the center agrees.
	HTTP2 bool `yaml:"http2"`
	// Uplink is the protocol the vehicle talks to the center with for
	// uploads, API calls and downloads: one of UplinkNames ("http" by
	// default).
	Uplink string `yaml:"uplink"`
	// GRPCTarget is the host:port of the center's gRPC port (7.2.4); empty:
	// the center URL's host on port 9080 (Appendix 2). Its host is the TLS
	// server name.
	GRPCTarget string `yaml:"grpc_target"`
	// GRPCAddr, when set, is dialled instead of GRPCTarget (as CenterAddr
	// for the HTTPS port).
	GRPCAddr string `yaml:"grpc_addr"`
	// MQTT is the vehicle's side of 7.2.5, used when Uplink is "mqtt".
	MQTT MQTTConfig `yaml:"mqtt"`
	// VehicleIDHeader is the custom header carrying the VIN.
	VehicleIDHeader string `yaml:"vehicle_id_header"`
	// WildcardServerNames lets a wildcard DNS SAN (*.icoc.test) match the
	// center's name (RFC 6125 §6.4.3); off, the certificate must name the
	// center exactly (register I-081). The OEM's PKI decides.
	WildcardServerNames bool `yaml:"wildcard_server_names"`
	// Spec holds the register's readings the vehicle applies where it reads
	// one: Table 7-8's retry flags, the response timeout and its backoff,
	// the gzip threshold, the session cookie's name. VehicleIDHeader is set
	// on its own.
	Spec spec.Options `yaml:"spec"`
	// Revocation says how the vehicle reaches the CRL distribution points
	// and OCSP responders of the server chain (7.1.1.5).
	Revocation RevocationConfig `yaml:"revocation"`
	// VISS configures the vehicle's VISS servers (simulator/viss); none
	// when VISS.Servers is empty. Their time scale is TimeScale and their
	// quirks are the Quirks with the prefix viss.QuirkPrefix.
	VISS viss.Config `yaml:"viss"`
	// Quirks break one clause each; see Quirks. Empty in any real use.
	Quirks []string `yaml:"quirks"`
	// Logf, when set, receives one line per notable event.
	Logf func(format string, args ...any) `yaml:"-"`
}

// NewDefaultConfig returns a Config with everything but the center,
// the certificates and the bus set.
func NewDefaultConfig() Config {
	return Config{
		TimeScale:       1,
		Generation:      "D24",
		Function:        1,
		Extension:       "bin",
		UserAgent:       "ICOC-REFDCM/0.1.0 (refdcm-sw/0.1.0)",
		VehicleIDHeader: "vehicle_id",
		Spec:            spec.DefaultOptions(),
		HTTP2:           true,
		VISS:            viss.NewDefaultConfig(),
		Uplink:          UplinkHTTP,
		MQTT:            DefaultMQTTConfig(),
	}
}

// UplinkHTTP is the HTTP/1.1 or HTTP/2 uplink (7.2.2, 7.2.3).
const UplinkHTTP = "http"

// uplinks are the protocols the reference vehicle can upload with, each
// with its delivery (see deliver); another protocol's file adds itself
// with registerUplink from an init function.
var uplinks = map[string]func(v *Vehicle, ctx context.Context, job uploadJob) bool{
	UplinkHTTP: (*Vehicle).deliverHTTP,
}

func registerUplink(name string, deliver func(v *Vehicle, ctx context.Context, job uploadJob) bool) {
	uplinks[name] = deliver
}

// Validate checks the config; the error names each bad field.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.CenterURL); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("center_url %q: want https://host[:port]", c.CenterURL))
	}
	if c.CenterAddr != "" {
		if _, _, err := net.SplitHostPort(c.CenterAddr); err != nil {
			errs = append(errs, fmt.Errorf("center_addr %q: %v", c.CenterAddr, err))
		}
	}
	for _, f := range []struct{ name, v string }{{"grpc_target", c.GRPCTarget}, {"grpc_addr", c.GRPCAddr}} {
		if f.v != "" {
			if _, _, err := net.SplitHostPort(f.v); err != nil {
				errs = append(errs, fmt.Errorf("%s %q: %v", f.name, f.v, err))
			}
		}
	}
	if c.Resolver != "" {
		if _, _, err := net.SplitHostPort(c.Resolver); err != nil {
			errs = append(errs, fmt.Errorf("resolver %q: %v (want the DNS server's host:port)", c.Resolver, err))
		}
	}
	for _, f := range []struct{ name, path string }{
		{"cert_file", c.CertFile}, {"key_file", c.KeyFile}, {"root_ca_file", c.RootCAFile},
	} {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("%s: not set", f.name))
		} else if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", f.name, err))
		}
	}
	if err := c.Bus.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, ok := uplinks[c.Uplink]; !ok {
		errs = append(errs, fmt.Errorf("uplink %q: want one of %v", c.Uplink, UplinkNames()))
	}
	if c.MQTT.Broker != "" {
		if _, _, err := net.SplitHostPort(c.MQTT.Broker); err != nil {
			errs = append(errs, fmt.Errorf("mqtt.broker %q: %v (want host:port)", c.MQTT.Broker, err))
		}
	}
	if c.MQTT.BrokerAddr != "" {
		if _, _, err := net.SplitHostPort(c.MQTT.BrokerAddr); err != nil {
			errs = append(errs, fmt.Errorf("mqtt.broker_addr %q: %v (want host:port)", c.MQTT.BrokerAddr, err))
		}
	}
	if c.TimeScale <= 0 {
		errs = append(errs, fmt.Errorf("time_scale %v: must be positive", c.TimeScale))
	}
	if _, err := ParseQuirks(c.Quirks); err != nil {
		errs = append(errs, err)
	}
	if err := c.Spec.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("spec: %w", err))
	}
	if len(c.VISS.Servers) > 0 {
		if err := c.vissConfig().Validate(); err != nil {
			errs = append(errs, err)
		}
		for i, s := range c.VISS.Servers {
			if s.MQTT && c.Uplink == UplinkMQTT {
				errs = append(errs, fmt.Errorf("viss.servers[%d].mqtt with uplink mqtt: the VISS client and the uplink would both connect with Client ID = VIN, and the broker keeps one session per Client ID (register I-328); use another uplink", i))
			}
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// wall converts a spec duration into wall time by the time scale.
func (c Config) wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) * c.TimeScale)
}

// dialer returns a dialer with the given timeout that resolves names
// through Resolver when it is set.
func (c Config) dialer(timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if c.Resolver != "" {
		server := c.Resolver
		d.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, server)
		}}
	}
	return d
}

// vissConfig is the VISS servers' config with the vehicle's time scale and
// the VISS quirks.
func (c Config) vissConfig() viss.Config {
	vc := c.VISS
	vc.TimeScale = c.TimeScale
	_, vc.Quirks = splitVISSQuirks(c.Quirks)
	if vc.Logf == nil {
		vc.Logf = c.Logf
	}
	return vc
}

// UplinkNames returns the names of Uplinks, sorted.
func UplinkNames() []string { return sortedKeys(uplinks) }
