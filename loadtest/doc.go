// Command intake-loadtest drives a running intake edge with generated traffic and reports
// requests/s, events/s, status counts and latency percentiles (go run ./loadtest --help). The
// generator itself lives in loadtest/gen; this package only parses the command line and prints.
//
// It imports loadtest/gen and no other package of the project: it talks to the edge over HTTP only.
package main
