// Package edge is intake's HTTP server (fasthttp): routing, limits, body decoding, the per-request
// loop that hands each event to fastpath and each accepted event to kafkaout, waiting for Kafka's
// acknowledgements on sync requests, and the EventGate-shaped responses. It holds no event logic.
//
// Borrowed memory: a fasthttp request body dies when the handler returns, and so do the fastjson
// values parsed from it; everything handed to kafkaout is copied by TryProduce.
//
// It imports fastpath, schemacache and kafkaout.
package edge
