// Package netfault puts network faults between a DUT and what it talks to:
// a TCP proxy (toxiproxy, used as a library, no daemon) that can hold data
// without answering, reset connections, add latency, or cut the link. It is
// the harness's network-fault tool for Table 7-4/7-5 row H and the HIL
// bench; faults are real (the DUT's TCP stack sees them), not mocked.
package netfault

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Direction is the way a toxic acts: on data from the client to the
// upstream, or back.
type Direction string

const (
	// Upstream acts on data the client sends.
	Upstream Direction = "upstream"
	// Downstream acts on data the upstream sends back.
	Downstream Direction = "downstream"
)

// Toxic is one fault on a proxy. Build it with the constructors; Name is
// unique per proxy.
type Toxic struct {
	Name      string
	Direction Direction
	kind      string
	attrs     map[string]any
}

// NoResponse holds every byte in direction d and never delivers it, while
// the connection stays open ("no response"): toxiproxy's timeout toxic
// with timeout 0.
func NoResponse(name string, d Direction) Toxic {
	return Toxic{Name: name, Direction: d, kind: "timeout", attrs: map[string]any{"timeout": 0}}
}

// Reset answers data in direction d with a TCP reset (RST) after delay.
func Reset(name string, d Direction, delay time.Duration) Toxic {
	return Toxic{Name: name, Direction: d, kind: "reset_peer", attrs: map[string]any{"timeout": delay.Milliseconds()}}
}

// Latency delays every chunk in direction d by latency ± jitter.
func Latency(name string, d Direction, latency, jitter time.Duration) Toxic {
	return Toxic{Name: name, Direction: d, kind: "latency", attrs: map[string]any{"latency": latency.Milliseconds(), "jitter": jitter.Milliseconds()}}
}

// Proxy is a running fault proxy from Addr to an upstream address. Safe for
// concurrent use. Invariant: with no toxic and not cut, it forwards bytes
// unchanged both ways.
type Proxy struct {
	mu    sync.Mutex
	p     *toxiproxy.Proxy
	names map[string]bool
}

var (
	serverOnce sync.Once
	server     *toxiproxy.ApiServer
)

func apiServer() *toxiproxy.ApiServer {
	serverOnce.Do(func() {
		server = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.New(io.Discard))
	})
	return server
}

// NewProxy starts a proxy listening on listen (host:port; port 0 picks a
// free one) that forwards to upstream (host:port).
func NewProxy(listen, upstream string) (*Proxy, error) {
	if _, _, err := net.SplitHostPort(upstream); err != nil {
		return nil, fmt.Errorf("netfault: upstream %q: %w", upstream, err)
	}
	name := fmt.Sprintf("netfault-%d", time.Now().UnixNano())
	p := toxiproxy.NewProxy(apiServer(), name, listen, upstream)
	l := zerolog.New(io.Discard)
	p.Logger = &l
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("netfault: proxy on %s: %w", listen, err)
	}
	return &Proxy{p: p, names: map[string]bool{}}, nil
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string {
	p.p.Lock()
	defer p.p.Unlock()
	return p.p.Listen
}

// Upstream is the address the proxy forwards to.
func (p *Proxy) Upstream() string {
	p.p.Lock()
	defer p.p.Unlock()
	return p.p.Upstream
}

// Add puts t on the proxy; it acts on existing and new connections.
func (p *Proxy) Add(t Toxic) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.names[t.Name] {
		return fmt.Errorf("netfault: toxic %q already on the proxy", t.Name)
	}
	body, err := json.Marshal(map[string]any{"name": t.Name, "type": t.kind, "stream": string(t.Direction), "toxicity": 1.0, "attributes": t.attrs})
	if err != nil {
		return err
	}
	if _, err := p.p.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
		return fmt.Errorf("netfault: toxic %q: %w", t.Name, err)
	}
	p.names[t.Name] = true
	return nil
}

// Remove takes the toxic named name off the proxy.
func (p *Proxy) Remove(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.names[name] {
		return fmt.Errorf("netfault: no toxic %q on the proxy", name)
	}
	if err := p.p.Toxics.RemoveToxic(context.Background(), name); err != nil {
		return fmt.Errorf("netfault: removing toxic %q: %w", name, err)
	}
	delete(p.names, name)
	return nil
}

// Clear removes every toxic.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p.Toxics.ResetToxics(context.Background())
	clear(p.names)
}

// Cut stops the proxy: open connections are closed and new ones refused,
// until Restore.
func (p *Proxy) Cut() {
	p.p.Stop()
}

// Restore undoes Cut: the proxy listens again on the same address.
func (p *Proxy) Restore() error {
	if err := p.p.Start(); err != nil && err != toxiproxy.ErrProxyAlreadyStarted {
		return fmt.Errorf("netfault: restore: %w", err)
	}
	return nil
}

// Close stops the proxy for good.
func (p *Proxy) Close() error {
	p.Clear()
	p.p.Stop()
	return nil
}
