package viss

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/icoc-dev/icoc/simulator/quirk"
	"github.com/icoc-dev/icoc/simulator/viss/vss"
	"github.com/icoc-dev/icoc/simulator/viss/vssmap"
	"go.einride.tech/can"
)

// Service is the reference vehicle's VISS side: the signal store fed from
// the bus and one Server per configured dialect. Create it with New, start
// it with Start, feed it with OnFrame.
type Service struct {
	cfg     Config
	quirks  quirk.Set
	m       *vssmap.Map
	tree    *vss.Tree
	store   *Store
	access  *accessRules
	secret  []byte
	tls     *tls.Config
	servers []*Server
	started time.Time

	mu     sync.Mutex
	cancel context.CancelFunc
	// off is true between PowerOff and PowerOn (power.go); shut after
	// Close.
	off  atomic.Bool
	shut bool
}

// New checks cfg and loads the map, the tree, the access rules and the
// certificate; the error names the field or file at fault.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("viss config: %w", err)
	}
	q, _ := ParseQuirks(cfg.Quirks)
	m, err := vssmap.Default()
	if err != nil {
		return nil, err
	}
	acc, err := loadAccess(AccessYAML(), PurposesJSON(), m.Tree())
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, quirks: q, m: m, tree: m.Tree(), access: acc, started: time.Now()}
	s.secret = cfg.TokenSecret
	if s.secret == nil && cfg.TokenSecretFile != "" {
		if s.secret, err = os.ReadFile(cfg.TokenSecretFile); err != nil {
			return nil, fmt.Errorf("viss config: token_secret_file: %w", err)
		}
	}
	s.store = NewStore(m, cfg.HistorySize)
	if len(cfg.Servers) > 0 {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("viss config: certificate: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
		if q.Has("tls-1.1") {
			s.tls.MinVersion = tls.VersionTLS10
		}
	}
	for _, sc := range cfg.Servers {
		d, _ := sc.dialect()
		s.servers = append(s.servers, newServer(s, sc, d))
	}
	s.store.Listen(s.onCapture)
	return s, nil
}

func (s *Service) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// Start opens every server's listener; it returns once all listen.
func (s *Service) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
	for _, srv := range s.servers {
		if err := srv.start(ctx); err != nil {
			s.Close()
			return err
		}
		s.logf("viss: %s server listening on %s (quirks: %s)", srv.d.Tag, srv.addr(), s.quirks.Names())
	}
	return nil
}

// Close stops every server.
func (s *Service) Close() error {
	s.mu.Lock()
	s.shut = true
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.close())
	}
	return errors.Join(errs...)
}

// MQTTServers returns the servers configured for VISS over MQTT
// (ServerConfig.MQTT), to attach a transport to (NewMQTT, Server.Attach).
func (s *Service) MQTTServers() []*Server {
	var out []*Server
	for _, srv := range s.servers {
		if srv.cfg.MQTT {
			out = append(out, srv)
		}
	}
	return out
}

// OnFrame takes one frame off the bus (capture time at); without power
// (PowerOff) the service hears nothing.
func (s *Service) OnFrame(f can.Frame, at time.Time) {
	if s.off.Load() {
		return
	}
	s.store.Ingest(f, at)
}

// Store returns the signal store.
func (s *Service) Store() *Store { return s.store }

// Endpoint is where one server listens.
type Endpoint struct {
	Dialect  string `json:"dialect"`
	Revision string `json:"revision,omitempty"`
	// WS is the wss URL, HTTP the https URL (the same listener).
	WS   string `json:"ws"`
	HTTP string `json:"http"`
}

// Endpoints lists the servers' endpoints (after Start).
func (s *Service) Endpoints() []Endpoint {
	var out []Endpoint
	for _, srv := range s.servers {
		a := srv.addr()
		out = append(out, Endpoint{Dialect: string(srv.d.Name), Revision: srv.d.Revision, WS: "wss://" + a, HTTP: "https://" + a})
	}
	return out
}

// onCapture hands a capture to every server's subscriptions.
func (s *Service) onCapture(path string, c Capture) {
	for _, srv := range s.servers {
		srv.subs.onCapture(path, c)
	}
}

// wall converts spec time to wall time; the interval-drift quirk stretches
// timebased periods.
func (s *Service) wall(d time.Duration) time.Duration { return s.cfg.wall(d) }

// DroppedEvents is how many events the servers dropped for clients that did
// not keep up (v3.0 TRANSPORT 4.1.2.8: the server "MAY limit the number of
// subcriptionEvent messages sent").
func (s *Service) DroppedEvents() uint64 {
	var n uint64
	for _, srv := range s.servers {
		srv.mu.Lock()
		for c := range srv.conns {
			n += c.dropped.Load()
		}
		n += srv.droppedClosed
		srv.mu.Unlock()
	}
	return n
}
