"""Events: new_event, new_id, and prepare (meta.id, defaults, dt) into a record."""

from __future__ import annotations

import json
import json.scanner
import os
import time
from dataclasses import dataclass
from json.encoder import c_make_encoder, c_encode_basestring  # type: ignore[attr-defined]
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._result import EventTooLargeError, NotObjectError
from ._sampling import Units

Event = Union[Mapping[str, Any], bytes, bytearray, str]


# meta.id: UUID v4 text, made in bulk: one os.urandom call per _ID_BATCH ids, laid out by C loops
# (hex with a "-" every 4 digits, strided slice assignments and deletions), version nibble 4 and
# variant bits 10 set: 122 random bits each, as RFC 4122 asks of version 4. The ids wait in _ids
# (list.pop is atomic, so threads share it); a forked child starts with none, never its parent's.
_ID_BATCH = 256
_VARIANT = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")
_ids: List[str] = []
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ids.clear)


def new_ids(n: int) -> List[str]:
    """n random (version 4) UUIDs from one os.urandom call, the form of meta.id."""
    # Each id's 16 bytes as "xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-": 40 characters.
    out = bytearray(os.urandom(16 * n).hex("-", 2).encode() + b"-")
    out[15::40] = b"4" * n  # the version, the 13th digit
    out[20::40] = out[20::40].translate(_VARIANT)  # the variant, the 17th digit: 8, 9, a or b
    out[39::40] = b" " * n  # between ids
    del out[34::40]  # then 39 characters an id
    del out[29::39]  # 38
    del out[4::38]  # 37: "xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx "
    return out.decode("ascii").split()


def new_id() -> str:
    """A random (version 4) UUID from os.urandom, the form of meta.id."""
    try:
        return _ids.pop()
    except IndexError:
        pass
    ids = new_ids(_ID_BATCH)
    id_ = ids.pop()
    _ids.extend(ids)
    return id_


def new_unit_id() -> str:
    """20 random hex digits: the default session, pageview and device ids."""
    return os.urandom(10).hex()


_dt_last: Tuple[int, str] = (-1, "")


def format_dt(t: float) -> str:
    """RFC 3339, UTC, milliseconds, as intake and EventGate write dt."""
    global _dt_last
    ms = int(t * 1000)
    last = _dt_last
    if last[0] == ms:
        return last[1]
    dt = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)
    _dt_last = (ms, dt)
    return dt


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


_json_str: Callable[[str], str] = c_encode_basestring or json.encoder.py_encode_basestring
_scan_value: Callable[[str, int], Tuple[Any, int]] = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_JSON_WS = " \t\n\r"


class _RepeatedKey(Exception):
    pass


def _unique(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    """The object_pairs_hook of text to patch: the dict json.loads makes, unless a key repeats."""
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _RepeatedKey
    return d


_decode_unique = json.JSONDecoder(object_pairs_hook=_unique).decode


def _too_large(n: int, max_bytes: int) -> EventTooLargeError:
    return EventTooLargeError(f"intake client: event too large: {n} bytes, more than {max_bytes} (max_event_bytes)")


def _patch(
    text: str, obj: Dict[str, Any], default_stream: str, default_schema: str, fill_dt: bool, now: float
) -> Optional[Tuple[str, str, str]]:
    """The JSON object text (obj is its parse) with meta.id, the defaults and dt added where the
    re-encoded event would have them, by inserting into the text: (text, id, stream). None when the
    text cannot be patched with certainty (then the event is encoded again from obj).

    Certainty: the text has no backslash, so every string in it is spelled as it reads, and a
    top-level "meta" key is the text's one and only occurrence of '"meta"'. Its object's end comes
    from the JSON scanner. No key repeats in any object (prepare parsed it with _unique), so the
    text means what obj says to any parser."""
    if "\\" in text:
        return None
    meta = obj.get("meta")
    top: List[str] = []  # members to add at the end of the event
    id_ = ""
    stream = ""
    if meta is None and "meta" not in obj:
        id_ = new_id()
        if default_stream:
            stream = default_stream
            top.append(f'"meta":{{"id":"{id_}","stream":{_json_str(stream)}}}')
        else:
            top.append(f'"meta":{{"id":"{id_}"}}')
    elif type(meta) is dict:
        mi = text.find('"meta"')
        if mi < 0 or text.find('"meta"', mi + 6) >= 0:
            return None
        i = mi + 6
        n = len(text)
        while i < n and text[i] in _JSON_WS:
            i += 1
        if text[i : i + 1] != ":":
            return None
        i += 1
        while i < n and text[i] in _JSON_WS:
            i += 1
        if text[i : i + 1] != "{":
            return None
        add = []
        if "id" not in meta:
            id_ = new_id()
            add.append(f'"id":"{id_}"')
        else:
            v = meta["id"]
            id_ = v if type(v) is str else ""
        if "stream" not in meta and default_stream:
            stream = default_stream
            add.append('"stream":' + _json_str(stream))
        else:
            v = meta.get("stream")
            stream = v if type(v) is str else ""
        if add:
            _, mend = _scan_value(text, i)
            close = mend - 1  # the meta object's "}"
            ins = ",".join(add)
            text = text[:close] + ("," + ins if meta else ins) + text[close:]
    else:
        return None  # meta is not an object (the edge says so) or not a dict: as before
    if default_schema and "$schema" not in obj:
        top.append('"$schema":' + _json_str(default_schema))
    if fill_dt and "dt" not in obj:
        top.append(f'"dt":"{format_dt(now)}"')
    if top:
        end = len(text.rstrip(_JSON_WS)) - 1  # the event's "}"
        ins = ",".join(top)
        text = text[:end] + ("," + ins if obj else ins) + text[end:]
    return text, id_, stream


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
    obj: Any
    if type(event) is dict:
        ev_in = obj = event
    elif isinstance(event, UnitEvent):
        ev_in, units = event.event, event.units
        obj = ev_in
    else:
        ev_in = obj = event
    if type(obj) is dict:
        pass
    elif isinstance(ev_in, (bytes, bytearray, str)):
        if len(ev_in) > max_bytes:
            raise _too_large(len(ev_in), max_bytes)
        # JSON text in UTF-8 that starts with "{" (json.loads would read it as UTF-8 too): patched.
        text: Optional[str] = None
        if isinstance(ev_in, str):
            text = None if ev_in[:1] == "\ufeff" else ev_in  # json.loads says what is wrong
        elif ev_in[:1] == b"{" and ev_in[1:2] != b"\0":
            try:
                text = ev_in.decode()
            except UnicodeDecodeError:
                pass
        try:
            if text is None:
                obj = json.loads(ev_in)
            else:
                try:
                    obj = _decode_unique(text)  # json.loads(text), minus its check for a BOM
                except _RepeatedKey:
                    # Which of the repeated keys counts is each parser's choice: the parse
                    # encoded again says, as it did before text was patched.
                    text = None
                    obj = json.loads(ev_in)
        except ValueError as e:
            raise NotObjectError(f"intake client: the event is not valid JSON: {e}") from None
        if text is not None and type(obj) is dict:
            patched = _patch(text, obj, default_stream, default_schema, fill_dt, now)
            if patched is not None:
                out, id_, stream = patched
                if out is text and type(ev_in) is bytes:
                    raw: bytes = ev_in
                else:
                    try:
                        raw = out.encode()
                    except UnicodeEncodeError:  # a lone surrogate in a str: the re-encoding says so
                        raw = b""
                        patched = None
                if patched is not None:
                    if len(raw) > max_bytes:
                        raise _too_large(len(raw), max_bytes)
                    return Record(id_, stream, raw), units
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
        v = meta["id"]
        id_ = v if type(v) is str or isinstance(v, str) else ""
        v = meta.get("stream")
        stream = v if type(v) is str or isinstance(v, str) else ""
        ev["meta"] = meta
    # else: meta is not an object; the edge says so, and there is no id to give it.
    if default_schema and "$schema" not in ev:
        ev["$schema"] = default_schema
    if fill_dt and "dt" not in ev:
        ev["dt"] = format_dt(now)
    try:
        raw = "".join(_c_encode(ev, 0)).encode() if _c_encode is not None else _encoder.encode(ev).encode()
    except (TypeError, ValueError, RecursionError) as e:
        raise NotObjectError(f"intake client: cannot encode the event as JSON: {e}") from None
    if len(raw) > max_bytes:
        raise _too_large(len(raw), max_bytes)
    return Record(id_, stream, raw), units
