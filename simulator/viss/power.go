package viss

import (
	"context"
	"errors"
)

// The servers live on the unit's power: +B OFF stops them (PowerOff) and
// the unit's next power-up starts them again (PowerOn), on the addresses
// they listened on, so a client finds them where it found them before.

// PowerOff is +B OFF: every server stops (its connections close, its
// subscriptions end, its listener closes), every capture, history and
// target is forgotten, and frames are not heard until PowerOn. It does
// nothing when the power is already off or the service closed.
func (s *Service) PowerOff() error {
	s.mu.Lock()
	if s.shut || s.off.Load() {
		s.mu.Unlock()
		return nil
	}
	s.off.Store(true)
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.close())
	}
	s.store.Reset()
	s.logf("viss: +B OFF: servers stopped, captures forgotten")
	return errors.Join(errs...)
}

// PowerOn is the power-up after PowerOff: every server listens again on
// the address it listened on before. Transports attached before PowerOff
// ended with it; the unit attaches them again after PowerOn. It does nothing while the power is
// on or after Close.
func (s *Service) PowerOn() error {
	s.mu.Lock()
	if s.shut || !s.off.Load() {
		s.mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.off.Store(false)
	s.mu.Unlock()
	for _, srv := range s.servers {
		if err := srv.restart(ctx); err != nil {
			return err
		}
		s.logf("viss: %s server listening on %s (quirks: %s)", srv.d.Tag, srv.addr(), s.quirks.Names())
	}
	return nil
}

// Powered reports false between PowerOff and PowerOn, true otherwise.
func (s *Service) Powered() bool { return !s.off.Load() }

// restart opens the closed server's listener again on the address it had.
func (srv *Server) restart(ctx context.Context) error {
	srv.mu.Lock()
	srv.cfg.Addr = srv.addr()
	srv.closed = false
	srv.stop = make(chan struct{})
	srv.mu.Unlock()
	return srv.start(ctx)
}
