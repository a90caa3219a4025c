# intake's build. Go 1.27 is pinned in go.mod; GOTOOLCHAIN=auto lets an older local Go fetch it
# through the module proxy.
export GOTOOLCHAIN := auto

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build run test test-race conformance bench bench-check bench-check-allocs bench-compare bench-shards loadtest lint fmt fuzz clean

all: build

## build: compile bin/intake
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/intake ./cmd/intake

## run: build and serve the example config on 127.0.0.1:8192 with the embedded broker
run: build
	./bin/intake serve --config examples/config.yaml

## test: every test, then the concurrent packages again under the race detector
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race ./fastpath/ ./kafkaout/ ./schemacache/ ./edge/

## conformance: the JSON-Schema-Test-Suite (shipped in the kaptinlin module) against the compiled
## validator, one line per draft; exceptions are listed in fastpath/testdata/conformance-exceptions.txt
conformance:
	cd fastpath && $(GO) test -count=1 -run '^TestConformance$$'

## bench: the stage benchmarks (bench/), one screen: ns/event, events/s per core, allocs/event against
## bench/budget (README "Benchmarks"); BENCHTIME=3s for steadier numbers
bench:
	$(GO) run ./bench/cmd/benchcheck -no-fail -benchtime $(or $(BENCHTIME),1s)

## bench-check: the same, failing when allocs/event or ns/event (beyond its tolerance) break bench/budget
bench-check:
	$(GO) run ./bench/cmd/benchcheck -benchtime $(or $(BENCHTIME),1s)

## bench-check-allocs: allocations only, no baselines (CI: timing on shared machines is noise); ~15s
bench-check-allocs:
	$(GO) run ./bench/cmd/benchcheck -allocs-only -benchtime 200ms

## loadtest: build the load generator bin/intake-loadtest (go run ./loadtest --help; README "Load tests")
loadtest:
	$(GO) build -o bin/intake-loadtest ./loadtest

## bench-compare: the edge (broker in its own process) beside a bare fasthttp server, same load, CPU from /proc
bench-compare: build
	$(GO) build -o bin/baseline ./bench/baseline
	$(GO) run ./bench/compare -duration $(or $(DURATION),10s)

## bench-shards: sweep --kafka-shards x --kafka-clients: events/s per core and p99, and the best pair
bench-shards: build
	$(GO) run ./bench/compare -sweep -duration $(or $(DURATION),5s)

## lint: go vet and gofmt
lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

## fmt: format the code
fmt:
	gofmt -w $$(git ls-files '*.go')

## fuzz: fuzz the edge's body handling, then the compiled validator against kaptinlin, a minute each
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzEvents -fuzztime 60s ./edge/
	$(GO) test -run '^$$' -fuzz FuzzCompiledAgreesWithKaptinlin -fuzztime 60s ./schemacache/

clean:
	rm -rf bin
