package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Version is this library's version, sent in the User-Agent header.
const Version = "0.1.0"

var (
	// ErrQueueFull is returned by Enqueue when the queue (WithQueue) or the spool
	// (WithSpoolLimits) is full: the event is not queued. Counted in Stats.DroppedFull.
	ErrQueueFull = errors.New("intake client: queue full; the event was not queued (WithQueue, WithSpoolLimits)")
	// ErrClosed is returned by Enqueue, Send and Flush after Close.
	ErrClosed = errors.New("intake client: closed")
	// ErrEventTooLarge is returned for an event bigger than WithMaxEventBytes.
	ErrEventTooLarge = errors.New("intake client: event too large (WithMaxEventBytes)")
	// ErrNotObject is returned for an event that is not a JSON object.
	ErrNotObject = errors.New("intake client: an event must be a JSON object")
	// ErrNoStreamConfig is wrapped, with the fetch's error, in the Err of a StatusFailed event
	// not sent because the stream configuration, needed to sample it, could not be fetched.
	ErrNoStreamConfig = errors.New("intake client: no stream configuration to sample by (GET /v1/streams; WithStreamConfigRefresh(-1) sends every event unsampled)")
)

// Status is what became of one event.
type Status uint8

const (
	// StatusAccepted: the edge answered that Kafka acknowledged the event.
	StatusAccepted Status = iota + 1
	// StatusInvalid: the edge rejected the event (its stream, schema or content; or it is too
	// large on its own). Sending it again would not help: it is never retried. Result.Errors and
	// Result.Err say why.
	StatusInvalid
	// StatusFailed: the event was not acknowledged: retries ran out (WithRetry), the context
	// ended, or the edge refused the request for a reason retrying cannot fix (401, 415, ...).
	// It may still have reached Kafka (an answer lost on the way); its meta.id tells. Also an
	// event never sent because the stream configuration could not be fetched (ErrNoStreamConfig).
	StatusFailed
	// StatusSampledOut: not sent, by the stream configuration: out of the stream's sample (Err
	// nil), its sample setting invalid (a *SampleConfigError), or the stream not in the
	// configuration (a *StreamNotConfiguredError).
	StatusSampledOut
)

func (s Status) String() string {
	switch s {
	case StatusAccepted:
		return "accepted"
	case StatusInvalid:
		return "invalid"
	case StatusFailed:
		return "failed"
	case StatusSampledOut:
		return "sampled-out"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Result is the fate of one event.
type Result struct {
	// Index is the event's position among the arguments of Send (0 for enqueued events).
	Index int
	// ID is the event's meta.id ("" when its meta is not an object).
	ID string
	// Stream is the event's meta.stream.
	Stream string
	Status Status
	// Code is the HTTP status of the answer that decided the event; 0 when none came (sampled
	// out, connection errors).
	Code int
	// Attempts is how many requests carried the event.
	Attempts int
	// Errors are the edge's validation errors of an invalid event.
	Errors []ValidationError
	// Event is the event as the edge reported it: in developer mode the event as produced
	// (enriched, defaults filled) or as seen when invalid; otherwise the invalid event as the
	// edge saw it. Nil when the edge did not return it.
	Event json.RawMessage
	// Topic is the Kafka topic of an accepted event, in developer mode.
	Topic string
	// Err says why the event was not accepted: an *InvalidError, a *SampleConfigError, a
	// *StreamNotConfiguredError, or the last error of a failed event (an *HTTPError, a
	// connection error, a context error, ErrNoStreamConfig). Nil when accepted or sampled out by
	// its rate.
	Err error
}

// OK reports whether the event was accepted.
func (r *Result) OK() bool { return r.Status == StatusAccepted }

// ValidationError is one error the edge found in an event (Ajv's shape, as EventGate reports it).
type ValidationError struct {
	Keyword      string          `json:"keyword"`
	InstancePath string          `json:"instancePath"`
	DataPath     string          `json:"dataPath"`
	SchemaPath   string          `json:"schemaPath"`
	Params       json.RawMessage `json:"params,omitempty"`
	Message      string          `json:"message"`
}

// InvalidError is the Err of an invalid event.
type InvalidError struct {
	ID, Stream string
	Code       int    // the HTTP status of the answer
	Text       string // the edge's errorsText or message
	Errors     []ValidationError
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("intake client: event %s of stream %q is invalid (HTTP %d): %s", e.ID, e.Stream, e.Code, e.Text)
}

// HTTPError is an answer that is not a per-event verdict: a request-level error of the edge, or
// anything a proxy in front of it may answer.
type HTTPError struct {
	Code    int
	Message string // the edge's message, or the start of the body
}

func (e *HTTPError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("intake client: HTTP %d", e.Code)
	}
	return fmt.Sprintf("intake client: HTTP %d: %s", e.Code, e.Message)
}

// SampleConfigError is the Err of an event whose stream has a sample setting the client cannot
// read: a rate that is not a number in [0, 1] or a unit that is not session, pageview or device.
// Such events are not sent (a broken config must not turn a 1% sample into 100%).
type SampleConfigError struct {
	Stream string // the configured name (a /regex/ for regex streams)
	Reason string
}

func (e *SampleConfigError) Error() string {
	return fmt.Sprintf("intake client: stream %q has an invalid sample setting (%s); its events are not sent", e.Stream, e.Reason)
}

// StreamNotConfiguredError is the Err of an event whose stream is not in the stream
// configuration the edge serves (GET /v1/streams, as far as WithStreamConfigStreams asks for it),
// or whose settings there are not an object. Such events are not sent, as Wikimedia's Metrics
// Platform clients do not send them.
type StreamNotConfiguredError struct {
	Stream string // the event's meta.stream
}

func (e *StreamNotConfiguredError) Error() string {
	return fmt.Sprintf("intake client: stream %q is not in the stream configuration (GET /v1/streams); its events are not sent", e.Stream)
}

// SendError is returned by Send when some events were not accepted (and not sampled out). The
// Results say which; errors.Is and errors.As see the first invalid and the first failed event's
// errors (context.Canceled and friends included).
type SendError struct {
	Invalid, Failed, Total int
	errs                   []error
}

func (e *SendError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "intake client: %d of %d events not accepted (%d invalid, %d failed)", e.Invalid+e.Failed, e.Total, e.Invalid, e.Failed)
	for _, err := range e.errs {
		b.WriteString("; ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns the first invalid and the first failed event's errors.
func (e *SendError) Unwrap() []error { return e.errs }

// sendError summarizes results; nil when every event was accepted or sampled out.
func sendError(results []Result) error {
	e := &SendError{Total: len(results)}
	var firstInvalid, firstFailed error
	for i := range results {
		r := &results[i]
		switch r.Status {
		case StatusInvalid:
			e.Invalid++
			if firstInvalid == nil {
				firstInvalid = r.Err
			}
		case StatusFailed:
			e.Failed++
			if firstFailed == nil {
				firstFailed = r.Err
			}
		}
	}
	if e.Invalid+e.Failed == 0 {
		return nil
	}
	for _, err := range []error{firstInvalid, firstFailed} {
		if err != nil {
			e.errs = append(e.errs, err)
		}
	}
	return e
}

// Stats are the client's counters since New.
type Stats struct {
	Enqueued    int64 // events Enqueue took: queued, spooled, or (developer mode) sent at once
	Requests    int64 // POSTs made
	Sent        int64 // events carried by those POSTs, retries included
	Retried     int64 // events sent again after a retryable failure (a subset of Sent)
	Accepted    int64 // events the edge acknowledged
	Invalid     int64 // events the edge rejected as invalid (never retried)
	Failed      int64 // events given up on (retries exhausted, non-retryable answer, Close timed out)
	DroppedFull int64 // Enqueue calls that returned ErrQueueFull
	SampledOut  int64 // events not sent by sampling: their rate, SampleInvalid and NotConfigured included
	// SampleInvalid counts events not sent because their stream's sample setting is invalid.
	SampleInvalid int64
	// NotConfigured counts events not sent because their stream is not in the stream configuration.
	NotConfigured int64
	Spooled       int64 // events written to the spool
	Recovered     int64 // events found in the spool at New, left by an earlier client
	Queued        int64 // now: events queued or spooled and not yet resolved (a gauge)
}
