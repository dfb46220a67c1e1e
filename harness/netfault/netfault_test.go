package netfault

import (
	"bufio"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// echoServer echoes every line back.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(addr string, timeout time.Duration) (time.Duration, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return 0, err
	}
	_, err = bufio.NewReader(c).ReadString('\n')
	return time.Since(start), err
}

func TestProxyFaults(t *testing.T) {
	p, err := NewProxy("127.0.0.1:0", echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := roundTrip(p.Addr(), time.Second); err != nil {
		t.Fatalf("clean proxy: %v", err)
	}
	if err := p.Add(Latency("slow", Downstream, 150*time.Millisecond, 0)); err != nil {
		t.Fatal(err)
	}
	if d, err := roundTrip(p.Addr(), time.Second); err != nil || d < 140*time.Millisecond {
		t.Errorf("latency: %v %v", d, err)
	}
	if err := p.Add(Latency("slow", Downstream, time.Millisecond, 0)); err == nil {
		t.Error("same name added twice")
	}
	if err := p.Remove("slow"); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(NoResponse("mute", Downstream)); err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	if _, err := roundTrip(p.Addr(), 200*time.Millisecond); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("no response: got %v, want a timeout", err)
	}
	p.Clear()
	if err := p.Add(Reset("rst", Upstream, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := roundTrip(p.Addr(), time.Second); err == nil {
		t.Error("reset: round trip succeeded")
	} else if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
		t.Logf("reset: %v", err)
	}
	p.Clear()
	addr := p.Addr()
	p.Cut()
	if _, err := roundTrip(addr, 200*time.Millisecond); err == nil {
		t.Error("cut: round trip succeeded")
	}
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	if _, err := roundTrip(addr, time.Second); err != nil {
		t.Errorf("restored: %v", err)
	}
}
