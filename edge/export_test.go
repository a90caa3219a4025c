package edge

import "net"

// What edge's tests (package edge_test, beside internal/edgetest, which imports edge) check of
// the package's internals. Compiled into the tests only.

// ServeConn serves one client connection with the edge's fasthttp server, as Serve does each
// connection it accepts: the raw-request fuzzer hands it bytes without a listener.
func (s *Server) ServeConn(c net.Conn) error { return s.srv.ServeConn(c) }

// ErrorEventsQueued is how many error events the edges of this process have queued so far.
func ErrorEventsQueued() uint64 { return errorEventsQueued.Get() }

// MaxRawErrorEvent is how many bytes of an event an error event quotes when it does not carry it
// whole (a refused event, one too large).
const MaxRawErrorEvent = maxRawErrorEvent

// TruncateRaw is what an error event quotes of an event it does not carry whole.
func TruncateRaw(raw []byte) []byte { return truncateRaw(raw) }

// EventsCodes are the statuses /v1/events answers, each counted under its own code.
var EventsCodes = eventsCodes
