// Command example sends events to an intake edge with the Go client: n events through Enqueue
// (background batches, retries) and one acknowledged Send, then prints the results and the
// client's counters.
//
//	make run    # an edge on 127.0.0.1:8192, in another terminal
//	go run intake.dev/intake/client/example -n 1000    # from the repository's root
//	cd client && go run ./example -n 1000               # or in the client's own module
//
// It imports the client (intake.dev/intake/client) and nothing else of the project.
package main
