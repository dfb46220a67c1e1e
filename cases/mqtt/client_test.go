package mqtt_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/eclipse/paho.golang/packets"

	"github.com/icoc-dev/icoc/fixtures/pki"
	"github.com/icoc-dev/icoc/simulator/center"
)

// wire is the harness playing a vehicle against a broker DUT: a raw MQTT
// v5 client over TLS 1.3 that sends exactly the packets a spec builds and
// reads what comes back.
type wire struct {
	conn net.Conn
}

// identity is a client certificate chain and key (PEM files); empty: none.
type identity struct{ chain, key string }

// dutIdentity is the profile's vehicle identity.
func dutIdentity() identity { return identity{run.Profile.DUT.CertFile, run.Profile.DUT.KeyFile} }

// renewedIdentity is a second good certificate of the test VIN (RFC 8705
// binding specs); only the test PKI has one.
func renewedIdentity() identity {
	return identity{pki.Path(pki.VehicleRenewed.ChainFile()), pki.Path(pki.VehicleRenewed.KeyFile())}
}

func tlsConfig(id identity) (*tls.Config, error) {
	roots := x509.NewCertPool()
	b, err := os.ReadFile(run.Profile.DUT.RootCAFile)
	if err != nil {
		return nil, err
	}
	roots.AppendCertsFromPEM(b)
	tc := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots, ServerName: run.Profile.Center.Host,
		CurvePreferences: []tls.CurveID{tls.CurveP384, tls.CurveP521}, NextProtos: []string{"mqtt"}}
	if id.chain != "" {
		c, err := tls.LoadX509KeyPair(id.chain, id.key)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return tc, nil
}

// The bounds of the broker-DUT specs' waits, in the broker's real time:
// a broker answers at once, and a bound is what a silent one is given.
const (
	// dialWait bounds the TCP connect to the broker DUT.
	dialWait = 10 * time.Second
	// answerWait bounds the wait for one answer of the broker DUT
	// (CONNACK, SUBACK, PUBACK).
	answerWait = 30 * time.Second
)

// dialDUT opens a TLS connection to the broker DUT with id.
func dialDUT(ctx context.Context, id identity) (*wire, error) {
	tc, err := tlsConfig(id)
	if err != nil {
		return nil, err
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: dialWait}, Config: tc}
	c, err := d.DialContext(ctx, "tcp", run.MQTTDUTAddr())
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(answerWait))
	return &wire{conn: c}, nil
}

func (w *wire) close() { _ = w.conn.Close() }

func (w *wire) send(p interface {
	WriteTo(io.Writer) (int64, error)
}) error {
	_, err := p.WriteTo(w.conn)
	return err
}

// recv reads the next packet within d (wall time).
func (w *wire) recv(d time.Duration) (*packets.ControlPacket, error) {
	_ = w.conn.SetReadDeadline(time.Now().Add(d))
	return packets.ReadPacket(w.conn)
}

// connect sends CONNECT and returns the CONNACK, or the packet or error
// that came instead.
func (w *wire) connect(c *packets.Connect) (*packets.Connack, *packets.ControlPacket, error) {
	c.ProtocolName, c.ProtocolVersion = "MQTT", 5
	if c.KeepAlive == 0 {
		c.KeepAlive = 60
	}
	if err := w.send(c); err != nil {
		return nil, nil, err
	}
	cp, err := w.recv(answerWait)
	if err != nil {
		return nil, nil, err
	}
	ca, _ := cp.Content.(*packets.Connack)
	return ca, cp, nil
}

// goodConnect builds the CONNECT a conformant vehicle sends: Client ID =
// VIN and, with OTP, username = VIN and a fresh one-time password of id.
func goodConnect(ctx context.Context, id identity) (*packets.Connect, error) {
	c := &packets.Connect{ClientID: run.Profile.DUT.VIN, CleanStart: true}
	if run.Profile.MQTT.OTP {
		otp, err := fetchOTP(ctx, id)
		if err != nil {
			return nil, err
		}
		c.UsernameFlag, c.Username = true, run.Profile.DUT.VIN
		c.PasswordFlag, c.Password = true, []byte(otp)
	}
	return c, nil
}

// session connects to the broker DUT as the vehicle and returns the open
// connection and its CONNACK.
func session(ctx context.Context) (*wire, *packets.Connack, error) {
	w, err := dialDUT(ctx, dutIdentity())
	if err != nil {
		return nil, nil, err
	}
	c, err := goodConnect(ctx, dutIdentity())
	if err != nil {
		w.close()
		return nil, nil, err
	}
	ca, cp, err := w.connect(c)
	switch {
	case err != nil:
		w.close()
		return nil, nil, fmt.Errorf("no CONNACK: %w", err)
	case ca == nil:
		w.close()
		return nil, nil, fmt.Errorf("%s instead of CONNACK", cp.PacketType())
	case ca.ReasonCode >= 0x80:
		w.close()
		return nil, ca, fmt.Errorf("CONNACK 0x%02X %s", ca.ReasonCode, ca.Properties.ReasonString)
	}
	return w, ca, nil
}

// fetchOTP gets a one-time password from the center DUT (GET /otp with
// the vehicle_id header, register I-143) as the vehicle with id.
func fetchOTP(ctx context.Context, id identity) (string, error) {
	cert, err := tls.LoadX509KeyPair(id.chain, id.key)
	if err != nil {
		return "", err
	}
	cl, err := run.VehicleClient("http/1.1", &cert)
	if err != nil {
		return "", err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+run.Profile.Center.Host+center.OTPPath, nil)
	req.Header.Set("vehicle_id", run.Profile.DUT.VIN)
	resp, err := cl.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", center.OTPPath, err)
	}
	defer resp.Body.Close()
	var a center.OTPAnswer
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &a) != nil || a.OTP == "" {
		return "", fmt.Errorf("GET %s: %d %q", center.OTPPath, resp.StatusCode, b)
	}
	return a.OTP, nil
}

// outcome describes what a connection answered a packet with, for
// verdicts: the packet, or how the connection ended.
func outcome(cp *packets.ControlPacket, err error) string {
	switch {
	case err != nil && errors.Is(err, io.EOF):
		return "the connection was closed (EOF)"
	case err != nil:
		return "no packet: " + err.Error()
	}
	return cp.String()
}
