package harness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/icoc-dev/icoc/harness/capture"
	"github.com/icoc-dev/icoc/harness/report"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"go.einride.tech/can"
)

// Evidence modes (the -icoc.evidence flag, ICOC_EVIDENCE).
const (
	// EvidenceFailed keeps the wire evidence of failed specs (the default).
	EvidenceFailed = "failed"
	// EvidenceAll keeps it for every spec that ran.
	EvidenceAll = "all"
	// EvidenceOff keeps none and captures nothing.
	EvidenceOff = "off"
)

var (
	flagEvidence = flag.String("icoc.evidence", os.Getenv("ICOC_EVIDENCE"), "wire evidence kept per spec: failed (default), all, off")
	flagReports  = flag.String("icoc.reports", os.Getenv("ICOC_REPORTS"), "reports directory; evidence goes to its evidence/ (default: reports/ of the repository)")
)

// EvidenceDir is the directory under the reports directory that holds the
// evidence, one directory per suite and spec.
const EvidenceDir = "evidence"

// evidence is a run's wire evidence: the capture of the DUT's traffic by
// the run's ports, the TLS secrets of the harness's side, the CAN frames,
// and the timelines timing specs noted. One spec runs at a time in a
// process, so one window is open at a time.
type evidence struct {
	mode       string
	reportsDir string
	suiteDir   string // relative to reportsDir, slash-separated
	busName    string // candump's interface field
	busTitle   string // the bus as the log's header names it

	keys     *capture.KeyLog
	can      *capture.CANLog
	sniff    *capture.Sniffer
	sniffWhy string // why there is no capture, when sniff is nil

	mu        sync.Mutex
	specStart time.Time
	timelines []noted
}

// noted is a timeline a matcher noted during the spec, by matcher.
type noted struct {
	key   any
	chart report.TimelineChart
}

// evidenceMode is the flag's mode, checked; the self-test's child runs
// (which fail on purpose, by the hundred) keep none.
func evidenceMode() (string, error) {
	if os.Getenv("ICOC_SELFTEST_CHILD") != "" {
		return EvidenceOff, nil
	}
	switch m := strings.TrimSpace(*flagEvidence); m {
	case "":
		return EvidenceFailed, nil
	case EvidenceFailed, EvidenceAll, EvidenceOff:
		return m, nil
	default:
		return "", fmt.Errorf("-icoc.evidence %q: want failed, all or off", m)
	}
}

// newEvidence prepares the run's evidence before the center starts (its
// key log goes into the center's TLS configuration); startEvidence opens
// the capture once the ports are known.
func newEvidence() (*evidence, error) {
	mode, err := evidenceMode()
	if err != nil {
		return nil, err
	}
	e := &evidence{mode: mode, keys: &capture.KeyLog{}, can: &capture.CANLog{}}
	if mode == EvidenceOff {
		return e, nil
	}
	e.reportsDir = *flagReports
	if e.reportsDir == "" {
		root, err := RepoRoot()
		if err != nil {
			return nil, fmt.Errorf("evidence: %w (give -icoc.reports)", err)
		}
		e.reportsDir = filepath.Join(root, "reports")
	}
	e.suiteDir = EvidenceDir + "/" + suiteSlug()
	return e, nil
}

// suiteSlug names the running suite by its package directory relative to
// the repository ("cases-http-h1"), else the directory's name.
func suiteSlug() string {
	wd, err := os.Getwd()
	if err != nil {
		return "suite"
	}
	if root, err := RepoRoot(); err == nil {
		if rel, err := filepath.Rel(root, wd); err == nil && !strings.HasPrefix(rel, "..") {
			return slug(strings.ReplaceAll(filepath.ToSlash(rel), "/", "-"))
		}
	}
	return slug(filepath.Base(wd))
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func slug(s string) string { return strings.Trim(unsafeChars.ReplaceAllString(s, "_"), "_") }

// startEvidence opens the capture (where AF_PACKET can be had) and starts
// logging the CAN frames the harness receives.
func (r *Run) startEvidence(ctx context.Context) {
	e := r.evidence
	if e == nil || e.mode == EvidenceOff {
		return
	}
	// candump's interface field: the SocketCAN interface, else a short
	// name for the emulator or the hub (the log's header names the bus).
	switch cfg := r.Bus.Config(); {
	case cfg.Interface != "":
		e.busName = cfg.Interface
	case cfg.Hub != "":
		e.busName = "canhub"
	default:
		e.busName = "canudp"
	}
	e.busTitle = r.Bus.Config().String()
	s, err := capture.Open()
	if err != nil {
		e.sniffWhy = err.Error()
	} else {
		e.sniff = s
		if err := s.SetPorts(portNumbers(r.CapturePorts())); err != nil {
			e.sniffWhy = err.Error()
			_ = s.Close()
			e.sniff = nil
		}
	}
	go func() {
		for r.Bus.Receive() {
			e.can.Received(r.Bus.Frame())
		}
	}()
}

// stopEvidence closes the capture.
func (r *Run) stopEvidence() {
	if r.evidence != nil && r.evidence.sniff != nil {
		_ = r.evidence.sniff.Close()
	}
}

func portNumbers(ps []capture.Port) []int {
	out := make([]int, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Number)
	}
	return out
}

// KeyLogWriter is where the harness's TLS clients and servers write their
// TLS secrets (crypto/tls Config.KeyLogWriter) so the run's capture can be
// decrypted; the harness's center has it from the start. A protocol
// client of the harness (playing the vehicle against a center DUT) sets it
// on its tls.Config. Never nil.
func (r *Run) KeyLogWriter() io.Writer {
	if r.evidence == nil || r.evidence.mode == EvidenceOff {
		return io.Discard
	}
	return r.evidence.keys
}

// CapturePorts are the ports of the run the DUT's traffic passes through:
// the harness's center and every frontend of it (ListenTLS), the fault
// proxy in front of it, the CDP/OCSP responder and the DNS servers of the
// harness, and the center DUT with its frontends. With the fault proxy in
// the path each connection shows twice in a capture: DUT to proxy, proxy
// to center (the same TLS bytes).
func (r *Run) CapturePorts() []capture.Port {
	var out []capture.Port
	add := func(addr, proto, what string) {
		if addr == "" {
			return
		}
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			return
		}
		n, err := strconv.Atoi(p)
		if err != nil || n == 0 {
			return
		}
		out = append(out, capture.Port{Number: n, Proto: proto, What: what})
	}
	if r.Center != nil {
		add(r.Center.Addr(), capture.TLS, "harness center")
		for _, a := range r.Center.FrontendAddrs() {
			add(a, capture.TLS, "harness center frontend")
		}
	}
	if r.Link != nil {
		add(r.Link.Addr(), capture.TLS, "fault proxy to the harness center")
	}
	if r.TLS != nil {
		if r.TLS.Revocation != nil {
			add(r.TLS.Revocation.Addr(), capture.HTTP, "CRL distribution point and OCSP responder")
		}
		if r.TLS.DNS != nil {
			add(r.TLS.DNS.Addr(), capture.DNS, "harness DNS server")
		}
		if r.TLS.CenterDUT != nil {
			add(r.TLS.CenterDUT.Addr(), capture.TLS, "center DUT")
			for _, a := range r.TLS.CenterDUT.FrontendAddrs() {
				add(a, capture.TLS, "center DUT frontend")
			}
		}
	}
	if r.Profile.HasRole("center") && !r.Profile.DUT.Simulated {
		add(r.Profile.Center.Address, capture.TLS, "center DUT")
	}
	seen := map[string]bool{}
	for _, e := range r.VISS.Endpoints {
		for _, raw := range []string{e.WS, e.HTTP} {
			if hp := urlHostPort(raw); hp != "" && !seen[hp] {
				seen[hp] = true
				add(hp, capture.TLS, "VISS server ("+e.Dialect.Tag+")")
			}
		}
		if m := e.MQTT; m != nil && !seen[m.Broker] {
			seen[m.Broker] = true
			add(m.Broker, capture.TLS, "MQTT broker of VISS "+e.Dialect.Tag)
		}
	}
	if hs := &r.host; hs.revFwd != nil {
		add(hs.revFwd.Addr(), capture.HTTP, "forwarder to the CDP/OCSP responder")
	}
	if m := r.MQTT; m != nil {
		if m.Broker != nil {
			add(m.Broker.Addr(), capture.TLS, "harness MQTT broker")
		}
		if m.Link != nil {
			add(m.Link.Addr(), capture.TLS, "fault proxy to the harness MQTT broker")
		}
		if m.DUTBroker != nil {
			add(m.DUTBroker.Addr(), capture.TLS, "broker DUT")
		}
	}
	if r.Profile.HasRole("center") && !r.Profile.DUT.Simulated {
		add(r.Profile.MQTT.Address, capture.TLS, "broker DUT")
	}
	return out
}

// urlHostPort is the host:port of a URL, with the scheme's default port;
// "" for an empty or unreadable URL.
func urlHostPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Port() != "" {
		return u.Host
	}
	switch u.Scheme {
	case "https", "wss":
		return net.JoinHostPort(u.Hostname(), "443")
	case "http", "ws":
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return ""
}

// beginSpec opens the evidence window of a spec: ports refreshed (a
// suite may have started frontends), what ended before it forgotten.
func (r *Run) beginSpec() {
	e := r.evidence
	if e == nil || e.mode == EvidenceOff {
		return
	}
	now := time.Now()
	e.mu.Lock()
	e.specStart, e.timelines = now, nil
	e.mu.Unlock()
	current.Lock()
	current.e = e
	current.Unlock()
	// Secrets are kept as long as a packet of their time is: a connection
	// opened before this spec may still carry its traffic.
	keep := now
	if e.sniff != nil {
		_ = e.sniff.SetPorts(portNumbers(r.CapturePorts()))
		e.sniff.Prune(now)
		if t := e.sniff.Oldest(); !t.IsZero() && t.Before(keep) {
			keep = t
		}
	}
	e.keys.Prune(keep.Add(-time.Second))
	e.can.Prune(now)
}

// NoteTimeline records the timeline of a timing judgement for the spec's
// evidence (an SVG in the report when the spec fails). key identifies the
// judgement (a matcher): a later note with the same key replaces the
// earlier one. FollowRetryPattern notes its own; other timing specs may
// note theirs.
func (r *Run) NoteTimeline(key any, c report.TimelineChart) { noteTimeline(key, c) }

// current is the run whose spec is open in this process (one at a time),
// so matchers can note timelines without a Run at hand.
var current struct {
	sync.Mutex
	e *evidence
}

func noteTimeline(key any, c report.TimelineChart) {
	current.Lock()
	e := current.e
	current.Unlock()
	if e == nil || e.mode == EvidenceOff {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.timelines {
		if e.timelines[i].key == key {
			e.timelines[i].chart = c
			return
		}
	}
	if len(e.timelines) < 8 {
		e.timelines = append(e.timelines, noted{key, c})
	}
}

// endSpec closes the spec's window and, when the mode keeps it (a failed
// spec, or every spec with "all"), writes its evidence under the reports
// directory and attaches report.EntryEvidence.
func (r *Run) endSpec(rep ginkgo.SpecReport) {
	e := r.evidence
	if e == nil || e.mode == EvidenceOff {
		return
	}
	e.mu.Lock()
	from, charts := e.specStart, e.timelines
	e.timelines = nil
	e.mu.Unlock()
	current.Lock()
	current.e = nil
	current.Unlock()
	failed := rep.Failed()
	if rep.State.Is(types.SpecStateSkipped|types.SpecStatePending) || (!failed && e.mode != EvidenceAll) {
		return
	}
	// Let the last packets of the spec reach the capture.
	time.Sleep(50 * time.Millisecond)
	to := time.Now()
	ev, err := r.writeEvidence(rep, from, to, charts)
	if err != nil {
		ev.Notes = append(ev.Notes, "evidence could not be written: "+err.Error())
	}
	ginkgo.AddReportEntry(report.EntryEvidence, ev, ginkgo.ReportEntryVisibilityFailureOrVerbose)
}

// specSlug names a spec's evidence directory: its bracket ID and a digest
// of its full name (IDs repeat across a table's variants).
func specSlug(rep ginkgo.SpecReport) string {
	full := rep.FullText()
	sum := sha256.Sum256([]byte(full))
	id := "spec"
	if m := regexp.MustCompile(`\[([^\]]+)\]`).FindStringSubmatch(full); m != nil {
		id = slug(m[1])
	}
	return id + "-" + hex.EncodeToString(sum[:4])
}

func (r *Run) writeEvidence(rep ginkgo.SpecReport, from, to time.Time, charts []noted) (report.Evidence, error) {
	e := r.evidence
	var ev report.Evidence
	rel := e.suiteDir + "/" + specSlug(rep)
	dir := filepath.Join(e.reportsDir, filepath.FromSlash(rel))
	if err := os.RemoveAll(dir); err != nil {
		return ev, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ev, err
	}
	write := func(kind, name, title string, data []byte) error {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
		ev.Files = append(ev.Files, report.EvidenceFile{Kind: kind, Path: rel + "/" + name, Title: title})
		return nil
	}
	ports := r.CapturePorts()
	keysFrom := from
	if e.sniff != nil {
		pkts, truncated := e.sniff.Window(from, to)
		if len(pkts) > 0 && pkts[0].At.Before(keysFrom) {
			keysFrom = pkts[0].At
		}
		var b bytes.Buffer
		comment := fmt.Sprintf("icoc evidence of %q; filter %s", rep.FullText(), e.sniff.Filter())
		if err := e.sniff.WritePCAPNG(&b, pkts, comment); err != nil {
			return ev, err
		}
		if err := write(report.EvidenceCapture, "capture.pcapng", "capture (pcapng)", b.Bytes()); err != nil {
			return ev, err
		}
		if len(pkts) == 0 {
			ev.Notes = append(ev.Notes, "the capture holds no packet: nothing crossed the run's ports during the spec")
		}
		if truncated {
			ev.Notes = append(ev.Notes, fmt.Sprintf("the capture is incomplete: over %d MB of traffic, the oldest packets were dropped", capture.MaxBytes>>20))
		}
		if err := e.sniff.Err(); err != nil {
			ev.Notes = append(ev.Notes, err.Error())
		}
	} else {
		ev.Notes = append(ev.Notes, "no capture: "+e.sniffWhy)
	}
	if err := write(report.EvidenceKeyLog, "tls-keys.log", "TLS key log", e.keys.Between(keysFrom.Add(-time.Second), to)); err != nil {
		return ev, err
	}
	var cb bytes.Buffer
	if err := capture.WriteCandump(&cb, e.busName, e.busTitle, e.can.Between(from, to)); err != nil {
		return ev, err
	}
	if err := write(report.EvidenceCAN, "can.log", "CAN frames (candump log)", cb.Bytes()); err != nil {
		return ev, err
	}
	if as := r.Recorder.Attempts(func(a Attempt) bool { return a.During(from, to) }); len(as) > 0 {
		if err := write(report.EvidenceExchanges, "exchanges.txt", "exchanges (text)", []byte(ExchangeLog(as, r.Clock))); err != nil {
			return ev, err
		}
	}
	for i, c := range charts {
		name := "timeline.svg"
		if i > 0 {
			name = fmt.Sprintf("timeline-%d.svg", i+1)
		}
		if err := write(report.EvidenceTimeline, name, "timeline (SVG)", c.chart.SVG()); err != nil {
			return ev, err
		}
	}
	if err := write(report.EvidenceReadme, "README.txt", "how to read it", []byte(readme(rep, ports, e.sniff != nil))); err != nil {
		return ev, err
	}
	return ev, nil
}

// readme tells a reader what the evidence is and how to open it.
func readme(rep ginkgo.SpecReport, ports []capture.Port, captured bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Evidence of: %s\nState: %s\n\n", rep.FullText(), rep.State)
	if captured {
		b.WriteString("capture.pcapng: the traffic of the run's ports during the spec (every connection that carried a\n")
		b.WriteString("packet in it, from its first packet). Ports:\n")
		for _, p := range ports {
			fmt.Fprintf(&b, "  %d  %s (%s)\n", p.Number, p.What, p.Proto)
		}
		b.WriteString("\ntls-keys.log: the TLS secrets of the harness's side (SSLKEYLOGFILE format). Decrypt with\n")
		fmt.Fprintf(&b, "  tshark %s -Y 'http || http2'\n", strings.Join(quoteArgs(capture.TsharkArgs("capture.pcapng", "tls-keys.log", ports)), " "))
		b.WriteString("or in Wireshark: Preferences > Protocols > TLS > (Pre)-Master-Secret log filename, and Decode As\n")
		b.WriteString("for the ports above.\n")
	}
	b.WriteString("\ncan.log: the CAN frames of the bus during the spec in candump's log format (replay: canplayer -I can.log);\n")
	b.WriteString("T marks a frame the harness sent, R one it received.\n")
	b.WriteString("exchanges.txt: every exchange on the run's timeline during the spec (requests the harness's center\n")
	b.WriteString("answered, and the messages the harness's own clients, such as its VISS client, sent and received),\n")
	b.WriteString("in spec time from the first, with wall-clock stamps (UTC).\n")
	b.WriteString("timeline*.svg: timing judgements in spec time: the windows where the rule allows an attempt and the\n")
	b.WriteString("attempts observed.\n")
	return b.String()
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " '\"=|&;<>()") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}

// canTx puts frames on the bus through the run's connection and logs each
// one for the evidence.
type canTx struct{ r *Run }

func (t canTx) TransmitFrame(ctx context.Context, f can.Frame) error {
	if err := t.r.Bus.TransmitFrame(ctx, f); err != nil {
		return err
	}
	if e := t.r.evidence; e != nil && e.mode != EvidenceOff {
		e.can.Sent(f)
	}
	return nil
}

// tx is the run's bus transmitter that logs what it sends.
func (r *Run) tx() canTx { return canTx{r} }

// retryChart draws a retry judgement in spec time from the first
// attempt's start: after each answer the window of the next retry the
// pattern allows (Tolerance.WithinLate's), and every attempt, marked out
// of the rule when it came outside its window or beyond the pattern's
// count. why is the judgement's complaint ("" when it held).
func retryChart(req Requirement, p RetryPattern, attempts []Attempt, why string, end time.Time) report.TimelineChart {
	c := report.TimelineChart{Title: req.Clause, Expected: p.Describe(), Verdict: why}
	if len(attempts) == 0 {
		return c
	}
	t0 := attempts[0].Start()
	sec := func(t time.Time) float64 { return p.Clock.Spec(t.Sub(t0)).Seconds() }
	c.End = sec(end)
	for i, a := range attempts {
		ca := report.ChartAttempt{At: sec(a.Start()), Answered: -1, Label: fmt.Sprintf("#%d %s", i+1, shortOutcome(a)), OK: i == 0}
		if !a.AnsweredAt.IsZero() {
			ca.Answered = sec(a.AnsweredAt)
		}
		if i > 0 && i <= p.Retries && !attempts[i-1].AnsweredAt.IsZero() {
			gap := p.Clock.Spec(a.Start().Sub(attempts[i-1].AnsweredAt))
			ca.OK = p.Tolerance.WithinLate(p.gap(i), gap)
		}
		c.Attempts = append(c.Attempts, ca)
	}
	for i := 1; i <= p.Retries && i <= len(attempts); i++ {
		prev := attempts[i-1]
		if prev.AnsweredAt.IsZero() {
			break
		}
		g := p.gap(i)
		lo := g - p.Tolerance.early(g)
		hi := g + p.Tolerance.Allowed(g)
		ans := sec(prev.AnsweredAt)
		c.Windows = append(c.Windows, report.ChartSpan{
			From: ans + lo.Seconds(), To: ans + hi.Seconds(),
			Label: fmt.Sprintf("retry %d: %s after answer #%d", i, p.Tolerance.DescribeLate(g), i),
		})
	}
	return c
}

// shortOutcome is how an attempt ended, in a few words for a chart.
func shortOutcome(a Attempt) string {
	switch {
	case a.Abandoned:
		return "abandoned by the DUT"
	case a.Dropped:
		return "dropped by the center"
	case a.AnsweredAt.IsZero():
		return "not answered"
	}
	return a.answer(a.Status)
}
