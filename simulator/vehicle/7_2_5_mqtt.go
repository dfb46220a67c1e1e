package vehicle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	paholog "github.com/eclipse/paho.golang/paho/log"
)

// UplinkMQTT is the MQTT v5 uplink (7.2.5).
const UplinkMQTT = "mqtt"

func init() {
	registerQuirk(QuirkInfo{Name: "mqtt-v311", Clause: "7.2.5.1", Breaks: "connects with MQTT 3.1.1 (protocol level 4) instead of MQTT v5"})
	registerQuirk(QuirkInfo{Name: "mqtt-enhanced-auth", Clause: "7.2.5.1", Breaks: "puts an Authentication Method (enhanced authentication) into CONNECT"})
	registerQuirk(QuirkInfo{Name: "mqtt-keepalive-0", Clause: "7.2.5.3", Breaks: "sends Keep Alive 0 (keep alive off) in CONNECT"})
	registerQuirk(QuirkInfo{Name: "mqtt-no-ping", Clause: "7.2.5.7, 7.2.5.3", Breaks: "announces a Keep Alive but sends no PINGREQ when idle"})
	registerQuirk(QuirkInfo{Name: "mqtt-ignore-server-keepalive", Clause: "7.2.5.3 (MQTT 3.2.2.3.14)", Breaks: "keeps its own Keep Alive when CONNACK gives a Server Keep Alive"})
	registerQuirk(QuirkInfo{Name: "mqtt-keepalive-s", Clause: "7.2.5.7, I-043", Breaks: "announces and keeps this Keep Alive (seconds) instead of 30 (a variant: the value is free)", Variant: true, Arg: "int"})
	registerQuirk(QuirkInfo{Name: "mqtt-client-id", Clause: "7.2.5.7", Breaks: "sends this Client ID instead of the VIN", Arg: "string"})
	registerQuirk(QuirkInfo{Name: "mqtt-otp-reuse", Clause: "7.2.5.7", Breaks: "fetches a one-time password once and uses it for every CONNECT"})
	registerQuirk(QuirkInfo{Name: "mqtt-username", Clause: "7.2.5.7", Breaks: "sends this username instead of the VIN", Arg: "string"})
	registerQuirk(QuirkInfo{Name: "mqtt-no-topic-alias", Clause: "7.2.5.1", Breaks: "never uses a topic alias"})
	registerQuirk(QuirkInfo{Name: "mqtt-alias-no-reset", Clause: "7.2.5.1 (MQTT 3.3.2.3.4)", Breaks: "keeps its topic aliases across a new connection"})
	registerQuirk(QuirkInfo{Name: "mqtt-alias-without-tam", Clause: "7.2.5.1 (MQTT 3.3.2.3.4)", Breaks: "uses topic aliases although CONNACK gave no Topic Alias Maximum"})
	registerQuirk(QuirkInfo{Name: "mqtt-no-inbound-alias", Clause: "7.2.5.1", Breaks: "accepts no topic aliases from the broker (Topic Alias Maximum 0 in CONNECT; a variant: aliases towards the vehicle are the broker's choice)", Variant: true})
	registerQuirk(QuirkInfo{Name: "mqtt-ack-timeout-s", Clause: "7.2.5.5", Breaks: "waits this many spec seconds for CONNACK, PUBACK, SUBACK and UNSUBACK instead of 30", Arg: "int"})
}

// MQTTConfig is the vehicle's side of 7.2.5.
type MQTTConfig struct {
	// Broker is the broker's host:port (Appendix 2 1.4.2: port 8883); its
	// host is the TLS server name. Empty: the center URL's host, port 8883.
	Broker string `yaml:"broker"`
	// BrokerAddr, when set, is dialled instead of Broker's host.
	BrokerAddr string `yaml:"broker_addr"`
	// OTP makes the vehicle fetch a one-time password (GET /otp on the
	// center) before each CONNECT and send username = VIN, password = the
	// OTP (7.2.5.7).
	OTP bool `yaml:"otp"`
	// KeepAlive is the Keep Alive of CONNECT in seconds of spec time
	// (7.2.5.3, 7.2.5.7; register I-043).
	KeepAlive uint16 `yaml:"keep_alive"`
	// Application is the <Application Name> of CAN data uploads
	// (topic <VIN>/can/V2C); PushApplication that of pushes.
	Application     string `yaml:"application"`
	PushApplication string `yaml:"push_application"`
	// TopicAliasMaximum is the Topic Alias Maximum the vehicle offers the
	// broker in CONNECT (aliases towards the vehicle).
	TopicAliasMaximum uint16 `yaml:"topic_alias_maximum"`
}

// DefaultMQTTConfig returns the vehicle's MQTT settings: OTP off, Keep
// Alive 30 s, applications "can" and "push", 10 inbound aliases.
func DefaultMQTTConfig() MQTTConfig {
	return MQTTConfig{KeepAlive: 30, Application: "can", PushApplication: "push", TopicAliasMaximum: 10}
}

// brokerAddr returns the address to dial and the TLS server name.
func (v *Vehicle) brokerAddr() (addr, serverName string) {
	b := v.cfg.MQTT.Broker
	if b == "" {
		b = net.JoinHostPort(v.base.Hostname(), "8883")
	}
	host, _, _ := net.SplitHostPort(b)
	addr = b
	if v.cfg.MQTT.BrokerAddr != "" {
		addr = v.cfg.MQTT.BrokerAddr
	}
	return addr, host
}

// ackTimeout is the wait for an acknowledgement of packet (7.2.5.5:
// CONNACK, PUBACK, SUBACK 30 s; UNSUBACK 30 s by I-015), wall time.
func (v *Vehicle) ackTimeout(packet string) time.Duration {
	d, ok := v.doc.MQTTAckTimeout(packet)
	if !ok {
		d = 30 * time.Second
	}
	if s := v.quirks.Int("mqtt-ack-timeout-s", -1); s >= 0 {
		d = time.Duration(s) * time.Second
	}
	return v.cfg.wall(d)
}

// errAckTimeout is an acknowledgement that did not come within the 7.2.5.5
// wait.
var errAckTimeout = errors.New("7.2.5.5: no acknowledgement within the wait")

// mqttLink is one MQTT connection of the vehicle: TLS 1.3 with the client
// certificate, a CONNECT that was answered 0x00, and what this connection
// keeps (topic aliases both ways, the broker's limits).
type mqttLink struct {
	v      *Vehicle
	c      *paho.Client
	conn   net.Conn
	tam    uint16 // the broker's Topic Alias Maximum (0: no aliases)
	done   chan struct{}
	once   sync.Once
	reason string // why it ended

	mu        sync.Mutex
	aliases   map[string]uint16
	inAliases map[uint16]string
}

// aliasesCarried are the topic aliases the mqtt-alias-no-reset quirk keeps
// across connections.
var aliasesCarried sync.Map // *Vehicle -> map[string]uint16

// dialMQTT opens one connection and sends CONNECT: the OTP first when
// configured (7.2.5.7), then TLS 1.3 with the client certificate, then
// CONNECT with Client ID = VIN, Keep Alive, Clean Start, the vehicle's
// Topic Alias Maximum. It returns the link (CONNACK 0x00), or the CONNACK
// reason code (>= 0x80) the broker refused with, or an error when no
// CONNACK came (connection failure, 7.2.5.5 timeout: errAckTimeout).
func (v *Vehicle) dialMQTT(ctx context.Context, onPublish func(*mqttLink, *paho.Publish)) (*mqttLink, int, error) {
	vin := v.VIN()
	user, pass := "", ""
	if v.cfg.MQTT.OTP {
		otp, err := v.fetchOTP(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("one-time password (7.2.5.7): %w", err)
		}
		user, pass = vin, otp
		if u := v.quirks.String("mqtt-username"); u != "" {
			user = u
		}
	}
	addr, serverName := v.brokerAddr()
	tc := v.quirkedHello(v.tls.Clone())
	tc.ServerName = serverName
	tc.NextProtos = []string{"mqtt"}
	conn, err := v.handshakeOnce(ctx, "tcp", addr, tc)
	if err != nil {
		return nil, 0, err
	}
	if v.quirks.Has("mqtt-v311") {
		return nil, 0, v.connectV311(conn, vin)
	}
	l := &mqttLink{v: v, conn: conn, done: make(chan struct{}), aliases: map[string]uint16{}, inAliases: map[uint16]string{}}
	if v.quirks.Has("mqtt-alias-no-reset") {
		if m, ok := aliasesCarried.Load(v); ok {
			l.aliases = m.(map[string]uint16)
		}
		aliasesCarried.Store(v, l.aliases)
	}
	keepAlive := v.cfg.MQTT.KeepAlive
	if k := v.quirks.Int("mqtt-keepalive-s", -1); k > 0 {
		keepAlive = uint16(k)
	}
	if v.quirks.Has("mqtt-keepalive-0") {
		keepAlive = 0
	}
	pinger := &scaledPinger{v: v}
	if v.quirks.Has("mqtt-ignore-server-keepalive") {
		pinger.fixed = keepAlive
	}
	cc := paho.ClientConfig{
		Conn:          packets.NewThreadSafeConn(conn),
		PacketTimeout: time.Hour, // the 7.2.5.5 waits are the vehicle's own (ackTimeout)
		PingHandler:   pinger,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(p paho.PublishReceived) (bool, error) {
			onPublish(l, p.Packet)
			return true, nil
		}},
		OnClientError:      func(err error) { l.end("connection error: " + err.Error()) },
		OnServerDisconnect: func(d *paho.Disconnect) { l.end(fmt.Sprintf("server DISCONNECT 0x%02X", d.ReasonCode)) },
	}
	if v.quirks.Has("mqtt-push-no-puback") {
		cc.EnableManualAcknowledgment = true
	}
	l.c = paho.NewClient(cc)
	l.c.SetErrorLogger(paholog.NOOPLogger{})
	clientID := vin
	if id := v.quirks.String("mqtt-client-id"); id != "" {
		clientID = id
	}
	tam := v.cfg.MQTT.TopicAliasMaximum
	if v.quirks.Has("mqtt-no-inbound-alias") {
		tam = 0
	}
	cp := &paho.Connect{ClientID: clientID, KeepAlive: keepAlive, CleanStart: true,
		Properties: &paho.ConnectProperties{TopicAliasMaximum: &tam, RequestProblemInfo: true}}
	if user != "" {
		cp.UsernameFlag, cp.Username = true, user
	}
	if pass != "" {
		cp.PasswordFlag, cp.Password = true, []byte(pass)
	}
	if v.quirks.Has("mqtt-enhanced-auth") {
		cp.Properties.AuthMethod = "SCRAM-SHA-256"
	}
	cctx, cancel := context.WithTimeout(ctx, v.ackTimeout("CONNACK"))
	defer cancel()
	ca, err := l.c.Connect(cctx, cp)
	switch {
	case ca != nil && ca.ReasonCode >= 0x80:
		_ = conn.Close()
		return nil, int(ca.ReasonCode), nil
	case err != nil:
		_ = conn.Close()
		if cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return nil, 0, errAckTimeout
		}
		return nil, 0, fmt.Errorf("CONNECT: %w", err)
	}
	if ca.Properties != nil && ca.Properties.TopicAliasMaximum != nil {
		l.tam = *ca.Properties.TopicAliasMaximum
	}
	go func() {
		<-l.c.Done()
		l.end("connection closed")
	}()
	return l, 0, nil
}

// end marks the link ended (once) and closes it.
func (l *mqttLink) end(why string) {
	l.once.Do(func() {
		l.reason = why
		_ = l.conn.Close()
		close(l.done)
	})
}

// alive reports whether the link is still open.
func (l *mqttLink) alive() bool {
	select {
	case <-l.done:
		return false
	default:
		return true
	}
}

// connectV311 is the mqtt-v311 quirk: a CONNECT of protocol level 4 on
// the wire; whatever comes back, the attempt fails.
func (v *Vehicle) connectV311(conn net.Conn, vin string) error {
	defer conn.Close()
	c := &packets.Connect{ProtocolName: "MQTT", ProtocolVersion: 4, ClientID: vin, KeepAlive: v.cfg.MQTT.KeepAlive, CleanStart: true}
	if _, err := c.WriteTo(conn); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(v.ackTimeout("CONNACK")))
	_, _ = packets.ReadPacket(conn)
	return errors.New("quirk mqtt-v311: the vehicle speaks MQTT 3.1.1")
}

// otpCache is the one OTP the mqtt-otp-reuse quirk keeps.
var otpCache sync.Map // *Vehicle -> string

// fetchOTP gets a one-time password: GET /otp on the center with the
// vehicle_id header, over the vehicle's HTTPS session (7.2.5.7; register
// I-143).
func (v *Vehicle) fetchOTP(ctx context.Context) (string, error) {
	if v.quirks.Has("mqtt-otp-reuse") {
		if otp, ok := otpCache.Load(v); ok {
			return otp.(string), nil
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.base.JoinPath("otp").String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set(v.cfg.VehicleIDHeader, v.VIN())
	req.Header.Set("User-Agent", v.cfg.UserAgent)
	resp, err := v.http.do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	v.http.done(resp)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /otp answered %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var a struct {
		OTP string `json:"otp"`
	}
	if err := json.Unmarshal(b, &a); err != nil || a.OTP == "" {
		return "", fmt.Errorf("GET /otp: no otp in %q", b)
	}
	otpCache.Store(v, a.OTP)
	return a.OTP, nil
}

// publish sends one QoS 1 PUBLISH with topic alias (7.2.5.1) and waits for
// its PUBACK up to the 7.2.5.5 wait: the reason code, or errAckTimeout, or
// the error that ended the connection.
func (l *mqttLink) publish(ctx context.Context, topic string, payload []byte, props paho.PublishProperties, qos byte) (int, error) {
	p := &paho.Publish{QoS: qos, Topic: topic, Payload: payload, Properties: &props}
	l.alias(p)
	pctx, cancel := context.WithTimeout(ctx, l.v.ackTimeout("PUBACK"))
	defer cancel()
	resp, err := l.c.Publish(pctx, p)
	if resp != nil && resp.ReasonCode >= 0x80 {
		return int(resp.ReasonCode), nil
	}
	if err != nil {
		if pctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return 0, errAckTimeout
		}
		return 0, err
	}
	if resp == nil {
		return 0, nil
	}
	return int(resp.ReasonCode), nil
}

// alias applies the topic alias rules of MQTT 5 §3.3.2.3.4 (7.2.5.1: "Use
// the topic alias function"): the first PUBLISH on a topic carries the
// topic and a new alias (1..the broker's Topic Alias Maximum), later ones
// the alias alone; none when the broker gave no maximum; a new connection
// starts with none.
func (l *mqttLink) alias(p *paho.Publish) {
	v := l.v
	if v.quirks.Has("mqtt-no-topic-alias") {
		return
	}
	max := l.tam
	if max == 0 && v.quirks.Has("mqtt-alias-without-tam") {
		max = 10
	}
	if max == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.aliases[p.Topic]; ok {
		p.Topic = ""
		p.Properties.TopicAlias = &a
		return
	}
	if len(l.aliases) >= int(max) {
		return // every alias is taken: the topic goes in full
	}
	a := uint16(len(l.aliases) + 1)
	l.aliases[p.Topic] = a
	p.Properties.TopicAlias = &a
}

// subscribe sends SUBSCRIBE (QoS 1, 7.2.5.3) and waits for SUBACK up to the
// 7.2.5.5 wait: the first reason code, or errAckTimeout or the error that
// ended the connection.
func (l *mqttLink) subscribe(ctx context.Context, topic string, qos byte) (int, error) {
	sctx, cancel := context.WithTimeout(ctx, l.v.ackTimeout("SUBACK"))
	defer cancel()
	sa, err := l.c.Subscribe(sctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: qos}}})
	if sa != nil && len(sa.Reasons) > 0 {
		return int(sa.Reasons[0]), nil
	}
	if err != nil {
		if sctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return 0, errAckTimeout
		}
		return 0, err
	}
	return 0, errors.New("SUBACK without a reason code")
}

// unsubscribe sends UNSUBSCRIBE and waits for UNSUBACK up to the wait of
// I-015.
func (l *mqttLink) unsubscribe(ctx context.Context, topic string) (int, error) {
	uctx, cancel := context.WithTimeout(ctx, l.v.ackTimeout("UNSUBACK"))
	defer cancel()
	ua, err := l.c.Unsubscribe(uctx, &paho.Unsubscribe{Topics: []string{topic}})
	if ua != nil && len(ua.Reasons) > 0 {
		return int(ua.Reasons[0]), nil
	}
	if err != nil {
		if uctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return 0, errAckTimeout
		}
		return 0, err
	}
	return 0, errors.New("UNSUBACK without a reason code")
}

// scaledPinger keeps the connection alive on the vehicle's clock (7.2.5.7:
// "Keep alive ... shall be performed from client side"): when it has sent
// nothing for the Keep Alive in force (the Server Keep Alive of CONNACK,
// else its own), it sends PINGREQ; a PINGRESP that does not come within
// another Keep Alive ends the connection.
type scaledPinger struct {
	v     *Vehicle
	fixed uint16 // the mqtt-ignore-server-keepalive quirk's own value

	mu       sync.Mutex
	lastSent time.Time
	waiting  time.Time // when the unanswered PINGREQ went, or zero
}

func (p *scaledPinger) Run(ctx context.Context, conn net.Conn, keepAlive uint16) error {
	if p.fixed > 0 {
		keepAlive = p.fixed
	}
	if keepAlive == 0 || p.v.quirks.Has("mqtt-no-ping") {
		<-ctx.Done()
		return nil
	}
	// A packet at the latest every Keep Alive (MQTT 3.1.2.10): ping after
	// three quarters of it, so a late timer cannot overrun it.
	keep := p.v.cfg.wall(time.Duration(keepAlive) * time.Second)
	interval := keep * 3 / 4
	p.mu.Lock()
	if p.lastSent.IsZero() {
		p.lastSent = time.Now()
	}
	p.mu.Unlock()
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		p.mu.Lock()
		now := time.Now()
		if !p.waiting.IsZero() && now.Sub(p.waiting) >= keep {
			p.mu.Unlock()
			return errors.New("no PINGRESP within the Keep Alive")
		}
		next := p.lastSent.Add(interval)
		if p.waiting.IsZero() && !now.Before(next) {
			p.waiting, p.lastSent = now, now
			p.mu.Unlock()
			if _, err := packets.NewControlPacket(packets.PINGREQ).WriteTo(conn); err != nil {
				return err
			}
			t.Reset(interval)
			continue
		}
		wait := time.Until(next)
		if !p.waiting.IsZero() {
			wait = time.Until(p.waiting.Add(keep))
		}
		p.mu.Unlock()
		t.Reset(max(wait, time.Millisecond))
	}
}

func (p *scaledPinger) PacketSent() {
	p.mu.Lock()
	p.lastSent = time.Now()
	p.mu.Unlock()
}

func (p *scaledPinger) PacketReceived() {}

func (p *scaledPinger) PingResp() {
	p.mu.Lock()
	p.waiting = time.Time{}
	p.mu.Unlock()
}

func (p *scaledPinger) SetDebug(paholog.Logger) {}
