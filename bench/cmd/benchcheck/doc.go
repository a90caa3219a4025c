// Command benchcheck runs intake's stage benchmarks (package bench) and holds them to the per-core
// budget in bench/budget: it prints one screen, stage by stage, with ns/event (CPU time per event),
// the events/s one core gives at that cost, allocs/event, the budget and the verdict, and exits 1
// when allocs/event exceed a ceiling (exact, at two decimals) or ns/event exceeds one by more than
// its tolerance.
//
//	go run ./bench/cmd/benchcheck                      # run and check everything (make bench-check)
//	go run ./bench/cmd/benchcheck -no-fail             # the same, exit 0 whatever (make bench)
//	go run ./bench/cmd/benchcheck -allocs-only -benchtime 200ms   # CI: allocations only
//	go test -run '^$' -bench . ./bench/ | go run ./bench/cmd/benchcheck -in -
//
// Exit status: 0 when every budget line holds (or -no-fail), 1 when one does not, 2 when the
// benchmarks could not run or the budget file is malformed.
//
// It imports package bench (the budget and the results parser) and no other package of the project.
package main
