// Command vehicle runs the reference vehicle on its own: it listens on a
// CAN bus (SocketCAN interface or the UDP multicast emulator) and uploads
// what it records to a center, as the common specification says. It has no
// VIN of its own: it reads the VIN from the bus (message VINBroadcast of
// simulator/bench/bench.dbc) and connects only once it has it (7.2.2.7).
package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/icoc-dev/icoc/simulator/vehicle"
	"github.com/icoc-dev/icoc/simulator/viss"
	"github.com/icoc-dev/icoc/spec"
	"go.yaml.in/yaml/v3"
)

// configPath finds -config in args before the flags are parsed, so the
// file's values become the flags' defaults and the command line wins.
func configPath(args []string) string {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, "config="); ok {
			return v
		}
		if a == "config" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func main() {
	cfg := vehicle.NewDefaultConfig()
	if p := configPath(os.Args[1:]); p != "" {
		b, err := os.ReadFile(p)
		if err == nil {
			dec := yaml.NewDecoder(bytes.NewReader(b))
			dec.KnownFields(true)
			err = dec.Decode(&cfg)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "vehicle: -config %s: %v\n", p, err)
			os.Exit(2)
		}
	}
	flag.String("config", "", "YAML file of the vehicle's settings (keys of simulator/vehicle.Config: center_url, cert_file, revocation: {resolver, addr, port}, wildcard_server_names, ...); flags on the command line win")
	pkiDir := flag.String("pki", "fixtures/pki", "directory of the test PKI (used for unset certificate flags)")
	flag.StringVar(&cfg.CenterURL, "center", cmp.Or(cfg.CenterURL, "https://center.icoc.test:443"), "center base URL; its host is the TLS server name")
	flag.StringVar(&cfg.CenterAddr, "center-addr", cfg.CenterAddr, "address to dial instead of the URL's host (host:port)")
	flag.StringVar(&cfg.CertFile, "cert", cfg.CertFile, "client certificate chain, PEM (default: <pki>/vehicle.chain.pem)")
	flag.StringVar(&cfg.KeyFile, "key", cfg.KeyFile, "client key, PEM (default: <pki>/vehicle.key.pem)")
	flag.StringVar(&cfg.RootCAFile, "root-ca", cfg.RootCAFile, "OEM root CA, PEM (default: <pki>/root.crt.pem)")
	flag.StringVar(&cfg.Bus.Interface, "can", cfg.Bus.Interface, "SocketCAN interface (can0, vcan0)")
	flag.StringVar(&cfg.Bus.UDP, "can-udp", cfg.Bus.UDP, "UDP multicast address of an emulated bus (instead of -can)")
	flag.StringVar(&cfg.Bus.Hub, "can-hub", cfg.Bus.Hub, "UDP address of a CAN hub, an emulated bus that crosses hosts and network namespaces (instead of -can)")
	flag.StringVar(&cfg.Resolver, "dns", cfg.Resolver, "DNS server (host:port) for the center's and the CDP/OCSP host names (default: the system's)")
	flag.IntVar(&cfg.Revocation.Port, "revocation-port", cfg.Revocation.Port, "TCP port of the CDP/OCSP hosts instead of the URLs' port 80")
	flag.StringVar(&cfg.Revocation.Addr, "revocation-addr", cfg.Revocation.Addr, "address (host:port) to dial for every CRL and OCSP fetch instead of the CDP/OCSP hosts (like a hosts-file entry for crl.icoc.test and ocsp.icoc.test)")
	revDNS := flag.String("revocation-dns", "", "DNS server (host:port) for the CDP/OCSP host names (default: -dns, else the system's)")
	flag.BoolVar(&cfg.WildcardServerNames, "wildcard-server-names", cfg.WildcardServerNames, "accept a wildcard server certificate (*.icoc.test) for the center's name (default: the name must be a SAN exactly, I-081)")
	specFile := flag.String("spec", "", "YAML file of the register's readings (the keys of a DUT profile's spec: section, spec/INTERPRETATIONS.md); default: the register's")
	flag.BoolVar(&cfg.Push, "push", cfg.Push, "keep a push connection to the center (7.2.3.9.2)")
	flag.StringVar(&cfg.GRPCTarget, "grpc", cfg.GRPCTarget, "the center's gRPC port, host:port (default: the center URL's host, port 9080)")
	flag.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "address to dial instead of the gRPC port's (host:port)")
	flag.StringVar(&cfg.Uplink, "uplink", cfg.Uplink, "protocol of uploads, API calls and downloads: "+strings.Join(vehicle.UplinkNames(), ", "))
	flag.StringVar(&cfg.MQTT.Broker, "mqtt-broker", cfg.MQTT.Broker, "MQTT broker host:port for -uplink mqtt; its host is the TLS server name (default: the center's host, port 8883)")
	flag.StringVar(&cfg.MQTT.BrokerAddr, "mqtt-addr", cfg.MQTT.BrokerAddr, "address to dial instead of the broker's host (host:port)")
	flag.BoolVar(&cfg.MQTT.OTP, "mqtt-otp", cfg.MQTT.OTP, "fetch a one-time password (GET /otp on the center) before each MQTT CONNECT (7.2.5.7)")
	flag.StringVar(&cfg.MQTT.Application, "mqtt-app", cfg.MQTT.Application, "<Application Name> of CAN data uploads over MQTT (topic <VIN>/<app>/V2C)")
	flag.StringVar(&cfg.MQTT.PushApplication, "mqtt-push-app", cfg.MQTT.PushApplication, "<Application Name> of pushes over MQTT (topic <VIN>/<app>/C2V)")
	keepAlive := flag.Uint("mqtt-keep-alive", uint(cfg.MQTT.KeepAlive), "MQTT Keep Alive, seconds")
	flag.Float64Var(&cfg.TimeScale, "time-scale", cfg.TimeScale, "wall seconds per spec second (1: real time)")
	vissV3 := flag.String("viss-v3", "", "listen address (host:port) of a VISS v3 server (wss and https; e.g. 127.0.0.1:6443)")
	vissRevision := flag.String("viss-revision", "rc0", "revision of the VISS v3 server: rc0 (seed 002) or published (v3.0 as published)")
	vissMQTT := flag.Bool("viss-mqtt", false, "serve the VISS v3 server over MQTT too (v3.0 TRANSPORT 4.3): subscribe to VID/Vehicle on the broker of -mqtt-broker / -mqtt-addr with the vehicle certificate (and -mqtt-otp); not with -uplink mqtt")
	vissVID := flag.String("viss-mqtt-vid", "", "VID of the topic VID/Vehicle (default: the VIN)")
	vissGen2 := flag.String("viss-gen2", "", "listen address (host:port) of a VISS Gen2 server (wss and https)")
	flag.StringVar(&cfg.VISS.CertFile, "viss-cert", cfg.VISS.CertFile, "VISS server certificate chain, PEM (default: <pki>/viss-server.chain.pem)")
	flag.StringVar(&cfg.VISS.KeyFile, "viss-key", cfg.VISS.KeyFile, "VISS server key, PEM (default: <pki>/viss-server.key.pem)")
	flag.StringVar(&cfg.VISS.TokenSecretFile, "viss-token-secret", cfg.VISS.TokenSecretFile, "file holding the HS256 secret shared with the VISS access token server")
	quirks := flag.String("quirks", "", "comma-separated quirks (self-test only): "+strings.Join(vehicle.QuirkNames(), ", "))
	flag.Parse()
	if cfg.CertFile == "" {
		cfg.CertFile = filepath.Join(*pkiDir, "vehicle.chain.pem")
	}
	if cfg.KeyFile == "" {
		cfg.KeyFile = filepath.Join(*pkiDir, "vehicle.key.pem")
	}
	if cfg.RootCAFile == "" {
		cfg.RootCAFile = filepath.Join(*pkiDir, "root.crt.pem")
	}
	cfg.MQTT.KeepAlive = uint16(*keepAlive)
	if cfg.Revocation.Resolver == "" {
		cfg.Revocation.Resolver = cfg.Resolver
	}
	if *revDNS != "" {
		cfg.Revocation.Resolver = *revDNS
	}
	if *vissV3 != "" {
		cfg.VISS.Servers = append(cfg.VISS.Servers, viss.ServerConfig{Dialect: "v3", Revision: *vissRevision, Addr: *vissV3, MQTT: *vissMQTT, VID: *vissVID})
	}
	if (*vissMQTT || *vissVID != "") && *vissV3 == "" {
		fmt.Fprintln(os.Stderr, "vehicle: -viss-mqtt and -viss-mqtt-vid need -viss-v3 (VISS over MQTT is a v3 transport)")
		os.Exit(2)
	}
	if *vissGen2 != "" {
		cfg.VISS.Servers = append(cfg.VISS.Servers, viss.ServerConfig{Dialect: "gen2", Addr: *vissGen2})
	}
	if cfg.VISS.CertFile == "" {
		cfg.VISS.CertFile = filepath.Join(*pkiDir, "viss-server.chain.pem")
	}
	if cfg.VISS.KeyFile == "" {
		cfg.VISS.KeyFile = filepath.Join(*pkiDir, "viss-server.key.pem")
	}
	if *specFile != "" {
		o, err := loadSpecOptions(*specFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vehicle:", err)
			os.Exit(2)
		}
		cfg.Spec, cfg.VehicleIDHeader = o, o.VehicleIDHeader
	}
	if *quirks != "" {
		cfg.Quirks = strings.Split(*quirks, ",")
	}
	cfg.Logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, time.Now().Format(time.RFC3339Nano)+" "+format+"\n", args...)
	}
	v, err := vehicle.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vehicle:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := v.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "vehicle:", err)
		os.Exit(1)
	}
}

// loadSpecOptions reads a YAML file of spec.Options keys over the
// register's defaults; unknown keys and readings out of range are errors
// naming the file.
func loadSpecOptions(path string) (spec.Options, error) {
	o := spec.DefaultOptions()
	b, err := os.ReadFile(path)
	if err != nil {
		return o, fmt.Errorf("-spec: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&o); err != nil && !errors.Is(err, io.EOF) {
		return o, fmt.Errorf("-spec %s: %w", path, err)
	}
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("-spec %s: %w", path, err)
	}
	return o, nil
}
