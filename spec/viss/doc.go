// Package vissspec is the VISS part of the written specification as data:
// the two dialects icoc judges, each a core seed with its transport
// companion (register I-260, I-261):
//
//   - gen2: seed 001 (W3C VISS Gen2 CORE, 2020 editor's draft) with the
//     Gen2 TRANSPORT of the same commit;
//   - v3: seed 002 (COVESA VISSv3.0 CORE, release candidate 0) with the
//     v3.0 TRANSPORT and the bundled v3.0 JSON Schema; Options.Revision
//     "published" applies the changes of the published v3.0.
//
// Each dialect's tables live in data/<dialect>.yaml (message types and
// fields, the transport's error table, the common error scenarios, the
// situations a suite provokes with the errors a conformant server may
// answer, filter variants and operators, invalid filter forms, the
// timestamp format, access-control rules, Server-tree feature names) and
// its JSON Schema in schema/ (the v3.0 companion repaired, I-284, and a
// Gen2 schema transcribed from the Gen2 TRANSPORT, I-285). seed_test.go
// checks every row against the document text.
//
// The reference VISS server (simulator/viss) and the harness's VISS client
// and cases read this package; nothing else hard-codes a VISS error code, a
// filter operator or a subprotocol. Readings are in ../INTERPRETATIONS.md
// (I-260 to I-319). Every function returns fresh copies.
package vissspec
