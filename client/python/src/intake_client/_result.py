"""What became of events: Status, Result, the errors, Stats."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


class Status(enum.Enum):
    """What became of one event."""

    #: The edge answered that Kafka acknowledged the event.
    ACCEPTED = "accepted"
    #: The edge rejected the event (stream, schema, content, size); never retried.
    INVALID = "invalid"
    #: Not acknowledged: retries ran out, or an answer no retry can change (401, 404, ...), or no
    #: stream configuration to sample by. It may still have reached Kafka; its meta.id tells.
    FAILED = "failed"
    #: Not sent, by the stream configuration: out of sample (error None), an invalid sample
    #: setting (SampleConfigError) or a stream not in the configuration (StreamNotConfiguredError).
    SAMPLED_OUT = "sampled-out"


class IntakeError(Exception):
    """Base of this library's errors."""


class QueueFullError(IntakeError):
    """enqueue: the queue (max_queue_events, max_queue_bytes) or the spool (spool_max_bytes) is full."""


class ClosedError(IntakeError):
    """enqueue, send or flush after close."""


class EventTooLargeError(IntakeError):
    """An event larger than max_event_bytes."""


class NotObjectError(IntakeError):
    """An event that is not a JSON object."""


class NoStreamConfigError(IntakeError):
    """No stream configuration to sample by (GET /v1/streams); stream_config_refresh=None sends
    every event unsampled."""


class HTTPError(IntakeError):
    """An answer that is not a per-event verdict."""

    def __init__(self, code: int, message: str = "") -> None:
        self.code = code
        self.message = message
        super().__init__(f"intake client: HTTP {code}: {message}" if message else f"intake client: HTTP {code}")


class InvalidEventError(IntakeError):
    """The error of an invalid event."""

    def __init__(self, id: str, stream: str, code: int, text: str, errors: List[Dict[str, Any]]) -> None:
        self.id, self.stream, self.code, self.text, self.errors = id, stream, code, text, errors
        super().__init__(f"intake client: event {id} of stream {stream!r} is invalid (HTTP {code}): {text}")


class SampleConfigError(IntakeError):
    """The stream's sample setting cannot be read: its events are not sent."""

    def __init__(self, stream: str, reason: str) -> None:
        self.stream, self.reason = stream, reason
        super().__init__(f"intake client: stream {stream!r} has an invalid sample setting ({reason}); its events are not sent")


class StreamNotConfiguredError(IntakeError):
    """The event's stream is not in the stream configuration: its events are not sent."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        super().__init__(
            f"intake client: stream {stream!r} is not in the stream configuration (GET /v1/streams); its events are not sent"
        )


@dataclass(slots=True)
class Result:
    """The fate of one event."""

    index: int = 0  #: position among send's arguments (0 for enqueued events)
    id: str = ""  #: meta.id
    stream: str = ""  #: meta.stream
    status: Optional[Status] = None
    code: int = 0  #: HTTP status of the deciding answer; 0 when none came
    attempts: int = 0  #: requests that carried the event
    errors: List[Dict[str, Any]] = field(default_factory=list)  #: the edge's validation errors
    event: Optional[Any] = None  #: the event as the edge reported it (developer mode, invalid events)
    topic: str = ""  #: Kafka topic of an accepted event, in developer mode
    error: Optional[BaseException] = None  #: why not accepted

    @property
    def ok(self) -> bool:
        return self.status is Status.ACCEPTED


class SendError(IntakeError):
    """Some events were not accepted (and not sampled out); results says which."""

    def __init__(self, results: List[Result]) -> None:
        self.results = results
        self.invalid = sum(1 for r in results if r.status is Status.INVALID)
        self.failed = sum(1 for r in results if r.status is Status.FAILED)
        first = [r.error for r in results if r.status in (Status.INVALID, Status.FAILED) and r.error is not None][:2]
        msg = (
            f"intake client: {self.invalid + self.failed} of {len(results)} events not accepted "
            f"({self.invalid} invalid, {self.failed} failed)"
        )
        for e in first:
            msg += "; " + str(e)
        super().__init__(msg)


def check(results: List[Result]) -> List[Result]:
    """Returns results, or raises SendError when any event was invalid or failed."""
    if any(r.status in (Status.INVALID, Status.FAILED) for r in results):
        raise SendError(results)
    return results


@dataclass
class Stats:
    """The client's counters since it was made."""

    enqueued: int = 0  #: events enqueue took
    requests: int = 0  #: POSTs made
    sent: int = 0  #: events carried by those POSTs, retries included
    retried: int = 0  #: events sent again after a retryable failure
    accepted: int = 0
    invalid: int = 0
    failed: int = 0
    dropped_full: int = 0  #: enqueue calls that raised QueueFullError
    sampled_out: int = 0  #: not sent by sampling, sample_invalid and not_configured included
    sample_invalid: int = 0
    not_configured: int = 0
    spooled: int = 0  #: events written to the spool
    recovered: int = 0  #: events found in the spool at start, left by an earlier client
    queued: int = 0  #: now: queued or spooled and not yet resolved
