"""The tests' world: a real intake edge (bin/intake serve) producing to a development broker
(bin/intake broker, its own process, so that the edge can be killed and started again without
losing Kafka's data), on free loopback ports, and consumers of the test topics (bin/intake tail,
one JSON line per event) that read the events back by meta.id. Every process started here is
killed at the end, also on failure."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from typing import Any, Dict, List, Optional

import pytest

PKG = pathlib.Path(__file__).resolve().parents[1]
REPO = PKG.parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def intake_bin() -> str:
    b = os.environ.get("INTAKE_BIN") or str(REPO / "bin" / "intake")
    if not os.path.exists(b):
        subprocess.run(["go", "build", "-o", "bin/intake", "./cmd/intake"], cwd=REPO, check=True,
                       env={**os.environ, "GOTOOLCHAIN": "auto"})
    return b


def until(what: str, check, timeout: float = 20.0, every: float = 0.05):
    end = time.monotonic() + timeout
    while True:
        v = check()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def stream(rate: Optional[float] = None, auth: str = "none") -> Dict[str, Any]:
    s: Dict[str, Any] = {
        "schema_title": "example/click",
        "destination_event_service": "intake",
        "topic_prefixes": ["dev."],
        "producers": {"intake": {"auth": auth, "allow_debug": True}},
    }
    if rate is not None:
        s["sample"] = {"rate": rate, "unit": "session"}
    return s


TEST_STREAMS = {
    "test.in": stream(1),
    "test.out": stream(0),
    "test.auth": stream(auth="required"),
}
TOPICS = ["dev.test.in", "dev.test.out", "dev.test.auth"]


class Topic:
    def __init__(self) -> None:
        self.events: List[Dict[str, Any]] = []  # in Kafka's order
        self.by_id: Dict[str, List[Dict[str, Any]]] = {}
        self.mu = threading.Lock()

    def add(self, ev: Dict[str, Any]) -> None:
        with self.mu:
            self.events.append(ev)
            self.by_id.setdefault((ev.get("meta") or {}).get("id"), []).append(ev)


class World:
    def __init__(self, tmp: pathlib.Path) -> None:
        self.tmp = tmp
        self.bin = intake_bin()
        self.procs: Dict[str, subprocess.Popen] = {}
        self.edge_port, self.broker_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.edge_port}"
        self.broker = f"127.0.0.1:{self.broker_port}"
        self.api_key = "test-" + secrets.token_hex(16)
        self.topics = {t: Topic() for t in TOPICS}
        streams = json.loads((REPO / "examples" / "stream-config.json").read_text())
        streams["streams"].update(TEST_STREAMS)
        (tmp / "streams.json").write_text(json.dumps(streams))
        (tmp / "access.yaml").write_text(
            "auth:\n  api_keys:\n    - name: python-test\n"
            f"      sha256: {hashlib.sha256(self.api_key.encode()).hexdigest()}\n"
            "      streams: [test.*, example.*]\n      debug: true\n  default_auth: none\n"
        )

    def _spawn(self, name: str, args: List[str], **kw: Any) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")
        p = subprocess.Popen(args, stderr=log, start_new_session=True, **kw)
        self.procs[name] = p
        return p

    def log(self, name: str) -> str:
        try:
            return (self.tmp / f"{name}.log").read_text()[-4000:]
        except FileNotFoundError:
            return ""

    def start(self) -> "World":
        self._spawn("broker", [self.bin, "broker", "--addr", self.broker], stdout=subprocess.DEVNULL)
        until("the broker", lambda: _connects(self.broker_port))
        self.start_edge()
        for t, topic in self.topics.items():
            p = self._spawn("tail " + t, [self.bin, "tail", "--kafka-brokers", self.broker, "--from-beginning", t],
                            stdout=subprocess.PIPE)
            threading.Thread(target=_read_lines, args=(p, topic), daemon=True).start()
        return self

    def start_edge(self) -> None:
        self._spawn("edge", [
            self.bin, "serve",
            "--listen", f"127.0.0.1:{self.edge_port}",
            "--kafka-brokers", self.broker,
            "--schema-base-uri", str(REPO / "examples" / "schemas"),
            "--stream-config", str(self.tmp / "streams.json"),
            "--access-config", str(self.tmp / "access.yaml"),
            "--service-name", "intake",
            "--topic-prefix", "dev.",
            "--config-refresh", "0",
        ], stdout=subprocess.DEVNULL)

        def ready() -> bool:
            if self.procs["edge"].poll() is not None:
                raise AssertionError("the edge exited:\n" + self.log("edge"))
            try:
                return urllib.request.urlopen(self.url + "/readyz", timeout=1).status == 200
            except OSError:
                return False
        until("the edge's /readyz", ready, timeout=30, every=0.1)

    def kill_edge(self) -> None:
        p = self.procs.pop("edge")
        p.kill()
        p.wait()

    def arrived(self, topic: str, ids: List[str], timeout: float = 20.0) -> List[Dict[str, Any]]:
        t = self.topics[topic]
        try:
            until(f"{len(ids)} events in {topic}", lambda: all(i in t.by_id for i in ids), timeout)
        except AssertionError as e:
            missing = [i for i in ids if i not in t.by_id]
            raise AssertionError(f"{e}: {len(missing)} missing, e.g. {missing[:3]}; {topic} holds {len(t.events)}\n"
                                 f"--- edge log ---\n{self.log('edge')}") from None
        return [t.by_id[i][0] for i in ids]

    def stop(self) -> None:
        for p in self.procs.values():
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _read_lines(p: subprocess.Popen, topic: Topic) -> None:
    assert p.stdout is not None
    for line in p.stdout:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if isinstance(ev, dict):
            topic.add(ev)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory):
    w = World(tmp_path_factory.mktemp("intake"))
    try:
        yield w.start()
    finally:
        w.stop()


def click(stream: str = "test.in", page: int = 1, button: str = "save", **extra: Any) -> Dict[str, Any]:
    ev: Dict[str, Any] = {"$schema": "/example/click/1.0.0", "meta": {"stream": stream}, "page": {"id": page}, "button": button}
    ev.update(extra)
    return ev
