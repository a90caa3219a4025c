"""Events: new_event, new_id, and prepare (meta.id, defaults, dt) into a record."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from json.encoder import c_make_encoder, c_encode_basestring  # type: ignore[attr-defined]
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

from ._result import EventTooLargeError, NotObjectError
from ._sampling import Units

Event = Union[Mapping[str, Any], bytes, bytearray, str]


def new_id() -> str:
    """A random (version 4) UUID from os.urandom, the form of meta.id."""
    h = bytearray(os.urandom(16))
    h[6] = h[6] & 0x0F | 0x40
    h[8] = h[8] & 0x3F | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def new_unit_id() -> str:
    """20 random hex digits: the default session, pageview and device ids."""
    return os.urandom(10).hex()


def format_dt(t: float) -> str:
    """RFC 3339, UTC, milliseconds, as intake and EventGate write dt."""
    ms = int(t * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def new_event(stream: str, schema_uri: str, fields: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """A new event of stream with schema schema_uri: a copy of fields (not modified, nor its meta)
    with $schema and meta.stream set, and dt set to now unless fields has one."""
    ev: Dict[str, Any] = dict(fields or {})
    ev["$schema"] = schema_uri
    meta = dict(ev["meta"]) if isinstance(ev.get("meta"), Mapping) else {}
    meta["stream"] = stream
    ev["meta"] = meta
    ev.setdefault("dt", format_dt(time.time()))
    return ev


@dataclass
class UnitEvent:
    """An event with the sampling unit ids of the user it is about (backends producing for many
    users): pass it to send or enqueue in place of the event. Empty ids fall back to the client's."""

    event: Event
    units: Units


@dataclass(slots=True)
class Record:
    """A prepared event: its JSON (with meta.id) and what the client needs to know of it."""

    id: str
    stream: str
    raw: bytes
    units: Optional[Units] = None  # enqueued before the stream configuration was loaded


def _not_json(o: Any) -> Any:
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_c_encode: Optional[Callable[[Any, int], Sequence[str]]] = None
if c_make_encoder is not None and c_encode_basestring is not None:
    # One C encoder for every event: json.dumps makes one per call, which costs a third of it.
    # No circular-reference markers: a cycle ends in RecursionError, caught by prepare.
    _c_encode = c_make_encoder(None, _not_json, c_encode_basestring, None, ":", ",", False, False, True)


def _dumps(obj: Any) -> bytes:
    if _c_encode is not None:
        return "".join(_c_encode(obj, 0)).encode()
    return _encoder.encode(obj).encode()


def prepare(
    event: Union[Event, UnitEvent],
    max_bytes: int,
    default_stream: str,
    default_schema: str,
    fill_dt: bool,
    now: float,
) -> Tuple[Record, Optional[Units]]:
    """The event's JSON with meta.id (set when absent, before any attempt), the defaults and dt,
    without touching the caller's value; and a UnitEvent's units."""
    units: Optional[Units] = None
    ev_in: Event
    if isinstance(event, UnitEvent):
        ev_in, units = event.event, event.units
    else:
        ev_in = event
    obj: Any
    if isinstance(ev_in, (bytes, bytearray, str)):
        if len(ev_in) > max_bytes:
            raise EventTooLargeError(f"intake client: event too large: {len(ev_in)} bytes, more than {max_bytes} (max_event_bytes)")
        try:
            obj = json.loads(ev_in)
        except ValueError as e:
            raise NotObjectError(f"intake client: the event is not valid JSON: {e}") from None
    else:
        obj = ev_in
    # Fast path: a dict (isinstance against Mapping is slow).
    if type(obj) is not dict and not isinstance(obj, Mapping):
        raise NotObjectError(f"intake client: an event must be a JSON object, not {type(obj).__name__}")
    ev = dict(obj)
    meta = ev.get("meta")
    id_ = ""
    stream = ""
    if meta is None and "meta" not in ev:
        id_ = new_id()
        meta = {"id": id_}
        if default_stream:
            meta["stream"] = stream = default_stream
        ev["meta"] = meta
    elif type(meta) is dict or isinstance(meta, Mapping):
        meta = dict(meta)
        if "id" not in meta:
            meta["id"] = new_id()
        if "stream" not in meta and default_stream:
            meta["stream"] = default_stream
        id_ = meta["id"] if isinstance(meta["id"], str) else ""
        stream = meta.get("stream") if isinstance(meta.get("stream"), str) else ""  # type: ignore[assignment]
        ev["meta"] = meta
    # else: meta is not an object; the edge says so, and there is no id to give it.
    if default_schema and "$schema" not in ev:
        ev["$schema"] = default_schema
    if fill_dt and "dt" not in ev:
        ev["dt"] = format_dt(now)
    try:
        raw = _dumps(ev)
    except (TypeError, ValueError, RecursionError) as e:
        raise NotObjectError(f"intake client: cannot encode the event as JSON: {e}") from None
    if len(raw) > max_bytes:
        raise EventTooLargeError(f"intake client: event too large: {len(raw)} bytes, more than {max_bytes} (max_event_bytes)")
    return Record(id_, stream, raw), units
