"""intake_client: the Python producer library for intake (or any EventGate-compatible edge).

Client.send posts events and returns the edge's verdict on each; Client.enqueue queues one for
background threads that post batches (count, bytes, interval), gzipped, retried with backoff and
full jitter honouring Retry-After; with spool_dir the queue is on disk and survives a killed
process. Events are sampled by the stream configuration the edge serves (GET /v1/streams), by the
rule the Go and browser clients share. AsyncClient (intake_client.aio) is the asyncio face.
Standard library only.
"""

from ._client import Client, __version__, parse_retry_after
from ._event import Event, UnitEvent, format_dt, new_event, new_id
from ._result import (
    ClosedError,
    EventTooLargeError,
    HTTPError,
    IntakeError,
    InvalidEventError,
    NoStreamConfigError,
    NotObjectError,
    QueueFullError,
    Result,
    SampleConfigError,
    SendError,
    Stats,
    Status,
    StreamNotConfiguredError,
    check,
)
from ._sampling import StreamConfig, Units, in_sample
from .aio import AsyncClient

__all__ = [
    "AsyncClient",
    "Client",
    "ClosedError",
    "Event",
    "EventTooLargeError",
    "HTTPError",
    "IntakeError",
    "InvalidEventError",
    "NoStreamConfigError",
    "NotObjectError",
    "QueueFullError",
    "Result",
    "SampleConfigError",
    "SendError",
    "Stats",
    "Status",
    "StreamConfig",
    "StreamNotConfiguredError",
    "UnitEvent",
    "Units",
    "__version__",
    "check",
    "format_dt",
    "in_sample",
    "new_event",
    "new_id",
    "parse_retry_after",
]
