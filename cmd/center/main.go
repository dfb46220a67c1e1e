// Command center runs the reference center on its own, for a bench: the
// out-car side of the common specification over TLS 1.3 with mutual
// authentication, logging every connection and exchange.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/icoc-dev/icoc/simulator/center"
)

func main() {
	cfg := center.NewDefaultConfig()
	pkiDir := flag.String("pki", "fixtures/pki", "directory of the test PKI (used for unset certificate flags)")
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:8443", "listen address (Appendix 2: 443 on a bench)")
	flag.StringVar(&cfg.CertFile, "cert", "", "server certificate chain, PEM (default: <pki>/center-ecdsa.chain.pem)")
	flag.StringVar(&cfg.KeyFile, "key", "", "server key, PEM (default: <pki>/center-ecdsa.key.pem)")
	flag.StringVar(&cfg.ClientCAFile, "client-ca", "", "OEM root CA for client chains, PEM (default: <pki>/root.crt.pem)")
	flag.StringVar(&cfg.MQTT.Addr, "mqtt-addr", "127.0.0.1:8883", "MQTT v5 broker listen address (Appendix 2: 8883); empty: no broker")
	flag.BoolVar(&cfg.MQTT.OTP, "mqtt-otp", false, "require the one-time password of GET /otp at MQTT CONNECT (7.2.5.7)")
	quiet := flag.Bool("quiet", false, "log no line per handshake and exchange (load tests)")
	flag.IntVar(&cfg.VehicleIDLength, "vehicle-id-length", cfg.VehicleIDLength, "length of the vehicle_id header (17 for a VIN; see spec/INTERPRETATIONS.md)")
	flag.Parse()
	if cfg.CertFile == "" {
		cfg.CertFile = filepath.Join(*pkiDir, "center-ecdsa.chain.pem")
	}
	if cfg.KeyFile == "" {
		cfg.KeyFile = filepath.Join(*pkiDir, "center-ecdsa.key.pem")
	}
	if cfg.ClientCAFile == "" {
		cfg.ClientCAFile = filepath.Join(*pkiDir, "root.crt.pem")
	}
	cfg.Logf = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, time.Now().Format(time.RFC3339Nano)+" "+format+"\n", args...)
	}
	s, err := center.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "center:", err)
		os.Exit(1)
	}
	if !*quiet {
		s.AddHook(&logHook{logf: cfg.Logf})
	}
	if err := s.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "center:", err)
		os.Exit(1)
	}
	cfg.Logf("center: listening on %s", s.Addr())
	if cfg.MQTT.Addr != "" {
		b, err := s.StartMQTT(cfg.MQTT)
		if err != nil {
			fmt.Fprintln(os.Stderr, "center:", err)
			os.Exit(1)
		}
		cfg.Logf("center: MQTT broker listening on %s (OTP %v)", b.Addr(), cfg.MQTT.OTP)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = s.Close()
}

// logHook prints one line per handshake and per answered request.
type logHook struct {
	center.HookBase
	logf func(string, ...any)
}

func (h *logHook) ID() string { return "log" }

func (h *logHook) Provides(e center.Event) bool {
	return e == center.OnHandshake || e == center.OnAnswer
}

func (h *logHook) OnHandshake(i center.HandshakeInfo) {
	if i.Err != nil {
		return // the server logs failed handshakes itself
	}
	cn := ""
	if len(i.PeerCertificates) > 0 {
		cn = i.PeerCertificates[0].Subject.CommonName
	}
	h.logf("conn %d from %s: TLS ok, client %q, SNI %q, ALPN %q, group %v", i.Conn.ID, i.Conn.RemoteAddr, cn, i.SNI, i.ALPN, i.Group)
}

func (h *logHook) OnAnswer(x *center.Exchange, a center.Answer, _ time.Time) {
	if x.Protocol == center.ProtoMQTT {
		h.logf("conn %d: MQTT %s %s %s (%d bytes) -> 0x%02X by %s", x.Conn.ID, x.Header.Get(center.MQTTDirection), x.Method, x.Path, len(x.Body), a.Code, a.By)
		return
	}
	h.logf("conn %d: %s %s (%d bytes) -> %d by %s", x.Conn.ID, x.Method, x.Path, len(x.Body), a.Status, a.By)
}
