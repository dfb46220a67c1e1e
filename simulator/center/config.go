package center

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/icoc-dev/icoc/spec"
)

// Config is everything the reference center needs to run. The zero value is
// not usable; start from NewDefaultConfig. Paths are used as given (relative
// paths are relative to the process's working directory).
type Config struct {
	// Addr is the TCP listen address; port 0 picks a free port.
	Addr string `yaml:"addr"`
	// CertFile holds the server certificate chain (leaf first) in PEM.
	CertFile string `yaml:"cert_file"`
	// KeyFile holds the server's private key in PEM.
	KeyFile string `yaml:"key_file"`
	// ClientCAFile holds the OEM root CA(s) in PEM; a client chain must end
	// at one of them (6.2.3, 7.1.1.3).
	ClientCAFile string `yaml:"client_ca_file"`
	// VehicleIDHeader is the custom header that carries the vehicle
	// identifier (7.2.2.3, 7.3).
	VehicleIDHeader string `yaml:"vehicle_id_header"`
	// VehicleIDLength is the length a vehicle identifier must have; 17 for a
	// VIN (see the register, I-001, for the seed's 15).
	VehicleIDLength int `yaml:"vehicle_id_length"`
	// GRPCAddr, when set, is the TCP listen address of the gRPC port
	// (7.2.4; Appendix 2: 9080 on a bench; port 0 picks a free port),
	// served with the same TLS configuration and hooks; empty: no gRPC.
	GRPCAddr string `yaml:"grpc_addr"`
	// Spec holds the register's readings the center applies where it reads
	// one (the file-name rules of Appendix 1 §2: triggers, invalid request
	// ID); VehicleIDHeader and VehicleIDLength are set on their own.
	Spec spec.Options `yaml:"spec"`
	// ALPN is the application protocols offered (RFC 7301), most preferred
	// first; Server.SetALPN changes it while serving.
	ALPN []string `yaml:"alpn"`
	// TLS is the rest of the 7.1.1 policy: stapling, session lifetime,
	// client revocation (see TLSPolicy).
	TLS TLSPolicy `yaml:"tls"`
	// MQTT configures the MQTT v5 broker (7.2.5); Server.StartMQTT
	// starts it.
	MQTT MQTTConfig `yaml:"mqtt"`
	// Quirks break one clause each (self-test only); see KnownQuirks.
	Quirks []string `yaml:"quirks"`
	// HandshakeTimeout bounds one TLS handshake (wall time).
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// MaxBodyBytes bounds one request body after decompression.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Logf, when set, receives one line per notable event.
	Logf func(format string, args ...any) `yaml:"-"`
	// KeyLogWriter, when set, receives the TLS secrets of every connection
	// the center (and each frontend of ListenTLS) accepts, in the NSS key
	// log format (SSLKEYLOGFILE), so a capture of the traffic can be
	// decrypted (crypto/tls Config.KeyLogWriter). For evidence only: it
	// weakens the connections' secrecy.
	KeyLogWriter io.Writer `yaml:"-"`
}

// NewDefaultConfig returns a Config with every field but the certificate
// paths set to the values the spec and the reference vehicle use.
func NewDefaultConfig() Config {
	return Config{
		Addr:             "127.0.0.1:0",
		VehicleIDHeader:  "vehicle_id",
		VehicleIDLength:  17,
		Spec:             spec.DefaultOptions(),
		ALPN:             []string{"h2", "http/1.1"},
		TLS:              DefaultTLSPolicy(),
		HandshakeTimeout: 10 * time.Second,
		MaxBodyBytes:     64 << 20,
		MQTT:             DefaultMQTTConfig(),
	}
}

// Validate checks the config and loads nothing; the error names the field.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: %v", c.Addr, err))
	}
	if c.GRPCAddr != "" {
		if _, _, err := net.SplitHostPort(c.GRPCAddr); err != nil {
			errs = append(errs, fmt.Errorf("grpc_addr %q: %v", c.GRPCAddr, err))
		}
	}
	for _, f := range []struct{ name, path string }{
		{"cert_file", c.CertFile}, {"key_file", c.KeyFile}, {"client_ca_file", c.ClientCAFile},
	} {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("%s: not set", f.name))
		} else if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", f.name, err))
		}
	}
	if c.VehicleIDHeader == "" {
		errs = append(errs, errors.New("vehicle_id_header: not set"))
	}
	if c.VehicleIDLength <= 0 {
		errs = append(errs, fmt.Errorf("vehicle_id_length: %d is not positive", c.VehicleIDLength))
	}
	if err := c.Spec.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("spec: %w", err))
	}
	return errors.Join(errs...)
}
