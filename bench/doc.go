// Package bench holds the Go benchmarks for each stage of an event's trip through intake and end
// to end, with the per-core budgets they must hold and baselines measured in the same run.
//
// It may import every package of the project.
package bench
