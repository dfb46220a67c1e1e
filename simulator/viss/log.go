package viss

import (
	"io"
	"log"
)

// quietLog drops the http.Server's own log lines (TLS handshake errors of
// refused plain-text clients are expected).
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
