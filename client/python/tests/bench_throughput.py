"""Throughput of the Python client against a real edge (conftest.World: bin/intake serve and the
development broker on loopback), beside a bare http.client loop posting the same bodies, so the
client's overhead reads as a ratio in one run (the Go client's make bench-client does the same with
bare net/http). Not a test (pytest does not collect it): run by make bench-python.

The event is the README's example/click (about 150 bytes of JSON). Rounds alternate client and
baseline; each figure is the median of the rounds.

  send-100:   Client.send of 100 events at a time, each call waiting for Kafka's acknowledgements;
              the events given as dicts, or as bytes of JSON; gzipped, as by default (the body is
              over 8 KiB), and not (gzip_min_bytes=None), as the baseline posts it
  baseline:   http.client on one keep-alive connection posting the body send-100 posts (the
              events with their meta.id), one after the other, reading each answer
  baseline + json.dumps: the same, encoding the 100 dicts (ids in) with json.dumps each time,
              the least a Python producer posting its own dicts does
  enqueue:    Client.enqueue of N events, then close (every event acknowledged)

It also prints the client's own CPU time per event (time.process_time, no network: the request
answered 201 in-process; the least of 7 slices), the counterpart of the Go client's
BenchmarkPrepare, which a loaded machine disturbs less than the events/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import pathlib
import statistics
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from conftest import World  # noqa: E402

from intake_client import Client, new_id  # noqa: E402

EVENT = {"$schema": "/example/click/1.0.0", "dt": "2026-11-23T12:00:00.000Z", "meta": {"stream": "example.click"},
         "page": {"id": 42, "title": "Main Page"}, "button": "save"}
EVENT_BYTES = json.dumps(EVENT, separators=(",", ":")).encode()


def timed(seconds: float, step) -> float:
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        n += step()
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0, help="per round and case")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--enqueue", type=int, default=50000, help="events per enqueue round")
    args = ap.parse_args()

    w = World(pathlib.Path(tempfile.mkdtemp(prefix="intake-py-bench-")))
    try:
        w.start()
        u = urllib.parse.urlsplit(w.url)
        events = [dict(EVENT) for _ in range(100)]
        raw = [EVENT_BYTES] * 100
        with_ids = [{**EVENT, "meta": {"id": new_id(), "stream": "example.click"}} for _ in range(100)]
        body = json.dumps(with_ids, separators=(",", ":")).encode()
        conn = http.client.HTTPConnection(u.netloc, timeout=30)

        def bare() -> int:
            conn.request("POST", "/v1/events", body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status != 201:
                raise SystemExit(f"baseline: HTTP {r.status}")
            return 100

        def bare_dumps() -> int:
            b = json.dumps(with_ids, separators=(",", ":")).encode()
            conn.request("POST", "/v1/events", body=b, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            return 100

        figures: dict = {"send-100 (dicts)": [], "send-100 (dicts, no gzip)": [], "send-100 (bytes)": [], "baseline http.client": [],
                         "baseline + json.dumps": [], "enqueue": []}
        plain = Client(w.url, gzip_min_bytes=None)
        plain.send(events[0])
        with Client(w.url) as c:
            c.send(events[0])  # the stream config, the connection
            for _ in range(args.rounds):
                def send_dicts() -> int:
                    rs = c.send(*events)
                    assert rs[-1].ok, rs[-1]
                    return 100

                def send_raw() -> int:
                    rs = c.send(*raw)
                    assert rs[-1].ok, rs[-1]
                    return 100
                def send_plain() -> int:
                    rs = plain.send(*events)
                    assert rs[-1].ok, rs[-1]
                    return 100
                figures["send-100 (dicts)"].append(timed(args.seconds, send_dicts))
                figures["send-100 (dicts, no gzip)"].append(timed(args.seconds, send_plain))
                figures["baseline http.client"].append(timed(args.seconds, bare))
                figures["send-100 (bytes)"].append(timed(args.seconds, send_raw))
                figures["baseline + json.dumps"].append(timed(args.seconds, bare_dumps))
                e = Client(w.url, max_queue_events=1 << 30, max_queue_bytes=1 << 40)
                start = time.perf_counter()
                for _ in range(args.enqueue):
                    e.enqueue(EVENT)
                e.close()
                figures["enqueue"].append(args.enqueue / (time.perf_counter() - start))
                assert e.stats().accepted == args.enqueue, e.stats()
        # The client's own work: send-100 with the request answered in-process.
        cpu = Client(w.url, stream_config_refresh=None)
        cpu._request = lambda *a, **k: (201, {}, b"")  # type: ignore[method-assign]
        cpu_figures = {}
        for name, evs in (("dicts", events), ("bytes", raw)):
            # The least of 7 slices of 40 calls: other work on the machine only ever adds to it.
            slices = []
            for _ in range(7):
                t = time.process_time()
                for _ in range(40):
                    cpu.send(*evs)
                slices.append((time.process_time() - t) / (40 * 100) * 1e6)
            cpu_figures[name] = min(slices)
        cpu.close()
        plain.close()
        base = statistics.median(figures["baseline http.client"])
        print(f"Python {sys.version.split()[0]}, {args.rounds} rounds of {args.seconds}s, median events/s:")
        for name, xs in figures.items():
            m = statistics.median(xs)
            print(f"  {name:26s} {m:9.0f} events/s  {100 * m / base:5.1f}% of the bare loop   rounds: "
                  + " ".join(f"{x:.0f}" for x in xs))
        print("client CPU per event, no network: " + ", ".join(f"{k} {v:.1f} us" for k, v in cpu_figures.items()))
    finally:
        w.stop()


if __name__ == "__main__":
    main()
