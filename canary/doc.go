// Package canary builds and posts canary events: for every stream with canary_events_enabled in
// the stream config (or the streams named), an event made from the first example of the stream's
// schema (its schema_title's latest version), marked meta.domain "canary" with a fresh meta.id,
// dt and meta.dt, checked as the edge would check it, then posted synchronously to an edge's
// /v1/events. Each round reports one Result per stream and counts it in the canary metrics, so a
// dashboard or an alert can tell a stream whose pipeline is broken from one that is idle.
//
// It imports fastpath and schemacache (the stream config and schemas are loaded the way the edge
// loads them); cmd/intake's canary command wires it, serves its /metrics and handles signals.
package canary
