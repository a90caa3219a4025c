// Package edge is intake's HTTP server (fasthttp): routing, limits, body decoding, the per-request
// loop that hands each event to fastpath and each accepted event to kafkaout, waiting for Kafka's
// acknowledgements on sync requests, and the EventGate-shaped responses. It holds no event logic.
// Its access layer (access.go) wires in the pure libraries beside it: edge/auth (who the caller is
// and which streams it may write), edge/cors (browser origins), edge/ratelimit (token buckets) and
// edge/clientip (the client address behind trusted proxies: for rate limits and http.client_ip).
//
// Borrowed memory: a fasthttp request body dies when the handler returns, and so do the fastjson
// values parsed from it; everything handed to kafkaout is copied by TryProduce.
//
// It imports fastpath, schemacache, kafkaout, edge/auth, edge/cors, edge/ratelimit, edge/clientip,
// edge/internal/httpval and internal/configerr; its tests also internal/edgetest.
package edge
