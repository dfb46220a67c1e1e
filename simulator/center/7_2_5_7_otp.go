package center

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

func init() {
	registerQuirk(QuirkInfo{Name: "mqtt-otp-reuse", Clause: "7.2.5.7", Breaks: "accepts a one-time password that was used before"})
	registerQuirk(QuirkInfo{Name: "mqtt-otp-any", Clause: "7.2.5.7", Breaks: "accepts any password as the one-time password"})
	registerQuirk(QuirkInfo{Name: "mqtt-otp-unbound", Clause: "7.2.5.1 (RFC 8705), 7.2.5.7", Breaks: "accepts a one-time password issued to another client certificate"})
}

// OTPPath is the path of the one-time password acquisition function of
// 7.2.5.7 on the center's HTTPS API: GET with the vehicle_id header, over
// the vehicle's mutual TLS (register I-143).
const OTPPath = "/otp"

// OTPAnswer is the JSON body of a 200 answer to GET /otp.
type OTPAnswer struct {
	// OTP is the one-time password: 22 characters of base64url (16
	// random bytes).
	OTP string `json:"otp"`
	// ExpiresIn is the OTP's lifetime in seconds.
	ExpiresIn int `json:"expires_in"`
}

// otpStore keeps the one-time passwords the center issued, each bound to
// the VIN and the SHA-256 thumbprint (RFC 8705 x5t#S256) of the client
// certificate it was issued to (register I-144). Safe for concurrent use.
type otpStore struct {
	mu       sync.Mutex
	lifetime time.Duration
	issued   map[string]*otpEntry
}

type otpEntry struct {
	vin     string
	thumb   [32]byte
	expires time.Time
	used    bool
}

func (o *otpStore) issue(vin string, thumb [32]byte, lifetime time.Duration) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	otp := base64.RawURLEncoding.EncodeToString(b)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.issued == nil {
		o.issued = map[string]*otpEntry{}
	}
	now := time.Now()
	for k, e := range o.issued {
		if now.After(e.expires.Add(time.Minute)) {
			delete(o.issued, k)
		}
	}
	o.issued[otp] = &otpEntry{vin: vin, thumb: thumb, expires: now.Add(lifetime)}
	return otp
}

// check judges a CONNECT's username and password (7.2.5.7: "Set VIN for
// Username and acquired OTP for password"): the CONNACK reason code, 0 when
// accepted. Any presentation uses the OTP up. 0x86 Bad User Name or
// Password for a wrong username or an unknown, used or expired OTP; 0x87
// Not authorized for an OTP issued to another client certificate.
func (o *otpStore) check(vin string, thumb [32]byte, username, password string, q Quirks) int {
	if username != vin {
		return 0x86
	}
	if q.Has("mqtt-otp-any") {
		return 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.issued[password]
	switch {
	case e == nil || e.vin != vin:
		return 0x86
	case e.used && !q.Has("mqtt-otp-reuse"), time.Now().After(e.expires):
		e.used = true
		return 0x86
	case e.thumb != thumb && !q.Has("mqtt-otp-unbound"):
		e.used = true
		return 0x87
	}
	e.used = true
	return 0
}

// otp serves GET /otp: a vehicle with a client certificate and the
// vehicle_id header of its VIN gets a fresh one-time password bound to
// that certificate.
func (s *Server) otp(x *Exchange) Answer {
	if x.Method != http.MethodGet {
		return resultAnswer(http.StatusMethodNotAllowed, "method "+x.Method+" not allowed on "+OTPPath)
	}
	if a, bad := s.checkVehicleID(x); bad {
		return a
	}
	if x.VIN == "" || len(x.TLS.PeerCertificates) == 0 {
		return resultAnswer(http.StatusForbidden, "no client certificate: an OTP is bound to one (RFC 8705)")
	}
	s.otps.mu.Lock()
	lifetime := s.otps.lifetime
	s.otps.mu.Unlock()
	if lifetime <= 0 {
		lifetime = s.cfg.MQTT.OTPLifetime
	}
	if lifetime <= 0 {
		lifetime = DefaultMQTTConfig().OTPLifetime
	}
	otp := s.otps.issue(x.VIN, sha256.Sum256(x.TLS.PeerCertificates[0].Raw), lifetime)
	body, _ := json.Marshal(OTPAnswer{OTP: otp, ExpiresIn: int(lifetime / time.Second)})
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	return Answer{Status: http.StatusOK, Header: h, Body: body, By: "api"}
}
