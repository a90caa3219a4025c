// Package edgetest runs intake's edge in a test's process, as the tests and benchmarks of the
// project need it: the schema cache over a schema directory and a stream config, a kafkaout
// producer (to a fresh embedded broker, to given brokers, or discarding), edge.Server on a
// loopback TCP listener, on an in-memory one, or on none (for handler-level tests), and a franz-go
// consumer to read what reached Kafka. Beside it are the small helpers those tests share: HTTP
// requests and their answers, JSON fields by dotted path, SyncBuffer for logs written while a test
// reads them, and the paths of the examples and of the real data beside the project.
//
// It imports edge, kafkaout, schemacache and fastpath, and only test code imports it.
//
// Because it imports edge, edge's own tests cannot be in package edge and use it (an import
// cycle): they are an external test package, edge_test, as net/http's are beside
// net/http/httptest, and reach the few internals they check (the fasthttp server's ServeConn for
// the raw-request fuzzer, an unexported counter and a limit) through edge/export_test.go, which
// is compiled into the tests only. The other way round (this package building no edge.Server and
// taking one from each caller) would keep edge's tests internal but leave every caller to wire
// edge.Config, its access layer and its ack timeout again: the copies this package removes.
package edgetest
