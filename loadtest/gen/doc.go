// Package gen is intake's load generator: it prebuilds request bodies from real example events,
// drives an edge over HTTP with the fasthttp client in a closed loop (N connections) or an open
// loop (a fixed arrival rate, latency measured from each request's intended send time, so no
// coordinated omission), and reports throughput, status counts and HDR-histogram latencies.
//
// It imports no package of the project: it talks to the edge over HTTP only.
package gen
