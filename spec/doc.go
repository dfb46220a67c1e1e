// Package spec is the written specification as data: every behaviour table of
// the core seed ("Common Specification for the Communication Interface
// between In-Car and Out-Car", v1.2; ../shared/spec/000_f552bc2a06c36321.txt)
// with the clause and table row each entry comes from.
//
// The tables live in embedded YAML files (data/*.yaml, one row per entry) and
// are loaded once at package initialisation; a malformed data file is a
// programming error and panics at init (the package tests load every file).
// This package is the single source the rest of icoc reads: the reference
// vehicle's retry engine, the reference center and the case generators ask
// it, and nothing else hard-codes a status code's retry value, an interval or
// a timeout.
//
// Where the seed is silent, ambiguous or contradicts itself, the reading is
// recorded in INTERPRETATIONS.md under a stable ID (I-001, ...), and data rows
// that depend on a reading list those IDs in their Interpretations field. The
// readings that real devices may take differently are configurable through
// Options: Resolve(Options) returns a Document with the overrides applied;
// the package-level functions return the tables under DefaultOptions.
//
// Spec time: every time.Duration in this package is "spec time", the
// duration the seed states (a 60 s response timeout is 60*time.Second). The
// harness converts spec time to wall time with its profile's clock; this
// package never sleeps and never reads a clock.
//
// Every function returns fresh copies: callers may modify what they get
// without affecting other callers.
package spec
