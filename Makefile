# intake's build. Go 1.27 is pinned in go.mod; GOTOOLCHAIN=auto lets an older local Go fetch it
# through the module proxy.
export GOTOOLCHAIN := auto

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Evaluated once: the binary and the image's label must agree even if HEAD moves during a build.
VERSION := $(VERSION)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build run test test-go test-js test-python bench-python test-java bench-java test-alerts test-monitoring schema-reference conformance bench bench-check bench-check-allocs bench-compare bench-shards bench-client loadtest lint fmt fuzz clean \
        kafka-up kafka-down kafka-status test-kafka test-kafka-secure test-faults test-fleet \
        image test-image test-deploy

all: build

## build: compile bin/intake
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/intake ./cmd/intake

## run: build and serve the example config on 127.0.0.1:8192 with the embedded broker
run: build
	./bin/intake serve --config examples/config.yaml

## test: every Go test, then the concurrent packages again under the race detector; then the
## deployment kit (test-deploy: image, Helm chart, systemd unit); then the browser client's tests
## (test-js), the JVM client's (test-java), the Python client's (test-python); then the Prometheus
## alert rules (test-alerts)
test: test-go test-deploy test-js test-java test-python test-alerts

## test-go: vet, every Go test (the Go client's against a real edge, test/client, among them), then
## the concurrent packages again under the race detector; then the same for the Go client's own
## module (client/: its unit tests, standard library only)
test-go:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race ./fastpath/ ./kafkaout/ ./schemacache/ ./spool/ ./edge/... ./test/client/
	cd client && $(GO) vet ./... && $(GO) test -count=1 ./... && $(GO) test -count=1 -race ./...

## test-js: the browser client (client/js): npm ci from the lockfile, build, size budget, unit
## tests, then the tests in a headless Chromium (Debian's, installed by
## scripts/browser/ensure-chromium.sh when missing) against a running edge built from this tree
test-js: build
	bash scripts/browser/ensure-chromium.sh
	cd client/js && npm ci --no-audit --no-fund && INTAKE_BIN=$(CURDIR)/bin/intake npm test

## test-java: the JVM client (client/java, Java 17): mvn verify, JUnit 5 from Maven Central through its
## pom; the tests start bin/intake (built first) on free ports and read events back with intake tail;
## bin/spoolhandover (the Go client's side of the spool hand-over test) is built first too
test-java: build
	cd client/java/src/test/go/spoolhandover && $(GO) build -o $(CURDIR)/bin/spoolhandover .
	cd client/java && mvn -q -B verify -Dintake.bin=$(CURDIR)/bin/intake -Dspoolhandover.bin=$(CURDIR)/bin/spoolhandover
	@cat client/java/target/surefire-reports/*.txt | grep -h '^Tests run'

## bench-java: events/s through the JVM client to a local edge (its own process, broker apart)
## beside a bare java.net.http.HttpClient loop posting the same bodies; DURATION=10s per run
bench-java: build
	cd client/java && mvn -q -B -DskipTests test-compile
	cd client/java && java -cp target/classes:target/test-classes dev.intake.client.Bench --intake $(CURDIR)/bin/intake --seconds $(or $(DURATION:s=),10)

## image: the container image (README "Deploy"), built without a container engine or a base image:
## the static binary (CGO_ENABLED=0) and the build machine's CA bundle on an empty base, by
## deploy/tools/imagebuild (go-containerregistry); writes the OCI layout bin/image/oci and its tar
## bin/image/intake-oci.tar (podman load -i ...). IMAGE_ARCH (default: this machine's GOARCH)
IMAGE_ARCH   ?= $(shell $(GO) env GOARCH)
IMAGE_SOURCE ?= $(shell git remote get-url origin 2>/dev/null || echo https://intake.dev/intake)
image:
	@set -e; rev=$$(git rev-parse HEAD); epoch=$$(git log -1 --format=%ct $$rev); set -x; \
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/linux-$(IMAGE_ARCH)/intake ./cmd/intake; \
	cd deploy/tools && SOURCE_DATE_EPOCH=$$epoch $(GO) run ./imagebuild \
		-binary $(CURDIR)/bin/linux-$(IMAGE_ARCH)/intake -arch $(IMAGE_ARCH) -ca-file /etc/ssl/certs/ca-certificates.crt \
		-version $(VERSION) -revision $$rev -source $(IMAGE_SOURCE) -out $(CURDIR)/bin/image

## test-image: make image, then the image's config and contents read back from its OCI layout, and,
## where podman runs (scripts/deploy/ensure-podman.sh installs Debian's podman), the image started
## with the embedded broker and the examples mounted, answering 201 to an event
test-image: image
	bash scripts/deploy/ensure-podman.sh
	cd deploy/tools && INTAKE_IMAGE_DIR=$(CURDIR)/bin/image $(GO) test -count=1 -run 'Image' ./imagebuild/

## test-deploy: test-image; the Helm chart rendered offline with Helm's Go library for several
## values, every document decoded strictly into the Kubernetes API types, helm lint --strict, and
## bin/intake started on the config the chart renders; the systemd unit checked (systemd-analyze
## verify and security where it exists)
test-deploy: test-image build
	cd deploy/tools && $(GO) vet ./... && INTAKE_BIN=$(CURDIR)/bin/intake $(GO) test -count=1 ./helmcheck/ ./systemdcheck/

## test-python: the Python client (client/python): a venv in .cache/python-venv (pip installs
## pytest, mypy and the client from client/python; again only when its files change), mypy
## --strict, then pytest against a running edge built from this tree (scripts/python/test.sh)
test-python: build
	INTAKE_BIN=$(CURDIR)/bin/intake bash scripts/python/test.sh

## bench-python: events/s through the Python client to a local edge (bin/intake serve, broker apart)
## beside a bare http.client loop posting the same bodies (client/python/tests/bench_throughput.py);
## DURATION=3 seconds per case and round, ROUNDS=3
bench-python: build
	bash scripts/python/venv.sh
	INTAKE_BIN=$(CURDIR)/bin/intake .cache/python-venv/bin/python client/python/tests/bench_throughput.py --seconds $(or $(DURATION),3) --rounds $(or $(ROUNDS),3)

## test-alerts: promtool check rules and promtool test rules over deploy/prometheus (the alert
## rules, data quality and operations, and their unit tests); promtool comes from Debian's prometheus package, installed by
## scripts/prometheus/install.sh when missing
test-alerts:
	bash scripts/prometheus/install.sh
	promtool check rules deploy/prometheus/intake-alerts.yaml deploy/prometheus/intake-operations.yaml
	cd deploy/prometheus && promtool test rules intake-alerts.test.yaml intake-operations.test.yaml

## test-monitoring: Prometheus (Debian's, installed like promtool) scraping two edges under load:
## every dashboard expression returns data, and IntakeKafkaUnreachable fires with the broker
## stopped and clears once it is back (about a minute)
test-monitoring: build
	bash scripts/prometheus/install.sh
	INTAKE_MONITORING_TEST=1 $(GO) test -count=1 -timeout 5m -v -run TestDashboardAndAlertsWithPrometheus ./test/monitoring/

## schema-reference: Wikimedia's jsonschema-tools 1.3.0 (the reference of intake schema test) on a schema
## repository, as its CI runs it: make schema-reference DIR=../shared/data/schema-repositories/primary;
## MAP='URI=DIR' maps a base URI of its .jsonschema-tools.yaml to a directory (secondary:
## MAP=https://schema.wikimedia.org/repositories/primary/jsonschema/=../shared/data/schema-repositories/primary/jsonschema).
## One JSON verdict per test case on stdout, the counts on stderr. npm installs the tools into
## .cache/schema-reference on first use (scripts/schema/reference.sh); make test runs it through
## internal/schemamut (the real repositories' counts, the mutation corpus)
schema-reference:
	@test -n "$(DIR)" || { echo "make schema-reference DIR=<schema repository> [MAP=URI=DIR]"; exit 2; }
	@bash scripts/schema/reference.sh run $(if $(MAP),--map '$(MAP)') $(DIR) 2>$(or $(LOG),/dev/stderr)

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

## bench-compare: the edge (broker in its own process) beside a bare fasthttp server, same load, CPU from /proc;
## real events on the production stream config by default (EVENTS=revision-create,navigationtiming,mix,click);
## PROFILE=dir: a CPU profile of the edge per run, read with scripts/bench/stages.sh dir/*.pprof;
## CONNECTIONS=32,64,...: each workload at each count; OPEN_LOOP=0.05,0.5: after each workload, both
## servers open loop at those fractions of the edge's peak (latency at a load); the edge's Kafka
## produce requests/s, records per request and the broker's CPU per event beside each edge row
bench-compare: build
	$(GO) build -o bin/baseline ./bench/cmd/baseline
	$(GO) run ./bench/cmd/compare -duration $(or $(DURATION),10s) -edge-args "$(EDGE_ARGS)" -workloads "$(WORKLOADS)" $(if $(EVENTS),-events "$(EVENTS)") $(if $(PROFILE),-profile "$(PROFILE)") $(if $(CONNECTIONS),-connections "$(CONNECTIONS)") $(if $(OPEN_LOOP),-open-loop "$(OPEN_LOOP)")

## bench-client: the Go client's own work per event (client/: BenchmarkPrepare), then its
## throughput against a real edge in the test process (test/client: events/s for Enqueue of small
## events, one and four senders, gzip, spool; Send of 100-event batches beside bare net/http posting
## the same bodies); BENCHTIME=3s
bench-client:
	cd client && $(GO) test -run '^$$' -bench . -benchtime $(or $(BENCHTIME),3s) ./
	$(GO) test -run '^$$' -bench . -benchtime $(or $(BENCHTIME),3s) ./test/client/

## bench-shards: sweep --kafka-shards x --kafka-clients: events/s per core and p99, and the best pair
bench-shards: build
	$(GO) run ./bench/cmd/compare -sweep -duration $(or $(DURATION),5s) -edge-args "$(EDGE_ARGS)"

## lint: gofmt, go vet and staticcheck (STATICCHECK_VERSION, run through the module proxy with go run:
## nothing to install) over every Go module of the tree; clean, or it fails
STATICCHECK_VERSION ?= v0.8.2
GO_MODULES := $(dir $(shell git ls-files 'go.mod' '*/go.mod'))
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt wants:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@set -e; for m in $(GO_MODULES); do \
		echo "== go vet, staticcheck $(STATICCHECK_VERSION): $$m"; \
		(cd $$m && $(GO) vet ./... && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...); \
	done

## fmt: format the code
fmt:
	gofmt -w $$(git ls-files '*.go')

## fuzz: every fuzz target (each func Fuzz... of a _test.go: the edge's bodies and raw requests, the
## compiled validator against kaptinlin, ...) for FUZZTIME each (60s): make fuzz FUZZTIME=10s.
## Minimizing a new input is capped at 5s (Go's 60s left the edge's targets minimizing most of a run).
FUZZTIME ?= 60s
fuzz:
	@set -e; for f in $$(find . -name '*_test.go' -not -path './.*' | xargs grep -l '^func Fuzz' | sort); do \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$t in $$(dirname $$f), $(FUZZTIME)"; \
			(cd $$(dirname $$f) && $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s .); \
		done; \
	done

clean:
	rm -rf bin

## kafka-up: a real Kafka (jars from Maven Central, cached in .cache/kafka) on 127.0.0.1:9092, or
## reuse the running one; KAFKA_BROKERS=3 for a 3-node cluster (9092-9094), KAFKA_PARTITIONS (3);
## prints the bootstrap list. More: scripts/kafka/kafka.sh --help
kafka-up:
	@bash scripts/kafka/kafka.sh up

## kafka-down: stop the Kafka nodes and delete their data (the jars stay)
kafka-down:
	@bash scripts/kafka/kafka.sh down

## kafka-status: one line per Kafka node; fails when a node is not running
kafka-status:
	@bash scripts/kafka/kafka.sh status

## test-kafka: the real-Kafka suite (test/kafka: bytes, keys and partitions against Kafka's
## Java client, every codec, sync and hasty, error events; and the 395 real examples through the
## edge) against the running cluster, or a fresh one-node cluster when none runs
test-kafka:
	@bash scripts/kafka/kafka.sh status >/dev/null 2>&1 || bash scripts/kafka/kafka.sh up >/dev/null
	INTAKE_KAFKA_BROKERS=$$(bash scripts/kafka/kafka.sh bootstrap) $(GO) test -count=1 -timeout 10m -run '^TestKafka' -v ./test/kafka/
	INTAKE_KAFKA_BROKERS=$$(bash scripts/kafka/kafka.sh bootstrap) $(GO) test -count=1 -run '^TestRealExampleEventsArriveUnchanged$$' ./edge/

## test-kafka-secure: TLS and SASL against Apache Kafka, on a one-node cluster of its own (kafka.sh's
## KAFKA_SECURE=1 in .cache/kafka/secure-run; PLAINTEXT 29092, SASL_SSL 29192, controller 29093: kafka-up's
## cluster is left alone): TestKafkaSASLOverTLS (PLAIN and both SCRAMs, a wrong password, an untrusted
## certificate), then that node stopped and its data deleted, whatever the outcome; about 30s
test-kafka-secure:
	@export KAFKA_RUN_DIR=$(CURDIR)/.cache/kafka/secure-run KAFKA_SECURE=1 KAFKA_PORT=29092 KAFKA_CONTROLLER_PORT=29093; \
	trap 'bash scripts/kafka/kafka.sh down' EXIT; trap 'exit 130' INT TERM; \
	bash scripts/kafka/kafka.sh up >/dev/null && \
	INTAKE_KAFKA_SECURE_BROKERS=$$(bash scripts/kafka/kafka.sh secure-bootstrap) \
	INTAKE_KAFKA_SECURE_CA=$$(bash scripts/kafka/kafka.sh ca-file) \
		$(GO) test -count=1 -timeout 10m -run '^TestKafkaSASLOverTLS$$' -v ./test/kafka/

## test-faults: the fault scenarios on a three-node cluster (started, or reused, by kafka.sh up):
## a leader killed, every broker down 30 s, the edge SIGTERMed, the schema repository gone, every
## broker paused, every broker down 30 s with a spool, the edge SIGKILLed in that outage and
## restarted on its spool, a full spool, a damaged spool; each prints accepted/found/lost/duplicated
## (lost must be 0)
test-faults:
	KAFKA_BROKERS=3 bash scripts/kafka/kafka.sh up >/dev/null
	@rm -f .cache/faults-report.txt
	INTAKE_FAULTS_REPORT=$(CURDIR)/.cache/faults-report.txt INTAKE_KAFKA_BROKERS=$$(bash scripts/kafka/kafka.sh bootstrap) \
		$(GO) test -count=1 -timeout 15m -run '^TestFault' -v ./test/kafka/
	@echo; echo "fault scenarios:"; cat .cache/faults-report.txt

## test-fleet: three edges (bin/intake serve processes) behind HAProxy (Debian's, installed by
## scripts/haproxy/install.sh when missing) on the three-node cluster (started, or reused, by
## kafka.sh up), loaded through HAProxy by the Go client; one edge SIGKILLed mid-load and started
## again on its port. Prints accepted/found/lost/duplicated (lost must be 0), the time HAProxy took
## to mark it DOWN and UP again, and the requests each edge served (README "Scale out"); about 30s
test-fleet:
	bash scripts/haproxy/install.sh
	KAFKA_BROKERS=3 bash scripts/kafka/kafka.sh up >/dev/null
	@rm -f .cache/fleet-report.txt
	INTAKE_FLEET_REPORT=$(CURDIR)/.cache/fleet-report.txt INTAKE_KAFKA_BROKERS=$$(bash scripts/kafka/kafka.sh bootstrap) \
		$(GO) test -count=1 -timeout 5m -run '^TestFleet' -v ./test/fleet/
	@echo; echo "fleet:"; cat .cache/fleet-report.txt
