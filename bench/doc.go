// Package bench holds the Go benchmarks for each stage of an event's trip through intake and end
// to end (the *_timing_test.go files), with the per-core budgets they must hold (the budget file)
// and baselines measured in the same run. Its non-test code parses the budget and go test's
// output and holds one against the other, for cmd/benchcheck (make bench, make bench-check).
//
// It may import every package of the project.
package bench
