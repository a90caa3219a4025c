// Package loadtest drives a running edge with generated traffic (rates, mixes, batch sizes) and
// reports latency percentiles; it also holds the fault scenarios run against a real Kafka.
//
// It imports no package of the project: it talks to the edge over HTTP only.
package loadtest
