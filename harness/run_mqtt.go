package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/icoc-dev/icoc/harness/netfault"
	"github.com/icoc-dev/icoc/simulator/center"
	"github.com/icoc-dev/icoc/simulator/vehicle"
	"github.com/icoc-dev/icoc/spec/asyncapi"
)

// MQTTProfile is the MQTT part of a DUT profile (7.2.5): where the
// harness's broker listens when it plays the center, where the DUT's
// broker is when the DUT is the center, and the DUT's MQTT choices. The
// MQTT specs need capability "mqtt"; without it they are not applicable.
type MQTTProfile struct {
	// Listen is where the harness's broker listens when the DUT is the
	// vehicle (Appendix 2 1.4.2: 8883 on a bench; port 0 picks one).
	Listen string `yaml:"listen"`
	// Address is the DUT broker's host:port when the DUT is the center.
	Address string `yaml:"address"`
	// OTP says whether the DUT uses the one-time password of 7.2.5.7: a
	// vehicle fetches one before each CONNECT, a center requires it.
	OTP bool `yaml:"otp"`
	// Application is the <Application Name> of the DUT's CAN data
	// uploads (topic <VIN>/<application>/V2C); default "can".
	Application string `yaml:"application"`
	// PushApplication is the <Application Name> of pushes; default "push".
	PushApplication string `yaml:"push_application"`
	// KeepAlive is the Keep Alive (spec seconds) a simulated vehicle
	// announces; 0: the vehicle's default.
	KeepAlive uint16 `yaml:"keep_alive"`
	// AsyncAPI lists the DUT's AsyncAPI documents (7.2.5.1, 7.2.5.9),
	// relative to the profile; empty: icoc's reference document.
	AsyncAPI []string `yaml:"asyncapi"`
}

// MQTTRun is the MQTT side of a run: the harness's broker (the reference
// center's, when the DUT is a vehicle), the fault link the simulated
// vehicle reaches it through, and the broker DUT (a separate reference
// center in the sim).
type MQTTRun struct {
	// Broker is the harness's broker; nil when the harness plays no center.
	Broker *center.Broker
	// Link is the fault proxy (toxiproxy) between a simulated vehicle and
	// Broker, beside Run.Link for HTTPS.
	Link *netfault.Proxy
	// DUTBroker is the broker of a simulated center DUT; nil otherwise.
	DUTBroker *center.Broker
}

// validateMQTT checks the mqtt section and makes its AsyncAPI paths
// absolute against the profile's directory.
func (p *Profile) validateMQTT(bad func(field, format string, args ...any) error) error {
	m := &p.MQTT
	if m.Listen == "" {
		m.Listen = "127.0.0.1:0"
	}
	if m.Application == "" {
		m.Application = "can"
	}
	if m.PushApplication == "" {
		m.PushApplication = "push"
	}
	if _, _, err := net.SplitHostPort(m.Listen); err != nil {
		return bad("mqtt.listen", "%q: %v", m.Listen, err)
	}
	if p.Has("mqtt") && p.HasRole("center") && !p.DUT.Simulated {
		if _, _, err := net.SplitHostPort(m.Address); err != nil {
			return bad("mqtt.address", "%q: %v (the DUT broker's host:port, Appendix 2: 8883)", m.Address, err)
		}
	}
	base := filepath.Dir(p.Source)
	if p.Source == BuiltinSimProfile {
		base, _ = RepoRoot()
	}
	for i, f := range m.AsyncAPI {
		if !filepath.IsAbs(f) {
			m.AsyncAPI[i] = filepath.Join(base, f)
		}
		b, err := os.ReadFile(m.AsyncAPI[i])
		if err != nil {
			return bad("mqtt.asyncapi", "%s", unwrapPathError(err))
		}
		if _, err := asyncapi.Parse(m.AsyncAPI[i], b); err != nil {
			return bad("mqtt.asyncapi", "%v", err)
		}
	}
	return nil
}

// AsyncAPIDocuments returns the DUT's AsyncAPI documents (7.2.5.9): the
// profile's mqtt.asyncapi, else icoc's reference document (the "text"
// topic style) and, in the "asyncapi" style, the repaired seed listings.
func (r *Run) AsyncAPIDocuments(style string) (asyncapi.Set, error) {
	if len(r.Profile.MQTT.AsyncAPI) > 0 {
		var s asyncapi.Set
		for _, f := range r.Profile.MQTT.AsyncAPI {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			d, err := asyncapi.Parse(f, b)
			if err != nil {
				return nil, err
			}
			s = append(s, d)
		}
		return s, nil
	}
	if style == "asyncapi" {
		return asyncapi.LoadSet(asyncapi.Listings...)
	}
	return asyncapi.LoadSet(asyncapi.Reference)
}

// wantsMQTT says whether the run needs brokers: the suite uploads over
// MQTT (WithUplink("mqtt")), or reaches a VISS server over MQTT through
// the harness's broker.
func (r *Run) wantsMQTT() bool { return r.uplink == vehicle.UplinkMQTT || r.vissMQTT() }

// startMQTT starts the harness's broker (the DUT is a vehicle), when the
// suite wants MQTT; before prepareHost, whose fault link leads to it.
func (r *Run) startMQTT() error {
	if !r.wantsMQTT() {
		return nil
	}
	r.MQTT = &MQTTRun{}
	if r.Center != nil {
		mc := center.DefaultMQTTConfig()
		mc.Addr, mc.OTP, mc.PushApplication = r.Profile.MQTT.Listen, r.Profile.MQTT.OTP, r.Profile.MQTT.PushApplication
		b, err := r.Center.StartMQTT(mc)
		if err != nil {
			return fmt.Errorf("harness broker (mqtt.listen %s): %w", r.Profile.MQTT.Listen, err)
		}
		r.MQTT.Broker = b
	}
	return nil
}

// startMQTTCenterDUT starts the broker of a simulated center DUT, when the
// suite wants MQTT; after startCenterDUT, which starts that center.
func (r *Run) startMQTTCenterDUT() error {
	if r.MQTT == nil {
		return nil
	}
	if r.TLS != nil && r.TLS.CenterDUT != nil {
		mc := center.DefaultMQTTConfig()
		mc.Addr, mc.OTP, mc.PushApplication = "127.0.0.1:0", r.Profile.MQTT.OTP, r.Profile.MQTT.PushApplication
		b, err := r.TLS.CenterDUT.StartMQTT(mc)
		if err != nil {
			return fmt.Errorf("reference center (DUT) broker: %w", err)
		}
		r.MQTT.DUTBroker = b
	}
	return nil
}

// linkMQTT starts the fault proxy in front of the harness's broker on
// listen (host:port), for the simulated vehicle.
func (r *Run) linkMQTT(listen string) error {
	if r.MQTT == nil || r.MQTT.Broker == nil {
		return nil
	}
	l, err := netfault.NewProxy(listen, r.MQTT.Broker.Addr())
	if err != nil {
		return err
	}
	r.MQTT.Link = l
	return nil
}

// stopMQTT closes the MQTT fault link (the brokers close with their
// centers).
func (r *Run) stopMQTT() {
	if r.MQTT != nil && r.MQTT.Link != nil {
		_ = r.MQTT.Link.Close()
	}
}

// configureVehicleMQTT points an in-process reference vehicle at the
// harness's broker through the MQTT fault link.
func (r *Run) configureVehicleMQTT(vc *vehicle.Config) {
	p := r.Profile
	vc.MQTT.Broker = net.JoinHostPort(p.Center.Host, "8883")
	vc.MQTT.OTP = p.MQTT.OTP
	vc.MQTT.Application, vc.MQTT.PushApplication = p.MQTT.Application, p.MQTT.PushApplication
	if p.MQTT.KeepAlive > 0 {
		vc.MQTT.KeepAlive = p.MQTT.KeepAlive
	}
	if r.MQTT != nil && r.MQTT.Link != nil {
		vc.MQTT.BrokerAddr = r.MQTT.Link.Addr()
	}
}

// vehicleMQTTArgs are cmd/vehicle's MQTT flags: in a namespace the vehicle
// reaches center.icoc.test:8883 by name (the harness's DNS, the fault link
// on the veth); over loopback it is given the link's address.
func (r *Run) vehicleMQTTArgs(netns bool) []string {
	if r.MQTT == nil || r.MQTT.Link == nil {
		return nil
	}
	p := r.Profile
	args := []string{"-mqtt-broker", net.JoinHostPort(p.Center.Host, "8883"),
		"-mqtt-app", p.MQTT.Application, "-mqtt-push-app", p.MQTT.PushApplication}
	if p.MQTT.OTP {
		args = append(args, "-mqtt-otp")
	}
	if p.MQTT.KeepAlive > 0 {
		args = append(args, "-mqtt-keep-alive", strconv.Itoa(int(p.MQTT.KeepAlive)))
	}
	if !netns {
		args = append(args, "-mqtt-addr", r.MQTT.Link.Addr())
	}
	return args
}

// MQTTDUTAddr is where the broker DUT listens: the simulated center DUT's
// broker, or the profile's mqtt.address for a real one.
func (r *Run) MQTTDUTAddr() string {
	if r.MQTT != nil && r.MQTT.DUTBroker != nil {
		return r.MQTT.DUTBroker.Addr()
	}
	return r.Profile.MQTT.Address
}

// MQTTDUTOTPURL is where a vehicle gets its one-time password from the
// center DUT (GET /otp on its HTTPS API, register I-143).
func (r *Run) MQTTDUTOTPURL() string {
	return "https://" + r.CenterDUTAddr() + center.OTPPath
}

// ErrNoPushStimulus says the profile cannot make the center DUT push.
var ErrNoPushStimulus = errors.New("the profile maps no stimulus center-push: the harness cannot make the center DUT push")

// TriggerCenterPush makes the center DUT push to the profile's VIN over
// MQTT: the simulated center's own push (as an operator would start it),
// or the profile's center-push stimulus (bench.stimuli) for a real one.
// It returns once the push is under way; the harness, playing the
// vehicle, observes it on the wire.
func (r *Run) TriggerCenterPush(ctx context.Context, appID, subID uint32, payload []byte) error {
	if r.MQTT != nil && r.MQTT.DUTBroker != nil {
		b := r.MQTT.DUTBroker
		go func() { _, _ = b.Push(ctx, r.Profile.DUT.VIN, appID, subID, payload) }()
		return nil
	}
	if done, err := r.stimulate(ctx, "center-push", nil); done {
		return err
	}
	return ErrNoPushStimulus
}
