// Package fleet holds make test-fleet: intake scaled out, as an operator runs it. Three edges
// (the intake binary, real processes) on the three-node Kafka of scripts/kafka/kafka.sh, behind
// HAProxy (Debian's package, installed by scripts/haproxy/install.sh) with health checks on
// /readyz; the Go client (client/, which batches and retries) loads them through HAProxy while one
// edge is SIGKILLed and started again on its port. The topics are then read back: every event the
// client was told was accepted is in Kafka (lost = 0, duplicates counted), HAProxy took the dead
// edge out within its check interval and put it back once it was ready again.
//
// The tests find the cluster through INTAKE_KAFKA_BROKERS and skip without it, so `go test ./...`
// passes on a machine without Java or HAProxy. The package has only tests; it imports the Go
// client, franz-go (to read the topics back) and internal/edgetest (logs), and drives the edges
// as users do, over HTTP, as the intake binary (built once per run).
package fleet
