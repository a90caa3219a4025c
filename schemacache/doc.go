// Package schemacache loads event schemas and the stream config from their sources, compiles each
// schema (kaptinlin/jsonschema, its errors worded in fastpath's Ajv 6 words for EventGate clients)
// and publishes an immutable Snapshot, which implements fastpath.Lookup, through an atomic pointer. A
// background refresher reloads both, keeping the last good version when a load fails; an unknown
// schema URI is loaded on demand, once, and never from outside the configured schema bases.
//
// It imports fastpath and internal/configerr (its ConfigError) from the project.
package schemacache
