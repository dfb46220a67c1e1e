// Command vehicle runs the reference vehicle on its own: it listens on a
// CAN bus (SocketCAN interface or the UDP multicast emulator) and uploads
// what it records to a center, as the common specification says. It has no
// VIN of its own: it reads the VIN from the bus (message VINBroadcast of
// simulator/bench/bench.dbc) and connects only once it has it (7.2.2.7).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/icoc-dev/icoc/simulator/vehicle"
	"github.com/icoc-dev/icoc/simulator/viss"
)

func main() {
	cfg := vehicle.NewDefaultConfig()
	pkiDir := flag.String("pki", "fixtures/pki", "directory of the test PKI (used for unset certificate flags)")
	flag.StringVar(&cfg.CenterURL, "center", "https://center.icoc.test:443", "center base URL; its host is the TLS server name")
	flag.StringVar(&cfg.CenterAddr, "center-addr", "", "address to dial instead of the URL's host (host:port)")
	flag.StringVar(&cfg.CertFile, "cert", "", "client certificate chain, PEM (default: <pki>/vehicle.chain.pem)")
	flag.StringVar(&cfg.KeyFile, "key", "", "client key, PEM (default: <pki>/vehicle.key.pem)")
	flag.StringVar(&cfg.RootCAFile, "root-ca", "", "OEM root CA, PEM (default: <pki>/root.crt.pem)")
	flag.StringVar(&cfg.Bus.Interface, "can", "", "SocketCAN interface (can0, vcan0)")
	flag.StringVar(&cfg.Bus.UDP, "can-udp", "", "UDP multicast address of an emulated bus (instead of -can)")
	flag.StringVar(&cfg.Bus.Hub, "can-hub", "", "UDP address of a CAN hub, an emulated bus that crosses hosts and network namespaces (instead of -can)")
	flag.StringVar(&cfg.Resolver, "dns", "", "DNS server (host:port) for the center's and the CDP/OCSP host names (default: the system's)")
	flag.IntVar(&cfg.Revocation.Port, "revocation-port", 0, "TCP port of the CDP/OCSP hosts instead of the URLs' port 80")
	flag.BoolVar(&cfg.Push, "push", false, "keep a push connection to the center (7.2.3.9.2)")
	flag.Float64Var(&cfg.TimeScale, "time-scale", 1, "wall seconds per spec second (1: real time)")
	vissV3 := flag.String("viss-v3", "", "listen address (host:port) of a VISS v3 server (wss and https; e.g. 127.0.0.1:6443)")
	vissRevision := flag.String("viss-revision", "rc0", "revision of the VISS v3 server: rc0 (seed 002) or published (v3.0 as published)")
	vissGen2 := flag.String("viss-gen2", "", "listen address (host:port) of a VISS Gen2 server (wss and https)")
	flag.StringVar(&cfg.VISS.CertFile, "viss-cert", "", "VISS server certificate chain, PEM (default: <pki>/viss-server.chain.pem)")
	flag.StringVar(&cfg.VISS.KeyFile, "viss-key", "", "VISS server key, PEM (default: <pki>/viss-server.key.pem)")
	flag.StringVar(&cfg.VISS.TokenSecretFile, "viss-token-secret", "", "file holding the HS256 secret shared with the VISS access token server")
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
	cfg.Revocation.Resolver = cfg.Resolver
	if *vissV3 != "" {
		cfg.VISS.Servers = append(cfg.VISS.Servers, viss.ServerConfig{Dialect: "v3", Revision: *vissRevision, Addr: *vissV3})
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
