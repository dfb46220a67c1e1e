// Package exve is the reference offering party of ISO 20078-2 (ExVe web
// services, access): a Service the reference center mounts on a listener of
// its own (HTTPS, TLS 1.2 or 1.3, server authentication), so that its
// requests pass the center's hooks (the harness's recorder and fault plan)
// like the vehicle APIs. It serves resources built from what the vehicles
// really uploaded: the CAN data files in the center's store, decoded with
// the bench DBC (odometers, vehicle speeds, engine readings, ECUs, the VIN
// of each uploading vehicle). It issues OAuth 2.0 bearer tokens (JWT, one
// scope per resource; register I-228), negotiates resource versions by the
// exve-resourceversion media-type parameter, filters, sorts and pages,
// serves * wildcards and an anonymized resource, limits rates, answers with
// the error keys of 4.11, reads DTCs from the vehicle by the asynchronous
// pattern of 4.12 over the core protocols (a push to the vehicle, its
// real-time upload; I-229), pushes subscribed resources to accessing
// parties' callbacks with token refresh and the deactivation reasons of
// Table 27, and offers the container API of clause 5 and Annex A.
//
// Quirks (Config.Quirks) break one requirement each and variants make
// another choice the standard allows; both exist only for the harness's
// self-tests. The package never imports the harness.
package exve

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"
)

// Client is an OAuth 2.0 client (an accessing party) the token issuer
// knows: its credentials, the scopes it may be granted, and its tokens'
// lifetime.
type Client struct {
	ID     string   `yaml:"id" json:"id"`
	Secret string   `yaml:"secret" json:"secret"`
	Scopes []string `yaml:"scopes" json:"scopes"`
	// TokenLifetime is the access tokens' lifetime (spec time); 0: the
	// offering party's default.
	TokenLifetime time.Duration `yaml:"token_lifetime" json:"token_lifetime"`
}

// RateLimit is the limit of one resource: Limit requests per Window (spec
// time) for each accessing party (register I-223).
type RateLimit struct {
	Limit  int           `yaml:"limit" json:"limit"`
	Window time.Duration `yaml:"window" json:"window"`
}

// Config is everything the reference offering party needs. Start from
// NewDefaultConfig. Durations are spec time, converted by TimeScale.
type Config struct {
	// Addr is the listen address of the mounted service.
	Addr string `yaml:"addr"`
	// PublicHost is the host (and port, when not 443) the base URI names;
	// empty: the listener's address.
	PublicHost string `yaml:"public_host"`
	// BasePath is the base URI's path ("/exve"; Table 1's subdirectory form).
	BasePath string `yaml:"base_path"`
	// CertFile and KeyFile are the server certificate chain and key.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// RootCAFiles are the roots the offering party trusts when it pushes to
	// an accessing party's callback or token endpoint, besides the
	// system's.
	RootCAFiles []string `yaml:"root_ca_files"`
	// VehicleIDHeader is the core API's vehicle identifier header, by which
	// an upload names its vehicle.
	VehicleIDHeader string `yaml:"vehicle_id_header"`
	// TimeScale is wall seconds per spec second; 1 on a bench.
	TimeScale float64 `yaml:"time_scale"`
	// SigningKey signs the access tokens (HS256); empty: a random key.
	SigningKey string `yaml:"signing_key"`
	// Clients are the accessing parties the token issuer knows.
	Clients []Client `yaml:"clients"`
	// TokenLifetime is the default access-token lifetime.
	TokenLifetime time.Duration `yaml:"token_lifetime"`
	// RateLimits limits each resource by name; a resource without an entry
	// gets DefaultRateLimit.
	RateLimits       map[string]RateLimit `yaml:"rate_limits"`
	DefaultRateLimit RateLimit            `yaml:"default_rate_limit"`
	// SyncWindow is how long a POST of an asynchronous resource waits for
	// the result before it answers 202 (I-229).
	SyncWindow time.Duration `yaml:"sync_window"`
	// AsyncDeadline is how long an asynchronous request waits for the
	// vehicle before it fails.
	AsyncDeadline time.Duration `yaml:"async_deadline"`
	// AsyncRetention is how long after its end an asynchronous request's
	// result stays readable (then 404, REQ_04_12_13).
	AsyncRetention time.Duration `yaml:"async_retention"`
	// AsyncWait is the recommended polling interval (asyncWait).
	AsyncWait time.Duration `yaml:"async_wait"`
	// PushTimeout bounds one push to a callback (TIMEOUT beyond it).
	PushTimeout time.Duration `yaml:"push_timeout"`
	// PushAttempts is how many times a failing push is tried before the
	// subscription is deactivated; PushRetryInterval is the gap.
	PushAttempts      int           `yaml:"push_attempts"`
	PushRetryInterval time.Duration `yaml:"push_retry_interval"`
	// DemoFleet is how many synthetic vehicles the offering party puts into
	// the center's store at start (CAN data files, as if uploaded), besides
	// the vehicles that really upload.
	DemoFleet int `yaml:"demo_fleet"`
	// ConsentGranted lists the VINs whose resource owners have granted
	// consent (capability discovery, containers); the rest are PENDING.
	ConsentGranted []string `yaml:"consent_granted"`
	// Quirks break one requirement each (self-test only); see KnownQuirks.
	Quirks []string `yaml:"quirks"`
	// Logf, when set, receives one line per notable event.
	Logf func(format string, args ...any) `yaml:"-"`
}

// NewDefaultConfig returns a Config with every field but the certificate
// paths set: base path /exve, two test clients ("icoc-ap" with every scope,
// "icoc-ap-limited" with odometers only, "icoc-ap-short" with 5 s tokens),
// one-hour tokens, 50 requests per minute on engineReadings and 1000 per
// minute elsewhere, a 2 s
// synchronous window, a 60 s readout deadline, 30 s retention, 1 s
// asyncWait, 10 s push timeout, 3 push attempts 2 s apart, 24 demo
// vehicles.
func NewDefaultConfig() Config {
	all := []string{"exve:vehicles", "exve:odometers", "exve:vehicleSpeeds", "exve:engineReadings", "exve:ecus",
		"exve:dtcReadouts", "exve:subscriptions", "exve:containers"}
	return Config{
		Addr:            "127.0.0.1:0",
		BasePath:        "/exve",
		VehicleIDHeader: "vehicle_id",
		TimeScale:       1,
		Clients: []Client{
			{ID: "icoc-ap", Secret: "icoc-ap-secret", Scopes: all},
			{ID: "icoc-ap-limited", Secret: "icoc-ap-limited-secret", Scopes: []string{"exve:vehicles", "exve:odometers", "exve:subscriptions"}},
			{ID: "icoc-ap-short", Secret: "icoc-ap-short-secret", Scopes: all, TokenLifetime: 5 * time.Second},
		},
		TokenLifetime:     time.Hour,
		RateLimits:        map[string]RateLimit{"engineReadings": {Limit: 50, Window: time.Minute}},
		DefaultRateLimit:  RateLimit{Limit: 1000, Window: time.Minute},
		SyncWindow:        2 * time.Second,
		AsyncDeadline:     time.Minute,
		AsyncRetention:    30 * time.Second,
		AsyncWait:         time.Second,
		PushTimeout:       10 * time.Second,
		PushAttempts:      3,
		PushRetryInterval: 2 * time.Second,
		DemoFleet:         24,
	}
}

// Validate checks the config; the error names each bad field.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct{ name, path string }{{"cert_file", c.CertFile}, {"key_file", c.KeyFile}} {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("%s: not set", f.name))
		} else if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", f.name, err))
		}
	}
	for i, p := range c.RootCAFiles {
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, fmt.Errorf("root_ca_files[%d]: %v", i, err))
		}
	}
	if c.TimeScale <= 0 {
		errs = append(errs, fmt.Errorf("time_scale %v: must be positive", c.TimeScale))
	}
	if c.BasePath == "" || c.BasePath[0] != '/' || c.BasePath[len(c.BasePath)-1] == '/' {
		errs = append(errs, fmt.Errorf("base_path %q: want /name, no trailing slash", c.BasePath))
	}
	if len(c.Clients) == 0 {
		errs = append(errs, errors.New("clients: none"))
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"token_lifetime", c.TokenLifetime}, {"sync_window", c.SyncWindow}, {"async_deadline", c.AsyncDeadline},
		{"async_retention", c.AsyncRetention}, {"async_wait", c.AsyncWait}, {"push_timeout", c.PushTimeout}, {"push_retry_interval", c.PushRetryInterval}} {
		if d.d <= 0 {
			errs = append(errs, fmt.Errorf("%s %v: must be positive", d.name, d.d))
		}
	}
	if c.PushAttempts < 1 {
		errs = append(errs, fmt.Errorf("push_attempts %d: at least 1", c.PushAttempts))
	}
	if _, err := ParseQuirks(c.Quirks); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// wall converts a spec duration into wall time.
func (c Config) wall(d time.Duration) time.Duration { return time.Duration(float64(d) * c.TimeScale) }

// spec converts a wall duration into spec time.
func (c Config) spec(d time.Duration) time.Duration { return time.Duration(float64(d) / c.TimeScale) }

// serverTLS is the server side of REQ_04_01_03: TLS 1.2 or 1.3 (variant
// tls13-only: 1.3 only; quirk tls10: from 1.0), no client certificate, h2
// and http/1.1 offered.
func (c Config) serverTLS(qs Quirks) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("server certificate %s / %s: %w", c.CertFile, c.KeyFile, err)
	}
	tc := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	switch {
	case qs.Has("tls10"):
		tc.MinVersion = tls.VersionTLS10
		tc.CipherSuites = legacySuites()
	case qs.Has("tls13-only"):
		tc.MinVersion = tls.VersionTLS13
	}
	return tc, nil
}

// legacySuites are suites a TLS 1.0 client can use (quirk tls10 only).
func legacySuites() []uint16 {
	var out []uint16
	for _, s := range tls.CipherSuites() {
		out = append(out, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		out = append(out, s.ID)
	}
	return out
}

// clientRoots are the roots for pushes: the system's plus RootCAFiles.
func (c Config) clientRoots() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, p := range c.RootCAFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("root_ca_files: %w", err)
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("root_ca_files: %s: no PEM certificate", p)
		}
	}
	return pool, nil
}
