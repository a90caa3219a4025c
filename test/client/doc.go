// Package client holds the tests and benchmarks of the Go client (intake.dev/intake/client, a
// module of its own) that need a real edge: an edge of this process (internal/edgetest) producing
// to the embedded broker, read back from Kafka with franz-go. The client's unit tests stay in its
// module, on the standard library alone; these cannot, since they import the server's packages,
// which the client's go.mod must not require for every producer that uses it. This module gets the
// client through a replace directive to ./client.
//
// The package has only tests. It imports the client and internal/edgetest.
package client
