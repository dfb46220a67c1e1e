package viss

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/icoc-dev/icoc/simulator/viss/vss"
	"github.com/icoc-dev/icoc/simulator/viss/vssmap"
	"github.com/icoc-dev/icoc/spec/viss"
)

// Server is one VISS server of one dialect: the request handling shared by
// its transports, its subscriptions and its listener.
type Server struct {
	svc     *Service
	cfg     ServerConfig
	d       vissspec.Dialect
	codec   codec
	srvTree *vss.Tree
	subs    *subRegistry
	nextSub atomic.Uint64

	ln     net.Listener
	https  *http.Server
	plain  *http.Server
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
	stop   chan struct{} // closed by close
	conns  map[*session]bool
	// droppedClosed counts the dropped events of closed sessions.
	droppedClosed uint64
}

func newServer(svc *Service, cfg ServerConfig, d vissspec.Dialect) *Server {
	srv := &Server{svc: svc, cfg: cfg, d: d, conns: map[*session]bool{}, stop: make(chan struct{})}
	srv.subs = newSubRegistry(srv)
	if d.Name == vissspec.V3 {
		srv.codec = v3Codec{srv}
	} else {
		srv.codec = gen2Codec{srv}
	}
	srv.nextSub.Store(uint64(time.Now().UnixNano()%100000) * 1000)
	return srv
}

// Config returns the server's configuration.
func (srv *Server) Config() ServerConfig { return srv.cfg }

// Dialect returns the server's dialect tables.
func (srv *Server) Dialect() vissspec.Dialect { return srv.d }

// node looks a dotted path up: the Server tree (v3) first, then the VSS
// tree.
func (srv *Server) node(path string) (*vss.Node, bool) {
	if srv.srvTree != nil {
		if n, ok := srv.srvTree.Node(path); ok {
			return n, true
		}
	}
	return srv.svc.tree.Node(path)
}

// session is one client connection (a WebSocket, or one MQTT topic
// later): what it is sent and its subscriptions. Each is independent
// (v3 T4.1.1.1: "each connection MUST be managed independently").
type session struct {
	srv     *Server
	send    func([]byte) error
	out     chan []byte
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	subs    map[string]*subscription
	dropped atomic.Uint64
}

// sessionQueue is how many messages wait for a slow client before events
// are dropped (the transports' "MAY reduce" the events, register I-275).
const sessionQueue = 4096

// newSession starts a session whose messages go out through send, one at
// a time, in order.
func (srv *Server) newSession(send func([]byte) error) *session {
	s := &session{srv: srv, send: send, out: make(chan []byte, sessionQueue), done: make(chan struct{}), subs: map[string]*subscription{}}
	srv.mu.Lock()
	srv.conns[s] = true
	srv.mu.Unlock()
	go func() {
		for {
			select {
			case <-s.done:
				return
			case m := <-s.out:
				if err := s.send(m); err != nil {
					s.close()
					return
				}
			}
		}
	}()
	return s
}

// deliver queues a message; a full queue drops it (events only reach a
// client that keeps up).
func (s *session) deliver(m []byte) {
	if m == nil {
		return
	}
	select {
	case <-s.done:
	case s.out <- m:
	default:
		s.dropped.Add(1)
	}
}

// close ends the session and its subscriptions.
func (s *session) close() {
	s.once.Do(func() {
		close(s.done)
		s.mu.Lock()
		subs := s.subs
		s.subs = map[string]*subscription{}
		s.mu.Unlock()
		for _, sub := range subs {
			sub.stop()
		}
		s.srv.mu.Lock()
		delete(s.srv.conns, s)
		s.srv.droppedClosed += s.dropped.Load()
		s.srv.mu.Unlock()
	})
}

// receive handles one message of a message transport.
func (srv *Server) receive(s *session, raw []byte) {
	req, e := srv.codec.parse(raw)
	if e != nil {
		s.deliver(srv.codec.errorResponse(req, e))
		return
	}
	res, e := srv.execute(s, req)
	if e != nil {
		s.deliver(srv.codec.errorResponse(req, e))
		return
	}
	s.deliver(srv.codec.response(req, res))
	if res.after != nil {
		res.after()
	}
}

// dataPoint is one value and its capture time.
type dataPoint struct {
	wire any // string or []string
	at   time.Time
	// tsText, when set, is the timestamp as written (a compressed one,
	// compress.go).
	tsText string
}

// pathData is one path's data points; multi says whether dp is an array.
type pathData struct {
	path  string
	dps   []dataPoint
	multi bool
}

// result is a successful answer.
type result struct {
	data     []pathData
	metadata map[string]any
	subID    string
	// after runs once the response has been queued (initial events).
	after func()
}

// execute runs one request.
func (srv *Server) execute(s *session, req *request) (*result, *verr) {
	switch req.action {
	case "get":
		return srv.get(req)
	case "set":
		return srv.set(req)
	case "subscribe":
		if s == nil {
			return nil, srv.fail("malformed", "subscribe is not supported over HTTP")
		}
		return srv.subscribe(s, req)
	case "unsubscribe":
		if s == nil {
			return nil, srv.fail("malformed", "unsubscribe is not supported over HTTP")
		}
		return srv.unsubscribe(s, req)
	}
	return nil, srv.fail("malformed", "Missing or invalid action")
}

// base resolves the request's path.
func (srv *Server) base(req *request) (*vss.Node, []*vss.Node, *verr) {
	q := srv.svc.quirks
	if strings.Contains(req.path, "*") {
		if srv.d.Path.WildcardAllowed || q.Has("wildcard-path-accepted") {
			segs := strings.Split(req.path, ".")
			i := slices.Index(segs, "*")
			root, ok := srv.node(strings.Join(segs[:i], "."))
			if !ok {
				return nil, nil, srv.fail("unknown-path", "")
			}
			nodes := srv.svc.tree.Match(root, strings.Join(segs[i:], "."))
			if len(nodes) == 0 {
				return nil, nil, srv.fail("unknown-path", "")
			}
			return root, nodes, nil
		}
		return nil, nil, srv.fail("wildcard-in-path", "Missing or invalid path")
	}
	if strings.Contains(req.rawPath, "/") && q.Has("slash-path-refused") {
		return nil, nil, srv.fail("unknown-path", "Data is unknown")
	}
	n, ok := srv.node(req.path)
	if !ok || req.path == "" {
		return nil, nil, srv.fail("unknown-path", "Data is unknown")
	}
	return n, nil, nil
}

// targets expands the request to the leaves it addresses (the paths filter
// or search, else the base's subtree), deduplicated in order.
func (srv *Server) targets(req *request, base *vss.Node, wild []*vss.Node) ([]*vss.Node, *verr) {
	var nodes []*vss.Node
	switch {
	case wild != nil:
		nodes = wild
	case req.filter.hasPaths && !srv.svc.quirks.Has("paths-filter-ignored"):
		var invalid []string
		for _, rel := range req.filter.paths {
			m := srv.svc.tree.Match(base, rel)
			if srv.srvTree != nil && strings.HasPrefix(base.Path, "Server") {
				m = srv.srvTree.Match(base, rel)
			}
			if len(m) == 0 {
				invalid = append(invalid, rel)
			}
			nodes = append(nodes, m...)
		}
		if len(invalid) > 0 && (len(nodes) == 0 || !srv.svc.quirks.Has("multi-invalid-partial")) {
			if srv.d.Name == vissspec.Gen2 {
				return nil, srv.fail("unknown-path", "")
			}
			return nil, srv.fail("multi-invalid-node", "Invalid nodes: "+strings.Join(invalid, ", "))
		}
	default:
		nodes = []*vss.Node{base}
	}
	var out []*vss.Node
	seen := map[string]bool{}
	for _, n := range nodes {
		for _, l := range vss.Leaves(n) {
			if !seen[l.Path] {
				seen[l.Path] = true
				out = append(out, l)
			}
		}
	}
	return out, nil
}

// value returns a leaf's current data point, or false when the vehicle
// has none (a sensor outside the map, or not yet seen on the bus).
func (srv *Server) value(n *vss.Node) (dataPoint, bool) {
	q := srv.svc.quirks
	if n.Type == vss.Actuator && q.Has("get-returns-target") {
		if v, ok := srv.svc.store.Target(n.Path); ok {
			return dataPoint{wire: srv.wire(v), at: time.Now()}, true
		}
	}
	c, ok := srv.svc.store.Current(n.Path)
	if ok && q.Has("stale-value") {
		if p, okp := srv.svc.store.Previous(n.Path); okp {
			c = p
		}
	}
	if ok {
		at := c.At
		if q.Has("ts-not-capture") {
			at = time.Now()
		}
		return dataPoint{wire: srv.wire(c.Value), at: at}, true
	}
	if n.Default != nil {
		return dataPoint{wire: defaultWire(n.Default), at: srv.svc.started}, true
	}
	if q.Has("unavailable-as-zero") && vssmap.IsNumeric(n.Datatype) {
		return dataPoint{wire: "0", at: time.Now()}, true
	}
	return dataPoint{}, false
}

// wire writes a value as the payload carries it.
func (srv *Server) wire(v vssmap.Value) any {
	q := srv.svc.quirks
	if v.Kind == "number" {
		x := v.Num
		if q.Has("wrong-scale") {
			x *= 10
		}
		if q.Has("value-not-string") {
			return x
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return v.Wire()
}

// defaultWire writes an attribute's default: a string, or an array of
// strings.
func defaultWire(d any) any {
	switch v := d.(type) {
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = fmt.Sprint(x)
		}
		return out
	case []string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(d)
}

// controlled reports whether access control applies to any target.
func (srv *Server) controlled(targets []*vss.Node, kind string) bool {
	if srv.svc.quirks.Has("no-access-control") {
		return false
	}
	for _, n := range targets {
		if srv.needsToken(n, kind) {
			return true
		}
	}
	return false
}

func (srv *Server) get(req *request) (*result, *verr) {
	q := srv.svc.quirks
	if _, e := srv.newCompressor(req); e != nil {
		return nil, e
	}
	base, wild, e := srv.base(req)
	if e != nil {
		if e.situation == "unknown-path" && q.Has("unknown-path-empty") {
			return &result{}, nil
		}
		return nil, e
	}
	if req.filter.metadata != nil {
		return &result{metadata: srv.metadata(base, req.filter.metadata)}, nil
	}
	targets, e := srv.targets(req, base, wild)
	if e != nil {
		return nil, e
	}
	if e := srv.authorize(req, targets, "get"); e != nil {
		return nil, e
	}
	if req.filter.history != nil {
		return srv.history(targets, *req.filter.history)
	}
	if c := req.filter.dataCmp; c != nil && !q.Has("data-filter-ignored") {
		var keep []*vss.Node
		for _, n := range targets {
			if (c.boolVal != nil) != (n.Datatype == "boolean") || (c.boolVal == nil && !vssmap.IsNumeric(n.Datatype)) {
				if q.Has("filter-lenient") {
					keep = append(keep, n)
					continue
				}
				return nil, srv.fail("bad-filter", "The $data value's type differs from the node's")
			}
			cur, ok := srv.svc.store.Current(n.Path)
			if !ok {
				continue
			}
			x, _ := numeric(cur.Value)
			if c.boolVal != nil {
				if cur.Value.Bool == *c.boolVal {
					keep = append(keep, n)
				}
			} else if c.holds(x) {
				keep = append(keep, n)
			}
		}
		targets = keep
	}
	res := &result{}
	var missing []string
	// In-line reporting (v3 T3.1.1) only for several signals, and never
	// under access control.
	inline := len(targets) > 1 && srv.d.InlineErrorValue != "" &&
		((q.Has("inline-errors") && !srv.controlled(targets, "get")) || q.Has("inline-error-under-token"))
	for _, n := range targets {
		dp, ok := srv.value(n)
		if !ok {
			if !inline {
				missing = append(missing, n.Path)
				continue
			}
			dp = dataPoint{wire: srv.d.InlineErrorValue, at: time.Now()}
		}
		res.data = append(res.data, pathData{path: n.Path, dps: []dataPoint{dp}})
	}
	if len(missing) > 0 {
		if srv.d.Name == vissspec.Gen2 {
			return nil, srv.fail("unknown-path", "No value for "+strings.Join(missing, ", "))
		}
		return nil, srv.fail("unavailable", "Data temporarily unaccessible: "+strings.Join(missing, ", "))
	}
	return res, nil
}

// history answers a history read (002 7.2).
func (srv *Server) history(targets []*vss.Node, period time.Duration) (*result, *verr) {
	q := srv.svc.quirks
	if q.Has("no-history") {
		return nil, srv.fail("history-unavailable", "")
	}
	since := time.Now().Add(-srv.svc.wall(period))
	if q.Has("history-ignores-period") {
		since = time.Time{}
	}
	res := &result{}
	total := 0
	for _, n := range targets {
		h := srv.svc.store.History(n.Path, since)
		pd := pathData{path: n.Path, multi: len(h) != 1}
		for _, c := range h {
			pd.dps = append(pd.dps, dataPoint{wire: srv.wire(c.Value), at: c.At})
		}
		total += len(h)
		if len(h) > 0 {
			res.data = append(res.data, pd)
		}
	}
	if total == 0 {
		return nil, srv.fail("history-unavailable", "")
	}
	return res, nil
}

func (srv *Server) set(req *request) (*result, *verr) {
	q := srv.svc.quirks
	base, wild, e := srv.base(req)
	if e != nil {
		return nil, e
	}
	if wild != nil || !base.IsLeaf() {
		return nil, srv.fail("set-on-sensor", "Requested action on a branch is not supported")
	}
	if base.Type != vss.Actuator && !q.Has("set-on-sensor-ok") {
		return nil, srv.fail("set-on-sensor", "Update of a sensor is not supported")
	}
	if e := srv.authorize(req, []*vss.Node{base}, "set"); e != nil {
		return nil, e
	}
	v, ok := parseValue(base, req.value)
	if !ok && !q.Has("set-no-type-check") {
		return nil, srv.fail("wrong-datatype", "Incorrect data type")
	}
	if q.Has("set-refused") {
		return nil, srv.fail("set-on-sensor", "Update of a sensor is not supported")
	}
	if ok {
		srv.svc.store.SetTarget(base.Path, v)
	}
	return &result{}, nil
}

func (srv *Server) unsubscribe(s *session, req *request) (*result, *verr) {
	s.mu.Lock()
	sub, ok := s.subs[req.subID]
	if ok {
		delete(s.subs, req.subID)
	}
	s.mu.Unlock()
	if !ok {
		if srv.svc.quirks.Has("unsubscribe-unknown-ok") {
			return &result{subID: req.subID}, nil
		}
		return nil, srv.fail("unknown-subscription", "Unknown subscription Id")
	}
	if !srv.svc.quirks.Has("events-after-unsubscribe") {
		sub.stop()
	}
	return &result{subID: req.subID}, nil
}

// start opens the listener and serves wss and https on it.
func (srv *Server) start(ctx context.Context) error {
	ln, err := net.Listen("tcp", srv.cfg.Addr)
	if err != nil {
		return fmt.Errorf("viss %s server: %w", srv.d.Tag, err)
	}
	srv.ln = ln
	if srv.d.Name == vissspec.V3 && !srv.svc.quirks.Has("no-server-tree") {
		if srv.srvTree, err = srv.serverTree(); err != nil {
			ln.Close()
			return err
		}
	}
	srv.serve()
	return nil
}

func (srv *Server) addr() string {
	if srv.ln == nil {
		return srv.cfg.Addr
	}
	return srv.ln.Addr().String()
}

// stopped returns the channel closed when the server closes; a restart
// (PowerOn) gives the server a new one.
func (srv *Server) stopped() <-chan struct{} {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.stop
}

func (srv *Server) close() error {
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		return nil
	}
	srv.closed = true
	close(srv.stop)
	conns := make([]*session, 0, len(srv.conns))
	for s := range srv.conns {
		conns = append(conns, s)
	}
	srv.mu.Unlock()
	for _, s := range conns {
		s.close()
	}
	var err error
	if srv.https != nil {
		err = srv.https.Close()
	}
	if srv.plain != nil {
		_ = srv.plain.Close()
	}
	if srv.ln != nil {
		_ = srv.ln.Close()
	}
	srv.wg.Wait()
	return err
}
