package vehicle

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/icoc-dev/icoc/simulator/viss"
)

// attachVISSMQTT gives each VISS server configured for MQTT (v3.0
// TRANSPORT 4.3) its vehicle-side client: a connection of its own to the
// broker of MQTT.Broker (7.2.5's broker, MQTT.BrokerAddr dialled when
// set) with the vehicle's client certificate, Client ID = VIN and, with
// MQTT.OTP, a fresh one-time password per CONNECT (7.2.5.7); it subscribes
// to VID/Vehicle once the VIN is known (VID = VIN unless configured,
// register I-299). Beside the MQTT uplink it would need a second session
// with the same Client ID, so Config.Validate refuses that pairing
// (register I-328).
func (v *Vehicle) attachVISSMQTT() {
	if v.viss == nil {
		return
	}
	for _, srv := range v.viss.MQTTServers() {
		vid := srv.Config().VID
		o := viss.MQTTOptions{
			VID: func() string {
				if vid != "" {
					return vid
				}
				return v.VIN()
			},
			ClientID: v.VIN, // the broker admits Client ID = VIN only (7.2.5.7, I-145)
			Dial: func(ctx context.Context) (net.Conn, error) {
				addr, name := v.brokerAddr()
				tc := v.tls.Clone()
				tc.ServerName = name
				tc.NextProtos = []string{"mqtt"}
				d := &tls.Dialer{NetDialer: v.cfg.dialer(v.cfg.wall(5 * time.Second)), Config: tc}
				return d.DialContext(ctx, "tcp", addr)
			},
			Retry: v.cfg.wall(2 * time.Second),
		}
		o.Credentials = func(ctx context.Context) (string, []byte, error) {
			if !v.cfg.MQTT.OTP {
				return "", nil, nil
			}
			otp, err := v.fetchOTP(ctx)
			if err != nil {
				return "", nil, err
			}
			return v.VIN(), []byte(otp), nil
		}
		srv.Attach(viss.NewMQTT(srv, o))
	}
}
