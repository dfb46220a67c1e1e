// Package viss is the reference vehicle's VISS servers (W3C VISS Gen2,
// seed 001, and COVESA VISS v3.0, seed 002; tables in spec/viss): one
// server per configured dialect, each on one TLS listener that serves
// WebSocket (wss, the dialect's subprotocol) and HTTPS, fed only from the
// CAN bus through the DBC-to-VSS map (package vssmap) and serving the VSS
// 4.0 tree (package vss). It implements get, set on actuators, subscribe
// and unsubscribe with the filters of each dialect (v3: paths, timebased,
// change, range, curvelog, history from a ring buffer, metadata; Gen2:
// $spec, $path, $data, $interval, $range, $change), access control with
// HS256 access tokens checked against a shared secret, the purpose list and
// the access-control selection tags, and the v3 Server tree. Message
// transports plug in through Transport (WebSocket built in; MQTT in mqtt.go,
// register I-299). Quirks break one clause each for the harness's self-test.
package viss

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/icoc-dev/icoc/spec/viss"
)

// ServerConfig is one VISS server: its dialect and where it listens.
type ServerConfig struct {
	// Dialect is "v3" (default) or "gen2".
	Dialect string `yaml:"dialect"`
	// Revision of a v3 server: "rc0" (default) or "published".
	Revision string `yaml:"revision"`
	// Subprotocol of a Gen2 server (default gen21.0).
	Subprotocol string `yaml:"subprotocol"`
	// Addr is the TLS listener for wss and https, host:port.
	Addr string `yaml:"addr"`
	// MQTT makes a v3 server reachable over MQTT as well (v3.0 TRANSPORT
	// 4.3): its Server tree lists mqtt and the vehicle attaches the
	// vehicle-side client (NewMQTT) to its broker.
	MQTT bool `yaml:"mqtt"`
	// VID is the vehicle identifier of the topic VID/Vehicle; empty: the
	// VIN (register I-299).
	VID string `yaml:"vid"`
}

// Config is everything the VISS servers need. Start from NewDefaultConfig.
type Config struct {
	Servers []ServerConfig `yaml:"servers"`
	// CertFile and KeyFile are the servers' certificate chain and key.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// TokenSecretFile holds the HS256 secret shared with the access token
	// server (001 8.4.4: "a preprovisioned common secret"); empty: access
	// tokens are refused as unverifiable.
	TokenSecretFile string `yaml:"token_secret_file"`
	// TokenSecret is the secret itself (takes precedence over the file).
	TokenSecret []byte `yaml:"-"`
	// TimeScale is wall seconds per spec second (filter periods and history
	// windows are spec time).
	TimeScale float64 `yaml:"time_scale"`
	// HistorySize is how many captures of each signal the ring buffer keeps.
	HistorySize int `yaml:"history_size"`
	// Quirks break one clause each; for the self-test only.
	Quirks []string `yaml:"quirks"`
	// Logf, when set, receives one line per notable event.
	Logf func(format string, args ...any) `yaml:"-"`
}

// NewDefaultConfig returns a Config with no server, real time and a ring
// buffer of 1000 captures per signal.
func NewDefaultConfig() Config { return Config{TimeScale: 1, HistorySize: 1000} }

// Validate names every bad field.
func (c Config) Validate() error {
	var errs []error
	for i, s := range c.Servers {
		if _, err := s.dialect(); err != nil {
			errs = append(errs, fmt.Errorf("viss.servers[%d]: %w", i, err))
		}
		if d, err := s.dialect(); err == nil && s.MQTT && d.Name != vissspec.V3 {
			errs = append(errs, fmt.Errorf("viss.servers[%d].mqtt: VISS over MQTT is a v3 transport (v3.0 TRANSPORT 4.3), not %s", i, d.Name))
		}
		if _, _, err := net.SplitHostPort(s.Addr); err != nil {
			errs = append(errs, fmt.Errorf("viss.servers[%d].addr %q: %v", i, s.Addr, err))
		}
	}
	if len(c.Servers) > 0 {
		for _, f := range []struct{ name, path string }{{"cert_file", c.CertFile}, {"key_file", c.KeyFile}} {
			if f.path == "" {
				errs = append(errs, fmt.Errorf("viss.%s: not set", f.name))
			} else if _, err := os.Stat(f.path); err != nil {
				errs = append(errs, fmt.Errorf("viss.%s: %v", f.name, err))
			}
		}
	}
	if c.TokenSecretFile != "" && c.TokenSecret == nil {
		if _, err := os.Stat(c.TokenSecretFile); err != nil {
			errs = append(errs, fmt.Errorf("viss.token_secret_file: %v", err))
		}
	}
	if c.TimeScale <= 0 {
		errs = append(errs, fmt.Errorf("viss.time_scale %v: must be positive", c.TimeScale))
	}
	if c.HistorySize <= 0 {
		errs = append(errs, fmt.Errorf("viss.history_size %d: must be positive", c.HistorySize))
	}
	if _, err := ParseQuirks(c.Quirks); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// dialect loads the server's dialect tables.
func (s ServerConfig) dialect() (vissspec.Dialect, error) {
	n, err := vissspec.ParseDialect(s.Dialect)
	if err != nil {
		return vissspec.Dialect{}, err
	}
	o := vissspec.DefaultOptions()
	if s.Revision != "" {
		o.Revision = s.Revision
	}
	if s.Subprotocol != "" {
		o.Gen2Subprotocol = s.Subprotocol
	}
	return vissspec.Load(n, o)
}

// wall converts spec time into wall time.
func (c Config) wall(d time.Duration) time.Duration { return time.Duration(float64(d) * c.TimeScale) }

// spec converts wall time into spec time.
func (c Config) spec(d time.Duration) time.Duration { return time.Duration(float64(d) / c.TimeScale) }

//go:embed data/access.yaml
var accessYAML []byte

//go:embed data/purposes.json
var purposesJSON []byte

// PurposesJSON returns the purpose list the reference servers are
// provisioned with (data/purposes.json), for the harness's access token
// server.
func PurposesJSON() []byte { return append([]byte(nil), purposesJSON...) }

// AccessYAML returns the access-control selection tags of the reference
// servers (data/access.yaml).
func AccessYAML() []byte { return append([]byte(nil), accessYAML...) }
