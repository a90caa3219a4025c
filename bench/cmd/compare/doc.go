// Command compare measures the edge beside a bare fasthttp server in one run, on loopback: the same
// load (package loadtest/gen) against each, each server's CPU time read from /proc, so the result is
// a ratio that the machine's noise touches alike. The edge produces to a development broker in its
// own process, whose CPU time is reported apart. The events are real ones by default (-events: the
// 958-byte revision-create, the navigationtiming beacon, every real example), the edge on the real
// schema repositories and production stream config of -data (../shared/data).
//
// With -sweep it instead restarts the edge for each combination of --kafka-shards and
// --kafka-clients and reports events/s per server core and p99, and the combination to use.
//
// Run it through make: `make bench-compare`, `make bench-shards` (they build bin/ first).
//
// It imports loadtest/gen (the load) and runs bin/intake and bin/baseline as processes: no other
// package of the project.
package main
