//go:build !linux

package bus

import (
	"errors"
	"syscall"
)

func socketStats(syscall.Conn) (RxStats, error) {
	return RxStats{}, errors.New("receive statistics need Linux (SO_MEMINFO)")
}

func setReadBuffer(c interface {
	syscall.Conn
	SetReadBuffer(int) error
}, size int) int {
	_ = c.SetReadBuffer(size)
	return 0
}
