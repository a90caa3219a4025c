// Package client is the Go producer library for intake (and any EventGate-compatible edge): Send
// posts events and waits for the edge's per-event verdicts; Enqueue hands events to a bounded
// background queue (optionally an on-disk spool) that batches, gzips and posts them, retrying
// only what the edge could not take. Every event gets a meta.id (UUID v4) before its first
// attempt, so a retried event can be deduplicated downstream. Events are sampled by the stream
// configuration the edge serves at GET /v1/streams, as Wikimedia's Metrics Platform clients
// sample; developer mode sends events out of sample too, says why any other is not sent, and
// surfaces the edge's full verdicts.
//
// Data flow: Enqueue -> prepare (marshal, meta.id, defaults) -> sample (or, before the stream
// configuration is loaded, the sender samples) -> queue (memory or spool) -> sender goroutine ->
// POST /v1/events (sync, acknowledged) -> results, callbacks, Stats.
//
// It is a module of its own (intake.dev/intake/client) and imports only the standard library, so
// that producers can depend on it alone; it imports no other package of the project, and neither
// do its tests. Its tests against a real edge live in the main module's test/client.
package client
