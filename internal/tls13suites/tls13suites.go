// Package tls13suites restricts the TLS 1.3 cipher suites of crypto/tls, for
// every client and server in the process, to those Table 7-1 (7.1.1.2.1)
// allows: TLS_AES_256_GCM_SHA384 first, then TLS_CHACHA20_POLY1305_SHA256
// (register I-010, I-046). crypto/tls ignores Config.CipherSuites for TLS
// 1.3 and would offer and prefer TLS_AES_128_GCM_SHA256; its preference
// lists are variables that crypto/tls itself exports by //go:linkname for
// exactly this use (go.dev/issue/67401, used by quic-go). Importing this
// package (for its side effect) replaces them once, at init, before any
// handshake runs.
//
// Invariant after init: a Go TLS 1.3 client in this process offers only
// Allowed(), and a Go TLS 1.3 server selects only a suite in Allowed(); a
// peer that offers none of them gets a handshake_failure alert.
package tls13suites

import (
	"crypto/tls"
	"slices"
	_ "unsafe" // for go:linkname
)

//go:linkname defaultCipherSuitesTLS13 crypto/tls.defaultCipherSuitesTLS13
var defaultCipherSuitesTLS13 []uint16

//go:linkname defaultCipherSuitesTLS13NoAES crypto/tls.defaultCipherSuitesTLS13NoAES
var defaultCipherSuitesTLS13NoAES []uint16

// allowed is Table 7-1 in priority order.
var allowed = []uint16{tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256}

func init() {
	defaultCipherSuitesTLS13 = slices.Clone(allowed)
	// Without AES hardware (or when the client prefers ChaCha20) crypto/tls
	// uses this list: the same two suites, ChaCha20 first.
	defaultCipherSuitesTLS13NoAES = []uint16{tls.TLS_CHACHA20_POLY1305_SHA256, tls.TLS_AES_256_GCM_SHA384}
}

// Allowed returns the TLS 1.3 suites crypto/tls offers and selects in this
// process, in preference order.
func Allowed() []uint16 { return slices.Clone(defaultCipherSuitesTLS13) }

// Active reports whether the restriction is in force: crypto/tls's lists
// hold exactly the allowed suites (false would mean a Go release renamed
// the variables and the linkname silently bound to something else; the
// linker refuses a missing symbol, so this is a belt-and-braces check).
func Active() bool {
	return slices.Equal(defaultCipherSuitesTLS13, allowed) &&
		!slices.Contains(defaultCipherSuitesTLS13NoAES, tls.TLS_AES_128_GCM_SHA256)
}

// EnableAES128 puts TLS_AES_128_GCM_SHA256 back, first, for every Go TLS
// client and server in the process, as crypto/tls has it by default. It
// exists only for the reference simulators' quirks (self-test runs, one
// process per quirk) and must be called before any handshake starts.
func EnableAES128() {
	defaultCipherSuitesTLS13 = []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256}
	defaultCipherSuitesTLS13NoAES = []uint16{tls.TLS_CHACHA20_POLY1305_SHA256, tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384}
}

// OnlyAES256 leaves TLS_AES_256_GCM_SHA384 alone, the first of Table 7-1,
// for every Go TLS client and server in the process. It exists only for
// the reference vehicle's variant strongest-only (a unit that offers
// nothing but the preferred suite conforms) and must be called before any
// handshake starts.
func OnlyAES256() {
	defaultCipherSuitesTLS13 = []uint16{tls.TLS_AES_256_GCM_SHA384}
	defaultCipherSuitesTLS13NoAES = []uint16{tls.TLS_AES_256_GCM_SHA384}
}
