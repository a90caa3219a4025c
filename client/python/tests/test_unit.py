"""The client against a scripted stub edge (http.server): retries, Retry-After, splitting, the
answers that are final; the queue's bound; the spool's recovery. No sleeping: the waits between
attempts are recorded, not waited."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import threading
from typing import Callable, List, Optional, Tuple

import pytest

from conftest import click, free_port
from intake_client import Client, QueueFullError, Status, parse_retry_after


class Stub:
    """Answers POST /v1/events from a script: (code, headers, body) per request, the last one
    repeated; records the bodies (gunzipped) and headers."""

    def __init__(self, script: List[Tuple[int, dict, bytes]]) -> None:
        self.script = script
        self.requests: List[Tuple[dict, list]] = []
        self.answer: Optional[Callable[[list], int]] = None  # the status by the body, when set
        stub = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                stub.requests.append((dict(self.headers), json.loads(body)))
                code, hdrs, out = stub.script[min(len(stub.requests), len(stub.script)) - 1]
                if stub.answer is not None:
                    code = stub.answer(json.loads(body))
                if callable(out):
                    out = out(json.loads(body))
                self.send_response(code)
                for k, v in hdrs.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a: object) -> None:
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


class Waits:
    """Stands in for the client's stop event: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: List[float] = []

    def wait(self, d: float = 0) -> bool:
        self.waits.append(d)
        return False

    def is_set(self) -> bool:
        return False

    def set(self) -> None:
        pass


def client(url: str, **kw) -> Tuple[Client, Waits]:
    c = Client(url, stream_config_refresh=None, **kw)
    w = Waits()
    c._stop = w  # type: ignore[assignment]
    return c, w


@pytest.fixture
def stub():
    made = []

    def make(*script):
        s = Stub(list(script))
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def test_retry_after_and_backoff(stub):
    s = stub((503, {"Retry-After": "2"}, b'{"message":"busy"}'), (201, {}, b""))
    c, w = client(s.url, backoff_base=0.01, backoff_max=0.05)
    r = c.send(click(), click())
    assert [x.status for x in r] == [Status.ACCEPTED] * 2 and r[0].attempts == 2
    assert w.waits == [2.0], "never shorter than Retry-After"
    ids = [[e["meta"]["id"] for e in body] for _, body in s.requests]
    assert ids[0] == ids[1], "a retry carries the same meta.id"
    assert c.stats().retried == 2
    c.close()


def test_full_jitter_bounds():
    c = Client("http://127.0.0.1:1", stream_config_refresh=None, backoff_base=0.1, backoff_max=1.0)
    for attempt, bound in [(1, 0.1), (2, 0.2), (3, 0.4), (5, 1.0), (200, 1.0)]:
        xs = [c._backoff(attempt) for _ in range(200)]
        assert all(0 <= x < bound for x in xs) and max(xs) > bound / 2
    c.close()


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("") == 0.0 and parse_retry_after("soon") == 0.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now=4.0) == 6.0


def test_only_failed_events_retried_invalid_never(stub):
    def lists(body):
        return json.dumps({"invalid": [{"event": body[0], "context": {"errorsText": "bad"}}],
                           "error": [{"event": body[1], "context": {"message": "kafka"}}]}).encode()
    s = stub((207, {}, lists), (201, {}, b""))
    c, w = client(s.url)
    r = c.send(click(), click(), click())
    assert [x.status for x in r] == [Status.INVALID, Status.ACCEPTED, Status.ACCEPTED]
    assert [len(b) for _, b in s.requests] == [3, 1]
    assert s.requests[1][1][0]["meta"]["id"] == r[1].id
    c.close()


def test_final_answers_fail_at_once(stub):
    s = stub((401, {}, b'{"message":"who are you"}'))
    c, w = client(s.url)
    r = c.send(click())[0]
    assert r.status is Status.FAILED and r.attempts == 1 and "who are you" in str(r.error) and not w.waits
    c.close()


def test_413_splits_until_the_culprit_is_alone(stub):
    s = stub((201, {}, b""))
    s.answer = lambda body: 413 if any(e["button"] == "huge" for e in body) else 201
    c, w = client(s.url)
    r = c.send(click(), click(), click(button="huge"), click())
    assert [x.status for x in r] == [Status.ACCEPTED, Status.ACCEPTED, Status.INVALID, Status.ACCEPTED]
    assert r[2].code == 413 and not w.waits
    assert [len(b) for _, b in s.requests] == [4, 2, 2, 1, 1]
    c.close()


def test_retries_run_out(stub):
    s = stub((503, {}, b""))
    c, w = client(s.url, max_attempts=4, backoff_base=0.1, backoff_max=0.4)
    r = c.send(click())[0]
    assert r.status is Status.FAILED and r.attempts == 4 and len(w.waits) == 3
    assert all(0 <= x < b for x, b in zip(w.waits, [0.1, 0.2, 0.4]))
    c.close()


def test_gzip_above_the_threshold(stub):
    s = stub((201, {}, b""))
    c, _ = client(s.url, gzip_min_bytes=1000)
    c.send(click())
    c.send(*[click() for _ in range(20)])
    assert [h.get("Content-Encoding") for h, _ in s.requests] == [None, "gzip"]
    c.close()


def test_queue_bound():
    c = Client(f"http://127.0.0.1:{free_port()}", stream_config_refresh=None, max_queue_events=3, flush_interval=60)
    for _ in range(3):
        c.enqueue(click())
    with pytest.raises(QueueFullError):
        c.enqueue(click())
    assert c.stats().dropped_full == 1 and c.stats().queued == 3
    with pytest.raises(Exception):
        c.close(timeout=0.2)  # the events cannot be delivered: close says so
    assert c.stats().failed == 3


def test_spool_torn_tail_and_damaged_cursor(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    d = str(tmp_path)
    c = Client(dead, stream_config_refresh=None, spool_dir=d, flush_interval=60)
    for i in range(5):
        c.enqueue(click(page=i + 1))
    with pytest.raises(Exception, match="stay in the spool"):
        c.close(timeout=0.1)
    seg = os.path.join(d, "00000000000000000001.seg")
    size = os.path.getsize(seg)
    with open(seg, "ab") as f:
        f.write(b"\x40\x00\x00\x00\x01\x02")  # a writer killed mid-record
    c = Client(dead, stream_config_refresh=None, spool_dir=d, flush_interval=60)
    assert c.stats().recovered == 5 and os.path.getsize(seg) == size
    with pytest.raises(Exception):
        Client(dead, stream_config_refresh=None, spool_dir=d)  # one client per spool
    with pytest.raises(Exception):
        c.close(timeout=0.1)
    with open(os.path.join(d, "cursor"), "wb") as f:
        f.write(b"garbage")
    c = Client(dead, stream_config_refresh=None, spool_dir=d, flush_interval=60)
    assert c.stats().recovered == 5
    with pytest.raises(Exception):
        c.close(timeout=0.1)


def test_spool_rotates_segments_and_retries_in_order(stub, tmp_path):
    """Small segments: rotated while the sender reads them, deleted once acknowledged. The edge
    fails the first batches (503) past max_attempts: with a spool the batch stays and is tried
    again, still in order, until the edge takes it."""
    s = stub(*[(503, {}, b"")] * 5, (201, {}, b""))
    c, w = client(s.url, spool_dir=str(tmp_path), spool_segment_bytes=2000, batch_events=40,
                  flush_interval=60, max_attempts=2)
    ids = []
    for i in range(200):
        ev = click(page=i + 1, meta={"stream": "test.in", "id": f"33333333-0000-4000-8000-{i:012d}"})
        ids.append(ev["meta"]["id"])
        c.enqueue(ev)
    assert c.flush(30)
    st = c.stats()
    assert st.accepted == 200 and st.failed == 0 and st.queued == 0, st
    accepted = [e["meta"]["id"] for _, body in s.requests[5:] for e in body]
    assert accepted == ids, "in order, each once after the failures"
    assert w.waits, "paused between the rounds"
    c.close()
    segs = [f for f in os.listdir(tmp_path) if f.endswith(".seg")]
    assert len(segs) == 1 and int(segs[0][:-4]) > 5, ("rotated, and acknowledged segments deleted", segs)
    again = Client(s.url, stream_config_refresh=None, spool_dir=str(tmp_path))
    assert again.stats().recovered == 0
    again.close()


def test_close_gives_up_on_a_request_in_flight():
    """An edge that never answers: close(timeout) ends the request in flight instead of waiting
    for request_timeout, and says the event was not delivered."""
    import socket
    import time

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    held = []
    threading.Thread(target=lambda: held.append(srv.accept()), daemon=True).start()
    c = Client(f"http://127.0.0.1:{srv.getsockname()[1]}", stream_config_refresh=None, request_timeout=60, flush_interval=0.01)
    c.enqueue(click())
    until_held = time.monotonic() + 5
    while not held and time.monotonic() < until_held:
        time.sleep(0.01)
    start = time.monotonic()
    with pytest.raises(Exception, match="1 events not delivered"):
        c.close(timeout=0.2)
    assert time.monotonic() - start < 5
    assert c.stats().failed == 1
    srv.close()
