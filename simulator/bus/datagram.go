package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"go.einride.tech/can"
	"go.einride.tech/can/pkg/socketcan"
)

// datagramLink is the frame side shared by the emulator's multicast peer
// and a hub peer: one CAN frame per UDP datagram, in SocketCAN's 16-byte
// can_frame encoding. It reads frames from rx and writes them to tx (the
// same socket for a hub peer). Invariant: Frame is the last data frame
// Receive returned true for; error frames and datagrams of another length
// are never returned.
type datagramLink struct {
	rx, tx *net.UDPConn
	// peer names the other end in transmit errors ("CAN hub", "CAN emulator").
	peer  string
	frame can.Frame
	err   error
}

// Receive blocks for the next data frame; it skips anything that is not a
// frame (a hub's acks), and error frames.
func (l *datagramLink) Receive() bool {
	var b [64]byte
	for {
		n, err := l.rx.Read(b[:])
		if errors.Is(err, syscall.ECONNREFUSED) {
			// ICMP port unreachable while a hub is away: keep listening.
			continue
		}
		if err != nil {
			l.err = err
			return false
		}
		if n != hubFrameLen {
			continue
		}
		var sf socketcan.Frame
		sf.UnmarshalBinary(b[:hubFrameLen])
		if sf.IsError() {
			continue
		}
		l.frame = sf.DecodeFrame()
		return true
	}
}

func (l *datagramLink) Frame() can.Frame          { return l.frame }
func (l *datagramLink) rxStats() (RxStats, error) { return socketStats(l.rx) }
func (l *datagramLink) Err() error                { return l.err }

// TransmitFrame sends f in SocketCAN's encoding.
func (l *datagramLink) TransmitFrame(ctx context.Context, f can.Frame) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var sf socketcan.Frame
	sf.EncodeFrame(f)
	var b [hubFrameLen]byte
	sf.MarshalBinary(b[:])
	if _, err := l.tx.Write(b[:]); err != nil {
		return fmt.Errorf("%s %s: %w", l.peer, l.tx.RemoteAddr(), err)
	}
	return nil
}
