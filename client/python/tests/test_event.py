"""Events on their way in (no edge): meta.id, the caller's event left alone, and JSON text events
patched in place giving what encoding them again gives."""

from __future__ import annotations

import copy
import json
import os
import random
import uuid
from collections import OrderedDict
from typing import Any, List

import pytest

from intake_client import UnitEvent, Units, new_id
from intake_client import _event
from intake_client._event import new_ids, prepare
from intake_client._result import EventTooLargeError, NotObjectError

EVENT = {"$schema": "/example/click/1.0.0", "dt": "2026-11-23T12:00:00.000Z", "meta": {"stream": "example.click"},
         "page": {"id": 42, "title": "Main Page"}, "button": "save"}


def test_ids_are_uuid_v4_and_distinct():
    ids = [new_id() for _ in range(3000)] + new_ids(1000) + new_ids(1)
    assert len(set(ids)) == len(ids)
    for i in ids:
        u = uuid.UUID(i)
        assert str(u) == i and u.version == 4 and u.variant == uuid.RFC_4122
    # The random digits vary: every hex digit at every random position, over 4000 ids.
    for pos in (0, 9, 15, 20, 35):
        assert {i[pos] for i in ids} == set("0123456789abcdef")
    assert {i[19] for i in ids} == set("89ab")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_forked_child_makes_its_own_ids():
    new_id()  # the parent holds unused ids
    left = set(_event._ids)
    assert left
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(w, json.dumps([new_id() for _ in range(5)]).encode())
        finally:
            os._exit(0)
    os.close(w)
    got = json.loads(os.read(r, 4096))
    os.close(r)
    os.waitpid(pid, 0)
    assert len(got) == 5 and not left & set(got)


def test_caller_event_not_modified():
    ev = {"meta": {"stream": "s"}, "nested": {"a": [1, {"b": 2}]}}
    before = copy.deepcopy(ev)
    rec, _ = prepare(ev, 1 << 20, "dflt", "/schema/1.0.0", True, 0.0)
    assert ev == before and "id" not in ev["meta"]
    sent = json.loads(rec.raw)
    assert sent["meta"]["id"] == rec.id and sent["$schema"] == "/schema/1.0.0" and sent["dt"] == "1970-01-01T00:00:00.000Z"
    assert rec.stream == "s"
    # No meta at all: the caller's dict stays without one.
    ev2 = {"x": 1}
    rec2, _ = prepare(ev2, 1 << 20, "dflt", "", False, 0.0)
    assert ev2 == {"x": 1} and json.loads(rec2.raw) == {"x": 1, "meta": {"id": rec2.id, "stream": "dflt"}}
    # A mapping that is not a dict, and a UnitEvent.
    m = OrderedDict(meta=OrderedDict(stream="s"))
    rec3, units = prepare(UnitEvent(m, Units(session="abc")), 1 << 20, "", "", False, 0.0)
    assert m == OrderedDict(meta=OrderedDict(stream="s")) and units == Units(session="abc")
    assert json.loads(rec3.raw)["meta"] == {"stream": "s", "id": rec3.id}


def test_bytes_event_kept_when_complete():
    ev = dict(EVENT, meta={"stream": "example.click", "id": "the-id"})
    raw = json.dumps(ev).encode()  # with spaces: sent as it is
    rec, _ = prepare(raw, 1 << 20, "", "", True, 0.0)
    assert rec.raw is raw and rec.id == "the-id" and rec.stream == "example.click"


def reference(text: Any, default_stream: str, default_schema: str, fill_dt: bool) -> Any:
    """What the event gives when parsed and encoded again (the dict path)."""
    obj = json.loads(text)
    rec, _ = prepare(obj, 1 << 30, default_stream, default_schema, fill_dt, 1.5)
    return rec


def pairs(raw: bytes) -> Any:
    return json.loads(raw, object_pairs_hook=lambda kv: [list(p) for p in kv])


def check_same(text: Any, default_stream: str = "", default_schema: str = "", fill_dt: bool = True) -> bool:
    """prepare(text) is the reference, key for key and in order; True when the text was patched."""
    want = reference(text, default_stream, default_schema, fill_dt)
    patched: List[bool] = []
    real = _event._patch

    def spy(*a: Any) -> Any:
        out = real(*a)
        patched.append(out is not None)
        return out

    _event._patch = spy  # type: ignore[assignment]
    try:
        got, _ = prepare(text, 1 << 30, default_stream, default_schema, fill_dt, 1.5)
    finally:
        _event._patch = real
    assert (got.id, got.stream) == (want.id, want.stream), text
    assert pairs(got.raw) == pairs(want.raw), text
    return bool(patched and patched[0])


@pytest.fixture
def fixed_ids(monkeypatch):
    monkeypatch.setattr(_event, "new_id", lambda: "00000000-0000-4000-8000-000000000000")


CASES = [
    '{}',
    '{"a":1}',
    ' {"a":1} ',
    '{"meta":{}}',
    '{"meta": { } }',
    '{"meta":{"stream":"s"}}',
    '{"meta":{"id":"x"}}',
    '{"meta":{"id":"x","stream":"s"},"dt":"d","$schema":"/x"}',
    '{"meta":{"id":5,"stream":["no"]}}',
    '{"meta":null}',
    '{"meta":"text"}',
    '{"meta":[1,2]}',
    '{"meta":{"stream":"s"},"meta":{"stream":"t"}}',
    '{"meta":{"stream":"s","meta":{"id":"inner"}}}',
    '{"a":{"meta":{"id":"inner"}},"meta":{"stream":"s"}}',
    '{"meta":{"stream":"s"},"a":{"meta":{}}}',
    '{"a":{"meta":{"id":"inner"}}}',
    '{"a":"meta","b":["meta"],"meta":{"stream":"s"}}',
    '{"a":"meta"}',
    '{"metadata":{"x":1},"xmeta":1,"meta_":2}',
    '{"a":"}{]","meta":{"s":"}{,:"},"b":"{\\"meta\\":{}}"}',
    '{"a":"x\\"meta\\":{","meta":{"stream":"s"}}',
    '{"\\u006deta":{"stream":"s"},"a":"meta"}',
    '{"\\u006deta":{"stream":"s"},"x":{"meta":{}}}',
    '{"meta":{"stream":"caf\\u00e9"}}',
    '{"meta":{"stream":"café ☃ 𝄞 中文"},"t":"\\n\\t\\\\"}',
    '{"meta":{"stream":"s"},"t":"𝄞 \U0001F600 éè"}',
    '{"n":[1e400,-0,1.0,1E2,123456789012345678901234567890],"meta":{"stream":"s"}}',
    '{"n":NaN,"i":Infinity,"m":-Infinity}',
    '{\n  "meta" :\n  {\n    "stream" : "s"\n  }\n}\n',
    '{"meta"\t:\r{"stream":"s"\n}\t}',
    '{"dt":null,"$schema":null}',
    '{"a":1,"a":2,"meta":{"stream":"s"}}',
    '{"meta":{"stream":"s","stream":"t"}}',
    '{"x":{"k":1,"k":[{"j":1,"j":2}]},"meta":{}}',
    '{"dt":"a","dt":"b"}',
    '{"dt":"x"}',
    '{"$schema":"/y"}',
]


@pytest.mark.parametrize("text", CASES)
@pytest.mark.parametrize("defaults", [("", "", True), ("dflt.stream", "/d/1.0.0", True), ("ü\"\\", "/é", False)])
def test_text_events_patched_as_encoded_again(fixed_ids, text, defaults):
    check_same(text, *defaults)
    check_same(text.encode(), *defaults)
    check_same(bytearray(text.encode()), *defaults)


def test_patched_or_not(fixed_ids):
    # Patched: no backslash, one '"meta"' when there is a meta.
    for t in ('{}', '{"meta":{"stream":"s"}}', '{"meta": {} }', '{"a":"é","meta":{"stream":"s"}}'):
        assert check_same(t.encode()), t
    # Encoded again: escapes, a second '"meta"', meta not an object.
    for t in ('{"a":"\\n","meta":{}}', '{"meta":{"stream":"s"},"a":{"meta":1}}', '{"meta":null}', '{"a":{"b":1,"b":2}}'):
        assert not check_same(t.encode()), t


def test_text_events_not_utf8_or_not_objects():
    for enc in ("utf-16", "utf-16-le", "utf-32", "utf-8-sig"):
        rec, _ = prepare('{"meta":{"stream":"s"},"é":1}'.encode(enc), 1 << 20, "", "", False, 0.0)
        assert json.loads(rec.raw) == {"meta": {"stream": "s", "id": rec.id}, "é": 1}
    for bad in (b"[1]", b"1", b"{", b'{"a":1}x', b"\xff{}", b"{\xff}", '{"a":"\ud800"}', b'{"a":"\xed\xa0\x80"}', "\ufeff{}"):
        with pytest.raises(NotObjectError):
            prepare(bad, 1 << 20, "", "", False, 0.0)
    with pytest.raises(EventTooLargeError):
        prepare(b'{"meta":{"stream":"s"},"x":"' + b"a" * 100 + b'"}', 120, "", "", False, 0.0)


def random_value(r: random.Random, depth: int) -> Any:
    k = r.randrange(9 if depth < 3 else 5)
    if k == 0:
        return r.choice([None, True, False])
    if k == 1:
        return r.choice([0, -1, 7, 2**70, 1.5, -0.25, 1e300])
    if k in (2, 3, 4):
        return random_string(r)
    if k in (5, 6):
        return [random_value(r, depth + 1) for _ in range(r.randrange(4))]
    return {random_string(r): random_value(r, depth + 1) for _ in range(r.randrange(4))}


def random_string(r: random.Random) -> str:
    parts = ["meta", "id", "stream", "dt", "$schema", "a", "{", "}", ":", ",", '"', "\\", "\n", "é", "𝄞", "中", " ", "\u2028", "\x01"]
    return "".join(r.choice(parts) for _ in range(r.randrange(4)))


def test_random_events_patched_as_encoded_again(fixed_ids):
    r = random.Random(18)
    patched = 0
    for n in range(1500):
        ev = {random_string(r): random_value(r, 1) for _ in range(r.randrange(5))}
        m = r.randrange(5)
        if m == 1:
            ev["meta"] = {}
        elif m >= 2:
            ev["meta"] = {random_string(r): random_value(r, 2) for _ in range(r.randrange(3))}
            if r.random() < 0.5:
                ev["meta"]["stream"] = random_string(r)
            if r.random() < 0.3:
                ev["meta"]["id"] = random_string(r)
        items = list(ev.items())
        r.shuffle(items)
        ev = dict(items)
        text = json.dumps(ev, ensure_ascii=r.random() < 0.3,
                          separators=r.choice([(",", ":"), (", ", ": "), (" ,\n", " :\t")]))
        defaults = r.choice([("", "", True), ("d.s", "/d/1.0.0", True), ("d.s", "", False)])
        patched += check_same(text.encode(), *defaults)
    assert patched > 300  # the patching is exercised, not only the fallback
