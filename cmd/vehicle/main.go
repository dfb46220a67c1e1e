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
	flag.StringVar(&cfg.Uplink, "uplink", cfg.Uplink, "protocol of uploads, API calls and downloads: "+strings.Join(vehicle.UplinkNames(), ", "))
	flag.StringVar(&cfg.MQTT.Broker, "mqtt-broker", "", "MQTT broker host:port for -uplink mqtt; its host is the TLS server name (default: the center's host, port 8883)")
	flag.StringVar(&cfg.MQTT.BrokerAddr, "mqtt-addr", "", "address to dial instead of the broker's host (host:port)")
	flag.BoolVar(&cfg.MQTT.OTP, "mqtt-otp", false, "fetch a one-time password (GET /otp on the center) before each MQTT CONNECT (7.2.5.7)")
	flag.StringVar(&cfg.MQTT.Application, "mqtt-app", cfg.MQTT.Application, "<Application Name> of CAN data uploads over MQTT (topic <VIN>/<app>/V2C)")
	flag.StringVar(&cfg.MQTT.PushApplication, "mqtt-push-app", cfg.MQTT.PushApplication, "<Application Name> of pushes over MQTT (topic <VIN>/<app>/C2V)")
	keepAlive := flag.Uint("mqtt-keep-alive", uint(cfg.MQTT.KeepAlive), "MQTT Keep Alive, seconds")
	flag.Float64Var(&cfg.TimeScale, "time-scale", 1, "wall seconds per spec second (1: real time)")
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
	cfg.MQTT.KeepAlive = uint16(*keepAlive)
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
