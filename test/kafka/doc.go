// Package kafka holds the tests that need a real Apache Kafka: the integration suite (make
// test-kafka: the intake binary producing to the cluster, read back with franz-go and checked
// against Kafka's own Java tools) and the fault scenarios (make test-faults: brokers killed,
// stopped, paused, the edge stopped, the schema repository gone, an outage ridden out on the
// edge's spool and the edge killed during it, under load from loadtest/gen, proving that no
// acknowledged event is lost).
//
// The cluster comes from scripts/kafka/kafka.sh (make kafka-up); the tests find it through
// INTAKE_KAFKA_BROKERS and skip without it, so `go test ./...` passes on a machine without Java.
// The package has only tests. It imports loadtest/gen (the load) and internal/edgetest for the
// helpers the project's tests share (JSON fields, logs), never its in-process edge: it drives the
// edge as users do, over HTTP, as the intake binary (built once per run).
package kafka
