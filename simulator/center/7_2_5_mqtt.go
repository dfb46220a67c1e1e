package center

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/icoc-dev/icoc/spec"
)

func init() {
	registerQuirk(QuirkInfo{Name: "mqtt-no-acl", Clause: "7.2.5.1", Breaks: "lets a VIN publish and subscribe to any topic, another VIN's included"})
	registerQuirk(QuirkInfo{Name: "mqtt-no-tam", Clause: "7.2.5.1", Breaks: "advertises no Topic Alias Maximum in CONNACK"})
	registerQuirk(QuirkInfo{Name: "mqtt-enhanced-auth", Clause: "7.2.5.1", Breaks: "accepts a CONNECT with an Authentication Method (enhanced authentication)"})
	registerQuirk(QuirkInfo{Name: "mqtt-no-client-id-check", Clause: "7.2.5.7, 6.4", Breaks: "accepts a Client ID that is not the VIN of the client certificate"})
	registerQuirk(QuirkInfo{Name: "mqtt-max-qos0", Clause: "7.2.5.3", Breaks: "offers Maximum QoS 0 and delivers at QoS 0"})
	registerQuirk(QuirkInfo{Name: "mqtt-no-keepalive", Clause: "7.2.5.7 (MQTT 3.1.2.10)", Breaks: "keeps a client that stays silent beyond 1.5 times its Keep Alive"})
	registerQuirk(QuirkInfo{Name: "mqtt-push-no-response-topic", Clause: "7.2.5.2", Breaks: "pushes without a Response Topic"})
}

// MQTTConfig configures the center's MQTT v5 broker (7.2.5): it listens
// with the center's TLS 1.3 and client authentication on its own port
// (Appendix 2 1.4.2: 8883), takes the VIN from the client certificate,
// requires Client ID = VIN (register I-145), checks the one-time password
// of 7.2.5.7 when OTP is set (I-143, I-144), lets a VIN reach only its own
// topics (I-146), refuses enhanced authentication (7.2.5.1) and advertises
// a Topic Alias Maximum.
type MQTTConfig struct {
	// Addr is the broker's listen address; Server.StartMQTT uses it when
	// given none. Empty: cmd/center starts no broker.
	Addr string `yaml:"addr"`
	// OTP makes CONNECT need username = VIN and password = a one-time
	// password from GET /otp on the center (7.2.5.7).
	OTP bool `yaml:"otp"`
	// OTPLifetime is how long an OTP may be used after it was issued
	// (wall time).
	OTPLifetime time.Duration `yaml:"otp_lifetime"`
	// TopicAliasMaximum is advertised in CONNACK (7.2.5.1 "Use the topic
	// alias function"); mochi-mqtt itself never advertises one.
	TopicAliasMaximum uint16 `yaml:"topic_alias_maximum"`
	// ServerKeepAlive, when positive, is sent in CONNACK as the Server
	// Keep Alive (seconds) the client must use instead of its own.
	ServerKeepAlive uint16 `yaml:"server_keep_alive"`
	// PushApplication is the <Application Name> of pushes (topic
	// <VIN>/push/C2V).
	PushApplication string `yaml:"push_application"`
	// VISSClients are the identities (client certificate CN = Client ID)
	// of cloud-side VISS clients (VISS v3.0 TRANSPORT 4.3, register
	// I-323): they are not vehicles, need no OTP, may publish only to
	// <VID>/Vehicle and reach their own topics (<identity>/...), which
	// vehicles may publish their VISS answers to.
	VISSClients []string `yaml:"viss_clients"`
}

// DefaultMQTTConfig returns the broker settings the reference vehicle and
// the specs expect: no address (not started), OTP off, aliases up to 10.
func DefaultMQTTConfig() MQTTConfig {
	return MQTTConfig{OTPLifetime: 5 * time.Minute, TopicAliasMaximum: 10, PushApplication: "push", VISSClients: []string{DefaultVISSClient}}
}

// DefaultVISSClient is the identity of the harness's cloud-side VISS
// client (the CN of fixtures/pki viss-client.crt.pem).
const DefaultVISSClient = "icoc-viss-client"

// VISSVehicleTopic is the topic a vehicle's VISS client subscribes to
// (VISS v3.0 TRANSPORT 4.3.1: "VID/Vehicle").
func VISSVehicleTopic(vid string) string { return vid + "/Vehicle" }

// vissClient reports whether id is a cloud-side VISS client's identity.
func (b *Broker) vissClient(id string) bool {
	return id != "" && slices.Contains(b.cfg.VISSClients, id)
}

// isVISSVehicleTopic reports whether topic is <VID>/Vehicle (no wildcard).
func isVISSVehicleTopic(topic string) bool {
	vid, rest, ok := strings.Cut(topic, "/")
	return ok && rest == "Vehicle" && vid != "" && !strings.ContainsAny(vid, "+#")
}

// The pseudo-headers of an MQTT Exchange (Exchange.Header): the packet's
// fixed-header and payload fields beside its properties, which use the
// property names of MQTT 5 §2.2.2.2 (Payload-Format-Indicator,
// Content-Type, Response-Topic, Correlation-Data in hex, Topic-Alias,
// Topic-Alias-Maximum, Session-Expiry-Interval, Receive-Maximum,
// Authentication-Method, User-Property as "key=value", ...).
const (
	MQTTDirection      = "Mqtt-Direction" // MQTTInbound or MQTTOutbound
	MQTTPacketID       = "Mqtt-Packet-Id"
	MQTTQoS            = "Mqtt-Qos"
	MQTTDup            = "Mqtt-Dup"
	MQTTRetain         = "Mqtt-Retain"
	MQTTTopicOnWire    = "Mqtt-Topic-On-Wire" // the topic name as sent; empty when only an alias came
	MQTTProtocolLevel  = "Mqtt-Protocol-Version"
	MQTTClientID       = "Mqtt-Client-Id"
	MQTTUsername       = "Mqtt-Username"
	MQTTPassword       = "Mqtt-Password"
	MQTTKeepAlive      = "Mqtt-Keep-Alive"
	MQTTCleanStart     = "Mqtt-Clean-Start"
	MQTTReasonCode     = "Mqtt-Reason-Code" // of a DISCONNECT or PUBACK the client sent
	MQTTSubscription   = "Mqtt-Subscription"
	MQTTPayloadUTF8    = "Mqtt-Payload-Valid-Utf8"
	MQTTInbound        = "inbound"  // client to broker
	MQTTOutbound       = "outbound" // broker to client
	MQTTUserProperty   = "User-Property"
	MQTTFileNameProp   = "filename" // user property naming an uploaded file (I-148)
	MQTTAppIDProp      = "app_id"   // user properties of a push (I-149)
	MQTTSubIDProp      = "sub_id"
	mqttNoAck          = "no acknowledgement"
	mqttListenerID     = "mqtts"
	mqttInlineClientID = "icoc-center"
)

// Broker is the center's MQTT v5 broker. Its methods are safe for
// concurrent use. It belongs to one Server and passes every packet of a
// client through the Server's hooks (the recorder, the fault plan).
type Broker struct {
	s      *Server
	cfg    MQTTConfig
	ms     *mqtt.Server
	ln     net.Listener
	inline *mqtt.Client
	tam    atomic.Uint32
	ska    atomic.Uint32
	stop   chan struct{}
	wg     sync.WaitGroup

	doc spec.Document // the spec under the center's readings (Config.Spec)

	mu    sync.Mutex
	conns map[*mqtt.Client]*mqttConn
	// open holds every accepted connection until mochi-mqtt is done
	// with it, so close can end them: mochi-mqtt's Close waits for its
	// clients but stops only those of listeners it runs itself.
	open   map[*mqttConn]bool
	pushes map[string]*pushWait // correlation data (hex) -> waiter
	seq    atomic.Uint64
}

// MQTT returns the center's broker, or nil before StartMQTT.
func (s *Server) MQTT() *Broker {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mqtt
}

// StartMQTT starts the broker with cfg (start from Config.MQTT) on
// cfg.Addr, with the center's TLS, offering ALPN "mqtt". It fails when a
// broker runs or cfg.Addr is not a listen address.
func (s *Server) StartMQTT(cfg MQTTConfig) (*Broker, error) {
	addr := cfg.Addr
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("center: MQTT listen address %q: %v", addr, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mqtt != nil {
		return nil, errors.New("center: the MQTT broker runs already")
	}
	if cfg.OTPLifetime <= 0 {
		cfg.OTPLifetime = DefaultMQTTConfig().OTPLifetime
	}
	s.otps.mu.Lock()
	s.otps.lifetime = cfg.OTPLifetime
	s.otps.mu.Unlock()
	if cfg.PushApplication == "" {
		cfg.PushApplication = "push"
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumQos = 1 // 7.2.5.3: QoS 1
	if s.apiQuirks.Has("mqtt-max-qos0") {
		caps.MaximumQos = 0
	}
	caps.TopicAliasMaximum = max(cfg.TopicAliasMaximum, 1) // inbound aliases the broker accepts
	caps.Compatibilities.NoInheritedPropertiesOnAck = true
	caps.MaximumSessionExpiryInterval = 3600
	// A vehicle has few packets queued towards it; mochi-mqtt's default
	// (8192) allocates a 64 KiB channel per client.
	caps.MaximumClientWritesPending = 128
	ms := mqtt.New(&mqtt.Options{
		Capabilities:           caps,
		Logger:                 slog.New(slog.NewTextHandler(logWriter{s}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		SysTopicResendInterval: 3600,
		InlineClient:           true,
		// MQTT packets of vehicles are small: 1 KiB buffers (mochi-mqtt's
		// default is 2 KiB each way) keep a connected vehicle cheap.
		ClientNetReadBufferSize:  1024,
		ClientNetWriteBufferSize: 1024,
	})
	doc, err := spec.Resolve(s.cfg.Spec)
	if err != nil {
		return nil, fmt.Errorf("center: spec: %w", err)
	}
	b := &Broker{s: s, cfg: cfg, ms: ms, doc: doc, stop: make(chan struct{}), conns: map[*mqtt.Client]*mqttConn{}, pushes: map[string]*pushWait{}}
	b.tam.Store(uint32(cfg.TopicAliasMaximum))
	b.ska.Store(uint32(cfg.ServerKeepAlive))
	if err := ms.AddHook(&brokerHook{b: b}, nil); err != nil {
		return nil, err
	}
	if err := ms.Serve(); err != nil {
		return nil, err
	}
	b.inline = ms.NewClient(nil, "local", mqttInlineClientID, true)
	b.inline.Properties.ProtocolVersion = 5
	ln, err := s.ListenTLS(addr, "mqtt")
	if err != nil {
		_ = ms.Close()
		return nil, err
	}
	b.ln = ln
	b.wg.Add(1)
	go b.accept()
	s.mqtt = b
	return b, nil
}

// logWriter passes mochi-mqtt's log lines to the center's Logf.
type logWriter struct{ s *Server }

func (w logWriter) Write(p []byte) (int, error) {
	w.s.logf("center: mqtt: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.ln.Addr().String() }

// SetTopicAliasMaximum changes the Topic Alias Maximum advertised in
// CONNACKs from now on (0: none).
func (b *Broker) SetTopicAliasMaximum(n uint16) { b.tam.Store(uint32(n)) }

// TopicAliasMaximum is the Topic Alias Maximum CONNACKs advertise now.
func (b *Broker) TopicAliasMaximum() uint16 { return uint16(b.tam.Load()) }

// SetServerKeepAlive changes the Server Keep Alive sent in CONNACKs from
// now on (0: none, the client's own value stands).
func (b *Broker) SetServerKeepAlive(seconds uint16) { b.ska.Store(uint32(seconds)) }

// Connected reports whether a client with Client ID id holds a session.
func (b *Broker) Connected(id string) bool {
	cl, ok := b.ms.Clients.Get(id)
	return ok && !cl.Closed()
}

// Subscribed reports whether client id is connected and subscribed to a
// filter that matches topic.
func (b *Broker) Subscribed(id, topic string) bool {
	if !b.Connected(id) {
		return false
	}
	subs := b.ms.Topics.Subscribers(topic)
	if subs == nil {
		return false
	}
	_, ok := subs.Subscriptions[id]
	return ok
}

// Kick closes the connection of client id without a DISCONNECT (a lost
// connection, as a network or server failure leaves it); false when no
// such client is connected.
func (b *Broker) Kick(id string) bool {
	cl, ok := b.ms.Clients.Get(id)
	if !ok || cl.Closed() {
		return false
	}
	if c := connOf(cl); c != nil {
		_ = c.Conn.Close()
		return true
	}
	return false
}

func (b *Broker) close() {
	select {
	case <-b.stop:
		return
	default:
		close(b.stop)
	}
	_ = b.ln.Close()
	b.wg.Wait() // no more accepted connections
	b.mu.Lock()
	for c := range b.open {
		_ = c.Conn.Close()
	}
	b.mu.Unlock()
	_ = b.ms.Close()
}

func (b *Broker) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		tc, ok := c.(*tls.Conn)
		if !ok {
			_ = c.Close()
			continue
		}
		mc := newMQTTConn(b, tc)
		b.mu.Lock()
		if b.open == nil {
			b.open = map[*mqttConn]bool{}
		}
		b.open[mc] = true
		b.mu.Unlock()
		go func() {
			err := b.ms.EstablishConnection(mqttListenerID, mc)
			b.mu.Lock()
			delete(b.open, mc)
			b.mu.Unlock()
			mc.ended(err)
		}()
	}
}

// mqttConn is one client connection: the TLS connection mochi-mqtt reads
// and writes, with what the broker keeps of it (identity, the exchanges
// waiting for their answer, inbound topic aliases). Read returns first
// what a hold (see hold) read ahead.
type mqttConn struct {
	*tls.Conn
	b     *Broker
	vin   string
	thumb [32]byte

	rmu     sync.Mutex
	pending []byte

	mu       sync.Mutex
	cl       *mqtt.Client
	connect  *waiting            // the CONNECT until its CONNACK
	acks     map[string]*waiting // "PUBACK/12", "SUBACK/3", "UNSUBACK/4" -> exchange
	pings    []*waiting          // PINGREQs in order
	out      map[uint16]*waiting // outbound PUBLISH by packet id, until the client's PUBACK
	aliases  map[uint16]string   // inbound topic aliases
	outAlias map[uint16]string   // topic aliases the broker set towards the client
	withheld map[*Exchange]bool
	// connectDisconnect is a decision to disconnect right after CONNACK.
	connectDisconnect Answer
	done              bool
}

// waiting is an exchange waiting for its answer, with the answer the
// hooks decided (zero: the broker's own).
type waiting struct {
	x *Exchange
	a Answer
}

func newMQTTConn(b *Broker, tc *tls.Conn) *mqttConn {
	c := &mqttConn{Conn: tc, b: b, acks: map[string]*waiting{}, out: map[uint16]*waiting{}, aliases: map[uint16]string{}, outAlias: map[uint16]string{}, withheld: map[*Exchange]bool{}}
	if st := tc.ConnectionState(); len(st.PeerCertificates) > 0 {
		c.vin = st.PeerCertificates[0].Subject.CommonName
		c.thumb = sha256.Sum256(st.PeerCertificates[0].Raw)
	}
	return c
}

func (c *mqttConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		c.rmu.Unlock()
		return n, nil
	}
	c.rmu.Unlock()
	return c.Conn.Read(p)
}

// hold waits d (until the broker stops when d <= 0) while reading ahead
// what the client sends, and returns when the time is up (false) or the
// client has closed the connection (true, and when). Only the goroutine
// that reads the connection (mochi-mqtt's, inside a hook) may call it.
func (c *mqttConn) hold(d time.Duration) (bool, time.Time) {
	end := time.Now().Add(d)
	if d <= 0 {
		end = time.Now().Add(24 * time.Hour)
	}
	defer func() { _ = c.Conn.SetReadDeadline(time.Time{}) }()
	buf := make([]byte, 4096)
	for {
		select {
		case <-c.b.stop:
			return false, time.Time{}
		default:
		}
		now := time.Now()
		if !now.Before(end) {
			return false, time.Time{}
		}
		slice := now.Add(50 * time.Millisecond)
		if end.Before(slice) {
			slice = end
		}
		_ = c.Conn.SetReadDeadline(slice)
		n, err := c.Conn.Read(buf)
		if n > 0 {
			c.rmu.Lock()
			c.pending = append(c.pending, buf[:n]...)
			c.rmu.Unlock()
		}
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			return true, time.Now()
		}
	}
}

// ended runs when mochi-mqtt is done with the connection: every exchange
// still waiting was abandoned by the client (it gave up, 7.2.5.5) or cut
// by the broker.
func (c *mqttConn) ended(error) {
	at := time.Now()
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	c.done = true
	var open []*waiting
	if c.connect != nil {
		open = append(open, c.connect)
		c.connect = nil
	}
	for _, w := range c.acks {
		open = append(open, w)
	}
	open = append(open, c.pings...)
	for _, w := range c.out {
		open = append(open, w)
	}
	c.acks, c.pings, c.out = map[string]*waiting{}, nil, map[uint16]*waiting{}
	cl := c.cl
	c.mu.Unlock()
	for _, w := range open {
		w.x.Abandoned = true
		c.b.s.Answered(w.x, w.a, at)
	}
	if cl != nil {
		c.b.mu.Lock()
		if c.b.conns[cl] == c {
			delete(c.b.conns, cl)
		}
		c.b.mu.Unlock()
	}
	_ = c.Conn.Close()
	c.b.s.ForgetConn(c.Conn)
}

// exchange starts the Exchange of one packet of this connection.
func (c *mqttConn) exchange(method, topic string, h http.Header) *Exchange {
	x := c.b.s.NewExchange(ProtoMQTT, c.Conn)
	x.Method, x.Path, x.Proto, x.Header = method, topic, "MQTT/5.0", h
	if x.VIN == "" {
		x.VIN = c.vin
	}
	return x
}

// brokerHook adapts mochi-mqtt's hooks to the center's: each packet a
// client sends becomes an Exchange offered to the center's hooks (Decide),
// each answer the broker writes completes it (Answered).
type brokerHook struct {
	mqtt.HookBase
	b *Broker
}

func (h *brokerHook) ID() string { return "icoc-center" }

func (h *brokerHook) Provides(e byte) bool {
	switch e {
	case mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnConnect, mqtt.OnSessionEstablished,
		mqtt.OnPacketRead, mqtt.OnPacketEncode, mqtt.OnPublish, mqtt.OnAuthPacket:
		return true
	}
	return false
}

func connOf(cl *mqtt.Client) *mqttConn {
	c, _ := cl.Net.Conn.(*mqttConn)
	return c
}

// OnConnectAuthenticate lets every client through mochi-mqtt's own check:
// the broker's checks run in OnConnect, which can answer any code.
func (h *brokerHook) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

// OnACLCheck lets a VIN reach only its own topics (7.2.5.1, I-146); a
// VISS client (MQTTConfig.VISSClients) reaches its own topics and may
// publish to <VID>/Vehicle, and a vehicle may publish to a VISS client's
// topics (its VISS answers, register I-323).
func (h *brokerHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline || h.b.s.apiQuirks.Has("mqtt-no-acl") {
		return true
	}
	c := connOf(cl)
	if c == nil || c.vin == "" {
		return false
	}
	own := TopicVIN(topic) == c.vin
	if h.b.vissClient(c.vin) {
		return own || (write && isVISSVehicleTopic(topic))
	}
	first, _, _ := strings.Cut(topic, "/")
	return own || (write && h.b.vissClient(first))
}

// TopicVIN is the vehicle identifier a topic or filter belongs to: its
// first level in the 7.2.5.2 form (<VIN>/<application>/<direction>), its
// second in the AsyncAPI listings' form (/upload/<VIN>, register I-005).
func TopicVIN(topic string) string {
	lv := strings.Split(topic, "/")
	if lv[0] == "" && len(lv) > 2 {
		return lv[2]
	}
	return lv[0]
}

// OnPacketRead turns every packet a client sends into an Exchange and
// asks the center's hooks for a decision; a fault that withholds, drops
// or disconnects is carried out here, the other decisions where the
// broker answers.
func (h *brokerHook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	c := connOf(cl)
	if c == nil {
		return pk, nil
	}
	c.mu.Lock()
	c.cl = cl
	c.mu.Unlock()
	hdr := http.Header{}
	hdr.Set(MQTTDirection, MQTTInbound)
	propHeaders(hdr, pk.Properties)
	var x *Exchange
	var key string // the answer this exchange waits for
	switch pk.FixedHeader.Type {
	case packets.Connect:
		hdr.Set(MQTTProtocolLevel, strconv.Itoa(int(pk.ProtocolVersion)))
		hdr.Set(MQTTClientID, pk.Connect.ClientIdentifier)
		if pk.Connect.UsernameFlag {
			hdr.Set(MQTTUsername, string(pk.Connect.Username))
		}
		if pk.Connect.PasswordFlag {
			hdr.Set(MQTTPassword, string(pk.Connect.Password))
		}
		hdr.Set(MQTTKeepAlive, strconv.Itoa(int(pk.Connect.Keepalive)))
		hdr.Set(MQTTCleanStart, strconv.FormatBool(pk.Connect.Clean))
		x = c.exchange("CONNECT", "", hdr)
		x.Key = "CONNECT " + pk.Connect.ClientIdentifier
		key = "CONNACK"
	case packets.Publish:
		topic := pk.TopicName
		hdr.Set(MQTTTopicOnWire, topic)
		c.mu.Lock()
		if pk.Properties.TopicAliasFlag && pk.Properties.TopicAlias > 0 {
			if topic != "" {
				c.aliases[pk.Properties.TopicAlias] = topic
			} else if t, ok := c.aliases[pk.Properties.TopicAlias]; ok {
				// mochi-mqtt checks the ACL before it resolves an alias:
				// resolve it here so the check sees the topic.
				topic = t
				pk.TopicName = t
			}
		}
		c.mu.Unlock()
		hdr.Set(MQTTQoS, strconv.Itoa(int(pk.FixedHeader.Qos)))
		hdr.Set(MQTTDup, strconv.FormatBool(pk.FixedHeader.Dup))
		hdr.Set(MQTTRetain, strconv.FormatBool(pk.FixedHeader.Retain))
		hdr.Set(MQTTPayloadUTF8, strconv.FormatBool(utf8.Valid(pk.Payload)))
		if pk.FixedHeader.Qos > 0 {
			hdr.Set(MQTTPacketID, strconv.Itoa(int(pk.PacketID)))
			key = fmt.Sprintf("PUBACK/%d", pk.PacketID)
		}
		x = c.exchange("PUBLISH", topic, hdr)
		x.Body, x.RawBodyLen = append([]byte(nil), pk.Payload...), len(pk.Payload)
		x.Messages = []Message{{At: x.ReceivedAt, Len: len(pk.Payload)}}
		sum := sha256.Sum256(pk.Payload)
		x.Key = "PUBLISH " + topic + " " + hex.EncodeToString(sum[:8])
	case packets.Subscribe, packets.Unsubscribe:
		method, ack := "SUBSCRIBE", "SUBACK"
		if pk.FixedHeader.Type == packets.Unsubscribe {
			method, ack = "UNSUBSCRIBE", "UNSUBACK"
		}
		var filters []string
		for _, f := range pk.Filters {
			filters = append(filters, f.Filter)
			hdr.Add(MQTTSubscription, fmt.Sprintf("%s qos=%d nl=%t rap=%t rh=%d", f.Filter, f.Qos, f.NoLocal, f.RetainAsPublished, f.RetainHandling))
		}
		hdr.Set(MQTTPacketID, strconv.Itoa(int(pk.PacketID)))
		x = c.exchange(method, strings.Join(filters, " "), hdr)
		x.Key = method + " " + strings.Join(filters, " ")
		key = fmt.Sprintf("%s/%d", ack, pk.PacketID)
	case packets.Pingreq:
		x = c.exchange("PINGREQ", "", hdr)
		key = "PINGRESP"
	case packets.Puback:
		hdr.Set(MQTTPacketID, strconv.Itoa(int(pk.PacketID)))
		hdr.Set(MQTTReasonCode, fmt.Sprintf("0x%02X", pk.ReasonCode))
		c.mu.Lock()
		w := c.out[pk.PacketID]
		delete(c.out, pk.PacketID)
		c.mu.Unlock()
		if w != nil {
			// The client's acknowledgement answers the broker's PUBLISH.
			h.b.s.Answered(w.x, Answer{Code: int(pk.ReasonCode), By: "client", Header: hdr}, time.Now())
			return pk, nil
		}
		x = c.exchange("PUBACK", "", hdr)
	case packets.Disconnect:
		hdr.Set(MQTTReasonCode, fmt.Sprintf("0x%02X", pk.ReasonCode))
		x = c.exchange("DISCONNECT", "", hdr)
	case packets.Auth:
		hdr.Set(MQTTReasonCode, fmt.Sprintf("0x%02X", pk.ReasonCode))
		x = c.exchange("AUTH", "", hdr)
		key = "AUTH"
	default:
		x = c.exchange(fmt.Sprintf("TYPE-%d", pk.FixedHeader.Type), "", hdr)
	}
	a := h.b.s.Decide(x)
	if key == "" || key == "AUTH" {
		// Nothing answers this packet (a DISCONNECT, a QoS 0 PUBLISH, the
		// client's PUBACK): it is complete as it arrives.
		if a.By == "" {
			a.By = mqttNoAck
		}
		h.b.s.Answered(x, a, time.Now())
		return pk, nil
	}
	w := &waiting{x: x, a: a}
	c.mu.Lock()
	switch key {
	case "CONNACK":
		c.connect = w
	case "PINGRESP":
		c.pings = append(c.pings, w)
	default:
		c.acks[key] = w
	}
	c.mu.Unlock()
	if pk.FixedHeader.Type == packets.Connect {
		return pk, nil // decided in OnConnect, where any CONNACK can be sent
	}
	switch {
	case a.Drop:
		h.forget(c, key)
		h.b.s.Answered(x, a, time.Now())
		_ = c.Conn.Close()
		return noop(pk), nil
	case a.Disconnect:
		h.forget(c, key)
		h.b.s.Answered(x, a, time.Now())
		go func() { _ = h.b.ms.DisconnectClient(cl, mqttCode(a.Code, a.Message)) }()
		return noop(pk), nil
	case a.Withhold:
		c.mu.Lock()
		c.withheld[x] = true
		c.mu.Unlock()
		if pk.FixedHeader.Type != packets.Publish {
			return noop(pk), nil // mochi-mqtt would answer it
		}
	case a.Stall > 0:
		if gone, _ := c.hold(a.Stall); gone {
			return noop(pk), nil // the connection's end abandons it
		}
	}
	return pk, nil
}

// noop turns a packet the broker must not answer into one mochi-mqtt
// processes silently: a PUBACK for packet identifier 0, which no
// outbound message uses.
func noop(pk packets.Packet) packets.Packet {
	return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, ProtocolVersion: pk.ProtocolVersion}
}

func (h *brokerHook) forget(c *mqttConn, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch key {
	case "CONNACK":
		c.connect = nil
	case "PINGRESP":
		if n := len(c.pings); n > 0 {
			c.pings = c.pings[:n-1]
		}
	default:
		delete(c.acks, key)
	}
}

// mqttCode builds the reason code mochi-mqtt writes: the code with its
// Reason String (the message, or the name the seed's tables give it).
func mqttCode(code int, msg string) packets.Code {
	if msg == "" {
		msg = reasonName(code)
	}
	return packets.Code{Code: byte(code), Reason: msg}
}

// reasonName is the name of a reason code in Tables 7-21 to 7-24.
func reasonName(code int) string {
	for _, p := range []string{"CONNACK", "PUBACK", "SUBACK", "UNSUBACK"} {
		if r, ok := spec.MQTTReasonFor(p, code); ok {
			return r.Name
		}
	}
	return fmt.Sprintf("reason code 0x%02X", code)
}

// OnConnect carries out the hooks' decision on the CONNECT, then the
// broker's own checks (7.2.5.1, 7.2.5.7): no enhanced authentication
// (0x8C), a client certificate (0x87), Client ID = VIN (0x85), and with
// OTP username = VIN and a fresh one-time password bound to this client
// certificate (0x86, 0x87; I-143, I-144), of vehicles only: a VISS client
// (MQTTConfig.VISSClients) needs none (I-323).
func (h *brokerHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	c := connOf(cl)
	if c == nil {
		return nil
	}
	c.mu.Lock()
	w := c.connect
	c.mu.Unlock()
	var a Answer
	if w != nil {
		a = w.a
	}
	q := h.b.s.apiQuirks
	switch {
	case a.Drop:
		h.forget(c, "CONNACK")
		h.b.s.Answered(w.x, a, time.Now())
		return errors.New("fault plan: connection dropped before CONNACK")
	case a.Withhold:
		// No CONNACK: the client's 30 s wait (7.2.5.5) decides. The
		// connection's end completes the exchange as abandoned.
		c.hold(a.Stall)
		return errors.New("fault plan: CONNACK withheld")
	case a.Stall > 0:
		if gone, _ := c.hold(a.Stall); gone {
			return errors.New("client left while the CONNACK was held")
		}
	}
	if a.Code >= 0x80 {
		_ = h.b.ms.SendConnack(cl, mqttCode(a.Code, a.Message), false, nil)
		return mqttCode(a.Code, a.Message)
	}
	if a.Disconnect {
		c.mu.Lock()
		c.connectDisconnect = a
		c.mu.Unlock()
	}
	code := 0
	switch {
	case pk.Properties.AuthenticationMethod != "" && !q.Has("mqtt-enhanced-auth"):
		code = 0x8C // 7.2.5.1: no enhanced authentication
	case c.vin == "":
		code = 0x87 // no client certificate (7.2.5.1: TLS client authentication)
	case pk.Connect.ClientIdentifier != c.vin && !q.Has("mqtt-no-client-id-check"):
		code = 0x85 // 7.2.5.7: Client ID = VIN (I-145)
	case h.b.cfg.OTP && !h.b.vissClient(c.vin):
		code = h.b.s.otps.check(c.vin, c.thumb, string(pk.Connect.Username), string(pk.Connect.Password), q)
	}
	if code != 0 {
		_ = h.b.ms.SendConnack(cl, mqttCode(code, ""), false, nil)
		return mqttCode(code, "")
	}
	if ska := h.b.ska.Load(); ska > 0 {
		cl.State.ServerKeepalive = true
		cl.State.Keepalive = uint16(ska)
	}
	if q.Has("mqtt-no-keepalive") {
		cl.State.Keepalive = 0
	}
	h.b.mu.Lock()
	h.b.conns[cl] = c
	h.b.mu.Unlock()
	return nil
}

// OnSessionEstablished carries out a Disconnect decided on the CONNECT:
// the CONNACK went out, then the DISCONNECT follows.
func (h *brokerHook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	c := connOf(cl)
	if c == nil {
		return
	}
	c.mu.Lock()
	d := c.connectDisconnect
	c.connectDisconnect = Answer{}
	c.mu.Unlock()
	if d.Disconnect {
		go func() { _ = h.b.ms.DisconnectClient(cl, mqttCode(d.Code, d.Message)) }()
	}
}

// OnAuthPacket refuses every AUTH packet: 7.2.5.1 uses no enhanced
// authentication (DISCONNECT 0x8C).
func (h *brokerHook) OnAuthPacket(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if h.b.s.apiQuirks.Has("mqtt-enhanced-auth") {
		return pk, nil
	}
	return pk, packets.ErrBadAuthenticationMethod
}

// OnPublish answers a PUBLISH of a client: the hooks' code or delay when
// they decided one; else 0x99 for a Payload Format Indicator of 1 on a
// payload that is not UTF-8 (7.2.5.3), and the broker's own handling
// (an upload is stored, a push acknowledgement completes its push).
func (h *brokerHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	c := connOf(cl)
	if c == nil {
		return pk, nil
	}
	key := fmt.Sprintf("PUBACK/%d", pk.PacketID)
	c.mu.Lock()
	w := c.acks[key]
	withheld := w != nil && c.withheld[w.x]
	c.mu.Unlock()
	if withheld {
		return pk, packets.ErrRejectPacket // no PUBACK
	}
	if w != nil && w.a.Code != 0 && pk.FixedHeader.Qos > 0 {
		return pk, mqttCode(w.a.Code, w.a.Message)
	}
	if pk.Properties.PayloadFormatFlag && pk.Properties.PayloadFormat == 1 && !utf8.Valid(pk.Payload) && pk.FixedHeader.Qos > 0 {
		return pk, mqttCode(0x99, "")
	}
	h.b.received(c, pk)
	return pk, nil
}

// OnPacketEncode completes the exchange an outgoing answer belongs to,
// forces a PUBACK reason code below 0x80 onto the wire (mochi-mqtt leaves
// it out when the PUBACK has no properties), applies a fault's code to a
// SUBACK or UNSUBACK, advertises the Topic Alias Maximum in CONNACK, and
// records every PUBLISH the broker sends to a client.
func (h *brokerHook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	c := connOf(cl)
	if c == nil {
		return pk
	}
	var key string
	switch pk.FixedHeader.Type {
	case packets.Connack:
		key = "CONNACK"
		if pk.ReasonCode < 0x80 && !h.b.s.apiQuirks.Has("mqtt-no-tam") {
			pk.Properties.TopicAliasMaximum = uint16(h.b.tam.Load())
		}
	case packets.Puback:
		key = fmt.Sprintf("PUBACK/%d", pk.PacketID)
		if pk.ReasonCode == 0x01 || pk.ReasonCode == 0x02 {
			pk.ReasonCode = 0 // mochi-mqtt's "granted QoS" is Success in a PUBACK
		}
		if pk.ReasonCode > 0 && pk.ReasonCode < 0x80 && pk.Properties.ReasonString == "" {
			// mochi-mqtt writes a code below 0x80 only with a property;
			// a Reason String carries it even to a client that asked for
			// no problem information (Request Problem Information 0):
			// the table row's code must reach the wire.
			pk.Properties.ReasonString = reasonName(int(pk.ReasonCode))
			pk.Mods.DisallowProblemInfo = false
		}
	case packets.Suback, packets.Unsuback:
		ack := "SUBACK"
		if pk.FixedHeader.Type == packets.Unsuback {
			ack = "UNSUBACK"
		}
		key = fmt.Sprintf("%s/%d", ack, pk.PacketID)
		c.mu.Lock()
		w := c.acks[key]
		c.mu.Unlock()
		if w != nil && w.a.By != "" && (w.a.Code != 0 || w.a.Message != "") {
			for i := range pk.ReasonCodes {
				pk.ReasonCodes[i] = byte(w.a.Code)
			}
			if w.a.Code >= 0x80 || w.a.Code == 0x11 {
				pk.Properties.ReasonString = mqttCode(w.a.Code, w.a.Message).Reason
			}
		}
	case packets.Pingresp:
		key = "PINGRESP"
	case packets.Publish:
		// Request Problem Information 0 bars Reason Strings and User
		// Properties from every packet but PUBLISH, CONNACK and DISCONNECT
		// (MQTT-3.1.2-29); mochi-mqtt bars them from PUBLISH too.
		pk.Mods.DisallowProblemInfo = false
		h.b.sent(c, pk)
		return pk
	case packets.Disconnect:
		h.b.disconnected(c, pk)
		return pk
	default:
		return pk
	}
	c.mu.Lock()
	var w *waiting
	switch key {
	case "CONNACK":
		w, c.connect = c.connect, nil
	case "PINGRESP":
		if len(c.pings) > 0 {
			w, c.pings = c.pings[0], c.pings[1:]
		}
	default:
		w = c.acks[key]
		delete(c.acks, key)
	}
	c.mu.Unlock()
	if w == nil {
		return pk
	}
	a := w.a
	code := int(pk.ReasonCode)
	if len(pk.ReasonCodes) > 0 {
		code = int(pk.ReasonCodes[0])
	}
	a.Code, a.Message = code, pk.Properties.ReasonString
	a.Withhold, a.Stall = false, 0
	if a.By == "" {
		a.By = "mqtt"
	}
	h.b.s.Answered(w.x, a, time.Now())
	return pk
}

// sent records a PUBLISH the broker sends to a client as an exchange of
// its own (direction outbound), which the client's PUBACK answers.
func (b *Broker) sent(c *mqttConn, pk packets.Packet) {
	hdr := http.Header{}
	hdr.Set(MQTTDirection, MQTTOutbound)
	propHeaders(hdr, pk.Properties)
	hdr.Set(MQTTTopicOnWire, pk.TopicName)
	hdr.Set(MQTTQoS, strconv.Itoa(int(pk.FixedHeader.Qos)))
	hdr.Set(MQTTDup, strconv.FormatBool(pk.FixedHeader.Dup))
	topic := pk.TopicName
	if pk.Properties.TopicAlias > 0 {
		c.mu.Lock()
		if topic != "" {
			c.outAlias[pk.Properties.TopicAlias] = topic
		} else {
			topic = c.outAlias[pk.Properties.TopicAlias]
		}
		c.mu.Unlock()
	}
	x := c.exchange("PUBLISH", topic, hdr)
	x.Body, x.RawBodyLen = append([]byte(nil), pk.Payload...), len(pk.Payload)
	x.Key = "PUBLISH> " + topic + " " + hex.EncodeToString(pk.Properties.CorrelationData)
	for _, hk := range b.s.hooksFor(OnRequest) {
		if _, ok := hk.(*FaultPlan); ok {
			continue // a fault answers a client's packet, not the broker's own
		}
		hk.OnRequest(x)
	}
	if pk.FixedHeader.Qos == 0 {
		b.s.Answered(x, Answer{By: mqttNoAck}, time.Now())
		return
	}
	hdr.Set(MQTTPacketID, strconv.Itoa(int(pk.PacketID)))
	c.mu.Lock()
	c.out[pk.PacketID] = &waiting{x: x}
	c.mu.Unlock()
}

// disconnected records a DISCONNECT the broker sends.
func (b *Broker) disconnected(c *mqttConn, pk packets.Packet) {
	hdr := http.Header{}
	hdr.Set(MQTTDirection, MQTTOutbound)
	hdr.Set(MQTTReasonCode, fmt.Sprintf("0x%02X", pk.ReasonCode))
	propHeaders(hdr, pk.Properties)
	x := c.exchange("DISCONNECT", "", hdr)
	for _, hk := range b.s.hooksFor(OnRequest) {
		if _, ok := hk.(*FaultPlan); !ok {
			hk.OnRequest(x)
		}
	}
	b.s.Answered(x, Answer{Code: int(pk.ReasonCode), By: mqttNoAck}, time.Now())
}

// propHeaders writes the MQTT 5 properties of a packet into h.
func propHeaders(h http.Header, p packets.Properties) {
	if p.PayloadFormatFlag {
		h.Set("Payload-Format-Indicator", strconv.Itoa(int(p.PayloadFormat)))
	}
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set("Content-Type", p.ContentType)
	set("Response-Topic", p.ResponseTopic)
	if p.CorrelationData != nil {
		h.Set("Correlation-Data", hex.EncodeToString(p.CorrelationData))
	}
	if p.TopicAliasFlag || p.TopicAlias > 0 {
		h.Set("Topic-Alias", strconv.Itoa(int(p.TopicAlias)))
	}
	if p.TopicAliasMaximum > 0 {
		h.Set("Topic-Alias-Maximum", strconv.Itoa(int(p.TopicAliasMaximum)))
	}
	if p.SessionExpiryIntervalFlag {
		h.Set("Session-Expiry-Interval", strconv.Itoa(int(p.SessionExpiryInterval)))
	}
	if p.ReceiveMaximum > 0 {
		h.Set("Receive-Maximum", strconv.Itoa(int(p.ReceiveMaximum)))
	}
	if p.MaximumPacketSize > 0 {
		h.Set("Maximum-Packet-Size", strconv.Itoa(int(p.MaximumPacketSize)))
	}
	if p.MessageExpiryInterval > 0 {
		h.Set("Message-Expiry-Interval", strconv.Itoa(int(p.MessageExpiryInterval)))
	}
	set("Authentication-Method", p.AuthenticationMethod)
	if p.AuthenticationData != nil {
		h.Set("Authentication-Data", hex.EncodeToString(p.AuthenticationData))
	}
	set("Reason-String", p.ReasonString)
	for _, id := range p.SubscriptionIdentifier {
		h.Add("Subscription-Identifier", strconv.Itoa(id))
	}
	for _, u := range p.User {
		h.Add(MQTTUserProperty, u.Key+"="+u.Val)
	}
}

// UserProperty returns the value of the first user property k of an MQTT
// exchange's Header, or "".
func UserProperty(h http.Header, k string) string {
	for _, v := range h.Values(MQTTUserProperty) {
		if key, val, ok := strings.Cut(v, "="); ok && key == k {
			return val
		}
	}
	return ""
}

// received handles a PUBLISH a client sent that the broker accepts: a
// push acknowledgement (its Correlation Data names a push) completes that
// push; a PUBLISH on an upload topic (V2C, I-148) is stored as a file.
func (b *Broker) received(c *mqttConn, pk packets.Packet) {
	if cd := pk.Properties.CorrelationData; cd != nil {
		b.mu.Lock()
		pw := b.pushes[hex.EncodeToString(cd)]
		b.mu.Unlock()
		if pw != nil && pw.vin == c.vin {
			pw.acked(pk)
			return
		}
	}
	if !isUploadTopic(pk.TopicName) {
		return
	}
	name := ""
	for _, u := range pk.Properties.User {
		if u.Key == MQTTFileNameProp {
			name = u.Val
		}
	}
	if name == "" {
		name = fmt.Sprintf("mqtt-%d.bin", b.seq.Add(1))
	}
	b.s.store.Put(c.vin, name, pk.Payload, time.Now())
}

// isUploadTopic reports whether a PUBLISH topic (aliases resolved) is an
// upload: <VIN>/<application>/V2C, or /upload/<VIN> in the AsyncAPI
// listings' style.
func isUploadTopic(topic string) bool {
	return strings.HasSuffix(topic, "/"+string(spec.V2C)) || strings.HasPrefix(topic, "/upload/")
}

// Publish sends a message from the center (an inline client, past the
// ACL) to every subscriber of topic, at QoS 1, with the given
// properties. Other packages use it to reach vehicles through the broker.
func (b *Broker) Publish(topic string, payload []byte, props packets.Properties) error {
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1},
		TopicName:   topic,
		Payload:     payload,
		PacketID:    1,
		Properties:  props,
	}
	return b.ms.InjectPacket(b.inline, pk)
}

// Subscribe calls handler for every message published on a topic matching
// filter (an inline subscription of the center); id must be unique per
// filter. The returned function removes the subscription.
func (b *Broker) Subscribe(filter string, id int, handler func(topic string, payload []byte, props packets.Properties)) (func(), error) {
	err := b.ms.Subscribe(filter, id, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		handler(pk.TopicName, pk.Payload, pk.Properties)
	})
	if err != nil {
		return nil, err
	}
	return func() { _ = b.ms.Unsubscribe(filter, id) }, nil
}

// ErrNotConnected says the vehicle holds no MQTT session.
var ErrNotConnected = errors.New("the vehicle holds no MQTT session")

// waitConnected waits until a client with Client ID id is connected.
func (b *Broker) waitConnected(ctx context.Context, id string) error {
	for !b.Connected(id) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%s): %v", ErrNotConnected, id, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}
