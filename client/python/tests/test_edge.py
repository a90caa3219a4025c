"""The client against a real edge (conftest.World), events read back from Kafka by meta.id."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest

from conftest import PKG, click, free_port, until
from intake_client import (
    AsyncClient,
    Client,
    ClosedError,
    InvalidEventError,
    SendError,
    Status,
    StreamNotConfiguredError,
    check,
)


def test_send_accepted_and_invalid_never_retried(world):
    with Client(world.url) as c:
        ev = click(page=7)
        results = c.send(ev, click(button="explode"), click(page=8))
        assert [r.status for r in results] == [Status.ACCEPTED, Status.INVALID, Status.ACCEPTED]
        assert "id" not in ev["meta"], "the caller's event is not modified"
        assert all(r.attempts == 1 for r in results)
        bad = results[1]
        assert isinstance(bad.error, InvalidEventError) and bad.errors and bad.code == 207
        with pytest.raises(SendError) as e:
            check(results)
        assert e.value.invalid == 1
        s = c.stats()
        assert (s.requests, s.retried, s.accepted, s.invalid) == (1, 0, 2, 1)
    got = world.arrived("dev.test.in", [results[0].id, results[2].id])
    assert got[0]["page"]["id"] == 7 and got[0]["meta"]["id"] == results[0].id
    time.sleep(0.3)
    assert bad.id not in world.topics["dev.test.in"].by_id


def test_enqueue_batches_gzip_and_callbacks(world):
    done = []
    ids = []
    with Client(world.url, batch_events=100, flush_interval=0.05, gzip_min_bytes=0, on_result=done.append) as c:
        for i in range(1000):
            ev = click(page=i + 1, meta={"stream": "test.in", "id": f"00000000-0000-4000-8000-{i:012d}"})
            ids.append(ev["meta"]["id"])
            c.enqueue(ev)
        c.enqueue(click(button="explode"))
        assert c.flush(30)
        s = c.stats()
        assert s.accepted == 1000 and s.invalid == 1 and s.queued == 0
        assert 11 <= s.requests <= 200, s  # batched (a loaded machine makes some batches partial)
    assert len(done) == 1001 and sum(r.ok for r in done) == 1000
    world.arrived("dev.test.in", ids)
    with pytest.raises(ClosedError):
        c.enqueue(click())


def test_sampling_by_stream_config(world):
    with Client(world.url) as c:
        r = c.send(click("test.in"), click("test.out"), click("test.nowhere"))
        assert [x.status for x in r] == [Status.ACCEPTED, Status.SAMPLED_OUT, Status.SAMPLED_OUT]
        assert r[1].error is None and isinstance(r[2].error, StreamNotConfiguredError)
        assert c.stats().not_configured == 1


def test_developer_mode(world):
    with Client(world.url, api_key=world.api_key, developer_mode=True) as c:
        r = c.send(click("test.out"))[0]  # out of sample, sent anyway
        assert r.ok and r.topic == "dev.test.out" and r.event["meta"]["id"] == r.id
        with pytest.raises(SendError):
            c.enqueue(click(button="explode"))
        with pytest.raises(StreamNotConfiguredError):
            c.enqueue(click("test.nowhere"))
    world.arrived("dev.test.out", [r.id])


def test_api_key_and_token_auth(world):
    with Client(world.url, max_attempts=3) as c:
        r = c.send(click("test.auth"))[0]  # refused per event: never retried
        assert r.status is Status.INVALID and r.code == 403 and r.attempts == 1
    with Client(world.url, api_key="not-a-key", max_attempts=3) as c:
        r = c.send(click("test.auth"))[0]  # the request refused: failed at once
        assert r.status is Status.FAILED and r.code == 401 and r.attempts == 1, r
    with Client(world.url, api_key=world.api_key) as c:
        a = c.send(click("test.auth"))[0]
        assert a.ok
    calls = []

    def token() -> str:
        calls.append(1)
        return world.api_key
    with Client(world.url, token_source=token) as c:
        b = c.send(click("test.auth"))[0]
        assert b.ok and calls
    world.arrived("dev.test.auth", [a.id, b.id])


def test_asyncio(world):
    async def main():
        async with AsyncClient(world.url) as c:
            rs = await asyncio.gather(*(c.send(click(page=i + 1)) for i in range(5)))
            c.enqueue(click(page=99))
            assert await c.flush(10)
            return [r[0].id for r in rs]
    ids = asyncio.run(main())
    world.arrived("dev.test.in", ids)


def test_edge_restarted_mid_stream(world):
    """Events enqueued while the edge is killed (SIGKILL) and started again all arrive."""
    # Retries bounded by time only: the edge is away for a second or two.
    c = Client(world.url, batch_events=50, flush_interval=0.02, backoff_base=0.05, backoff_max=0.5, max_attempts=10**6, max_elapsed=30)
    ids = []
    stop = threading.Event()

    def produce():
        i = 0
        while not stop.is_set():
            ev = click(page=i + 1, meta={"stream": "test.in", "id": f"11111111-0000-4000-8000-{i:012d}"})
            c.enqueue(ev)
            ids.append(ev["meta"]["id"])
            i += 1
            time.sleep(0.0005)
    t = threading.Thread(target=produce)
    t.start()
    try:
        until("events flowing", lambda: c.stats().accepted > 200)
        world.kill_edge()
        time.sleep(1.0)
        world.start_edge()
        until("events flowing again", lambda: c.stats().accepted > len(ids) - 100 and c.stats().retried > 0, 30)
    finally:
        stop.set()
        t.join()
    c.close(30)
    s = c.stats()
    assert s.failed == 0 and s.accepted == len(ids) and s.retried > 0, s
    world.arrived("dev.test.in", ids, 30)


CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[3])
from intake_client import Client
c = Client(sys.argv[1], spool_dir=sys.argv[2], spool_fsync=None)
for line in sys.stdin:
    c.enqueue(json.loads(line))
print("enqueued", c.stats().spooled, flush=True)
time.sleep(600)
"""


def test_killed_process_spool_sent_by_next_client(world, tmp_path):
    """A producer killed (SIGKILL) with its events in the spool, the edge unreachable: a new
    client on the same directory sends them all, in order."""
    spool = tmp_path / "spool"
    dead = f"http://127.0.0.1:{free_port()}"
    events = [click(page=i + 1, meta={"stream": "test.in", "id": f"22222222-0000-4000-8000-{i:012d}"}) for i in range(300)]
    import json
    child = subprocess.Popen([sys.executable, "-c", CHILD, dead, str(spool), str(PKG / "src")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin and child.stdout
    child.stdin.write("".join(json.dumps(e) + "\n" for e in events))
    child.stdin.close()
    assert child.stdout.readline().split() == ["enqueued", "300"]
    child.kill()
    child.wait()
    with Client(world.url, spool_dir=str(spool), batch_events=64) as c:
        assert c.stats().recovered == 300
    assert c.stats().accepted == 300
    ids = [e["meta"]["id"] for e in events]
    world.arrived("dev.test.in", ids)
    topic = world.topics["dev.test.in"]
    with topic.mu:
        order = [e["meta"]["id"] for e in topic.events if e["meta"]["id"] in set(ids)]
    assert order[:300] == ids, "in order"
    with Client(world.url, spool_dir=str(spool)) as again:
        assert again.stats().recovered == 0, "the cursor moved past every acknowledged event"
