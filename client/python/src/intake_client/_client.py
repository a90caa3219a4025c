"""The client: send (acknowledged), enqueue (background sender threads), sampling, delivery."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import logging
import random
import socket
import threading
import time
import urllib.parse
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _sampling
from ._event import Event, Record, UnitEvent, new_unit_id, prepare
from ._queue import Batch, Queue
from ._result import (
    ClosedError,
    HTTPError,
    IntakeError,
    InvalidEventError,
    NoStreamConfigError,
    QueueFullError,
    Result,
    SampleConfigError,
    SendError,
    Stats,
    Status,
    StreamNotConfiguredError,
)
from ._sampling import StreamConfig, Units
from ._spool import Spool

__version__ = "0.1.0"

_log = logging.getLogger("intake_client")

# Connection errors worth one immediate retry on a fresh connection: the edge closed an idle
# keep-alive connection just as we reused it.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)

_MAX_ANSWER_BYTES = 64 << 20

_SEND: Tuple[str, Optional[Exception]] = (_sampling.SEND, None)


class _Item:
    """One event on its way: its record and its result so far."""

    __slots__ = ("rec", "res", "retry", "last_error")

    def __init__(self, rec: Record, res: Result) -> None:
        self.rec, self.res = rec, res
        self.retry = False
        self.last_error: Optional[BaseException] = None

    def accept(self, code: int) -> None:
        self.res.status, self.res.code, self.res.error, self.retry = Status.ACCEPTED, code, None, False

    def invalid(self, code: int, text: str, errors: List[Dict[str, Any]], event: Any) -> None:
        self.res.status, self.res.code, self.retry = Status.INVALID, code, False
        self.res.errors = errors
        if event is not None:
            self.res.event = event
        self.res.error = InvalidEventError(self.rec.id, self.rec.stream, code, text or "rejected by the edge", errors)

    def again(self, code: int, err: BaseException) -> None:
        self.res.code, self.retry, self.last_error = code, True, err

    def fail(self, code: int, err: BaseException) -> None:
        self.res.status, self.res.code, self.res.error, self.retry = Status.FAILED, code, err, False


def parse_retry_after(v: Optional[str], now: Optional[float] = None) -> float:
    """Seconds a Retry-After header asks for (seconds or an HTTP date); 0 when absent or unreadable."""
    if not v:
        return 0.0
    v = v.strip()
    if v.isdigit():
        return float(min(int(v), 24 * 3600))
    try:
        t = email.utils.parsedate_to_datetime(v).timestamp()
    except (TypeError, ValueError, IndexError):
        return 0.0
    d = t - (time.time() if now is None else now)
    return min(max(d, 0.0), 24 * 3600.0)


class Client:
    """A producer of events to intake (or any EventGate-compatible edge) at url.

    send() posts events and waits for the edge's verdict on each; enqueue() hands one to a bounded
    queue that background threads post in batches (count, bytes, interval), gzipped above a size,
    synchronously, retried with backoff and full jitter, never sooner than Retry-After. With
    spool_dir the queue is on disk. Use it as a context manager, or call close(): it sends what is
    queued (or leaves it in the spool). Thread-safe.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: Optional[str] = None,
        token_source: Optional[Callable[[], str]] = None,
        headers: Optional[Mapping[str, str]] = None,
        user_agent: str = "",
        logger: Optional[logging.Logger] = None,
        request_timeout: float = 30.0,
        max_attempts: int = 10,
        max_elapsed: float = 60.0,
        backoff_base: float = 0.1,
        backoff_max: float = 10.0,
        batch_events: int = 500,
        batch_bytes: int = 512 << 10,
        flush_interval: float = 0.5,
        max_queue_events: int = 20000,
        max_queue_bytes: int = 32 << 20,
        max_event_bytes: int = 4 << 20,
        gzip_min_bytes: Optional[int] = 8 << 10,
        concurrency: int = 1,
        spool_dir: Optional[str] = None,
        spool_fsync: Optional[float] = 1.0,
        spool_max_bytes: int = 1 << 30,
        spool_segment_bytes: int = 16 << 20,
        developer_mode: bool = False,
        stream_config_refresh: Optional[float] = 60.0,
        stream_config_streams: Sequence[str] = (),
        units: Optional[Units] = None,
        default_stream: str = "",
        default_schema: str = "",
        fill_dt: bool = True,
        on_result: Optional[Callable[[Result], None]] = None,
        on_error: Optional[Callable[[Result], None]] = None,
    ) -> None:
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"intake client: {url!r} is not the http(s) URL of an intake edge")
        path = u.path.rstrip("/")
        if path.endswith("/v1/events"):
            path = path[: -len("/v1/events")]
        self._scheme, self._netloc, self._path = u.scheme, u.netloc, path
        if max_attempts < 1:
            raise ValueError(f"intake client: max_attempts {max_attempts}, want at least 1")
        if not 0 < backoff_base <= backoff_max:
            raise ValueError("intake client: want 0 < backoff_base <= backoff_max")
        if batch_events < 1 or batch_bytes < 1 or flush_interval <= 0:
            raise ValueError("intake client: batch_events, batch_bytes and flush_interval must be positive")
        self._api_key, self._token_source = api_key, token_source
        self._headers = dict(headers or {})
        self._user_agent = (user_agent + " " if user_agent else "") + "intake-python-client/" + __version__
        self._log = logger or _log
        self._timeout = request_timeout
        self._max_attempts, self._max_elapsed = max_attempts, max_elapsed
        self._backoff_base, self._backoff_max = backoff_base, backoff_max
        self._batch_events, self._batch_bytes = batch_events, batch_bytes
        self._max_event_bytes = max_event_bytes
        self._gzip_min = gzip_min_bytes
        self._dev = developer_mode
        self._refresh = stream_config_refresh
        self._config_streams = list(stream_config_streams)
        self._default_stream, self._default_schema, self._fill_dt = default_stream, default_schema, fill_dt
        self._on_result, self._on_error = on_result, on_error
        self._spool_dir = spool_dir

        base = Units(new_unit_id(), new_unit_id(), new_unit_id())
        self._units = base.with_(units) if units else base
        self._streams: Optional[StreamConfig] = None
        # Streams sent with the client's units by that configuration and those units: sampled once.
        self._sending: Tuple[Optional[StreamConfig], Units, "set[str]"] = (None, self._units, set())
        self._fetch_mu = threading.Lock()
        self._stats = Stats()
        self._stats_mu = threading.Lock()
        self._throttle: Dict[str, Tuple[float, int]] = {}
        self._throttle_mu = threading.Lock()
        self._local = threading.local()  # one HTTP connection per thread
        self._conns: "set[http.client.HTTPConnection]" = set()  # every thread's, for close to abort
        self._conns_mu = threading.Lock()
        self._stop = threading.Event()  # close gave up: waits and posts end
        self._closed = False
        self._close_mu = threading.Lock()
        self._close_error: Optional[IntakeError] = None
        self._close_failed = 0

        spool = None
        senders = concurrency
        if spool_dir is not None:
            spool = Spool(spool_dir, spool_fsync, spool_segment_bytes, self._log)
            self._stats.recovered = spool.recovered
            senders = 1  # in order; the cursor moves one batch at a time
            max_queue_bytes = spool_max_bytes
        self._spool = spool
        self._q = Queue(batch_events, batch_bytes, flush_interval, max_queue_events, max_queue_bytes, spool)
        self._senders = [threading.Thread(target=self._run_sender, name="intake-sender", daemon=True) for _ in range(max(1, senders))]
        for t in self._senders:
            t.start()
        self._poller: Optional[threading.Thread] = None
        if self._refresh is not None:
            self._poller = threading.Thread(target=self._poll_streams, name="intake-streams", daemon=True)
            self._poller.start()

    # -- the API ---------------------------------------------------------------------------

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def units(self) -> Units:
        """The client's sampling unit ids."""
        return self._units

    def set_units(self, units: Units) -> None:
        """Replaces the client's unit ids (a new session, say); empty ones keep their id."""
        self._units = self._units.with_(units)

    def stats(self) -> Stats:
        with self._stats_mu:
            s = Stats(**vars(self._stats))
        s.queued = self._q.queued()
        return s

    def send(self, *events: Union[Event, UnitEvent], timeout: Optional[float] = None) -> List[Result]:
        """Posts events and waits for the edge's verdicts, retrying what failed for a retryable
        reason (max_attempts, max_elapsed, timeout). Returns one Result per event, in order; never
        raises for an event's fate (check(results) raises SendError when any was invalid or
        failed). More events than batch_events or batch_bytes go in several requests. send does not
        use the queue nor the spool. Before the stream configuration is loaded, it is fetched first."""
        if self._closed:
            raise ClosedError("intake client: closed")
        deadline = None if timeout is None else time.monotonic() + timeout
        results: List[Result] = []
        recs: List[Record] = []
        ress: List[Result] = []  # the results of recs
        add_result, add_rec, add_res = results.append, recs.append, ress.append
        now = time.time()
        sc: Optional[StreamConfig] = None
        sc_err: Optional[BaseException] = None
        max_bytes, stream, schema, fill_dt = self._max_event_bytes, self._default_stream, self._default_schema, self._fill_dt
        # Streams whose events this call sends with the client's units: sampled once per call.
        sending: "set[str]" = set()
        for i, ev in enumerate(events):
            try:
                rec, ev_units = prepare(ev, max_bytes, stream, schema, fill_dt, now)
            except IntakeError as e:
                add_result(Result(i, status=Status.INVALID, error=e))
                continue
            r = Result(i, rec.id, rec.stream)
            add_result(r)
            if ev_units is None and rec.stream in sending:
                add_rec(rec)
                add_res(r)
                continue
            v, err = self._sample(rec.stream, ev_units)
            if v == _sampling.NO_CONFIG:
                if sc is None and sc_err is None:
                    try:
                        sc = self._await_streams(deadline)
                    except NoStreamConfigError as e:
                        sc_err = e
                if sc_err is not None or sc is None:
                    r.status, r.error = Status.FAILED, sc_err
                    continue
                v, err = sc.decide(rec.stream, self._units_of(ev_units), self._dev)
            if v == _sampling.SEND:
                add_rec(rec)
                add_res(r)
                if ev_units is None:
                    sending.add(rec.stream)
            else:
                r.status, r.error = Status.SAMPLED_OUT, err
        batch_events, batch_bytes = self._batch_events, self._batch_bytes
        while recs:
            n, nbytes, most = 0, 0, min(len(recs), batch_events)
            while n < most:
                nbytes += len(recs[n].raw)
                if n and nbytes > batch_bytes:
                    break
                n += 1
            if n < len(recs):
                self._deliver_events(recs[:n], ress[:n], self._dev, deadline)
            else:
                self._deliver_events(recs, ress, self._dev, deadline)
            recs, ress = recs[n:], ress[n:]
        self._finish_all(results, False)
        return results

    def enqueue(self, event: Union[Event, UnitEvent]) -> None:
        """Queues an event for the background sender and returns at once (with a spool: once it is
        on disk). Raises QueueFullError, ClosedError, or an error when the event cannot be encoded
        as a JSON object. Results come through on_result and on_error, and stats(). In developer
        mode enqueue is send: it raises SendError for an event not accepted, or the error saying
        why it was not sent."""
        if self._closed:
            raise ClosedError("intake client: closed")
        if self._dev:
            results = self.send(event)
            self._count("enqueued")
            for r in results:
                self._callbacks(r)
            r = results[0]
            if r.status is Status.SAMPLED_OUT and r.error is not None:
                raise r.error
            if r.status in (Status.INVALID, Status.FAILED):
                raise SendError(results)
            return
        rec, ev_units = prepare(event, self._max_event_bytes, self._default_stream, self._default_schema, self._fill_dt, time.time())
        v, err = self._sample(rec.stream, ev_units)
        if v in (_sampling.OUT, _sampling.INVALID, _sampling.UNCONFIGURED):
            self._finish(Result(id=rec.id, stream=rec.stream, status=Status.SAMPLED_OUT, error=err), True)
            return
        if v == _sampling.NO_CONFIG:
            rec.units = self._units_of(ev_units)  # the sender decides once the configuration is loaded
        try:
            self._q.put(rec)
        except QueueFullError:
            self._count("dropped_full")
            raise
        with self._stats_mu:
            self._stats.enqueued += 1
            if self._spool is not None:
                self._stats.spooled += 1

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Makes the sender post everything queued now and waits until the queue is empty (every
        result counted and its callbacks called); False when timeout ran out first."""
        if self._closed:
            raise ClosedError("intake client: closed")
        return self._q.flush(timeout)

    def close(self, timeout: Optional[float] = None) -> None:
        """Stops taking events, sends everything queued (with its retries), and stops the threads.
        When timeout runs out first, posts in flight are abandoned: without a spool the events not
        acknowledged fail (callbacks) and are lost; with a spool they stay for the next client.
        Raises IntakeError saying how many events were not delivered; again: the same."""
        with self._close_mu:
            if self._closed:
                if self._close_error is not None:
                    raise self._close_error
                return
            self._closed = True
            self._q.close()
            deadline = None if timeout is None else time.monotonic() + timeout
            for t in self._senders:
                t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            gave_up = any(t.is_alive() for t in self._senders)
            self._stop.set()
            self._q.stop()
            if gave_up:
                self._abort_conns()
            for t in self._senders:
                t.join()
            if self._poller is not None:
                self._poller.join()
            self._close_conn()
            if self._spool is not None:
                left = self._q.queued()
                self._spool.close()
                if left:
                    self._close_error = IntakeError(
                        f"intake client: close: {left} events stay in the spool {self._spool_dir} for the next client"
                    )
            else:
                left_recs = self._q.drain_mem()
                for rec in left_recs:
                    err = IntakeError(f"intake client: event {rec.id} not sent before close gave up")
                    self._finish(Result(id=rec.id, stream=rec.stream, status=Status.FAILED, error=err), True)
                failed = self._close_failed + len(left_recs)
                if gave_up and failed:
                    self._close_error = IntakeError(f"intake client: close: {failed} events not delivered")
            if self._close_error is not None:
                raise self._close_error

    def refresh_stream_config(self) -> None:
        """Fetches the stream configuration now (with the last one's ETag) and samples by it."""
        self._fetch_streams(False)

    # -- events and sampling ------------------------------------------------------------------

    def _units_of(self, ev: Optional[Units]) -> Units:
        return self._units.with_(ev) if ev else self._units

    def _sample(self, stream: str, ev_units: Optional[Units]) -> Tuple[str, Optional[Exception]]:
        sc, units = self._streams, self._units
        if ev_units is not None:
            return _sampling.decide(sc, self._refresh is None, stream, units.with_(ev_units), self._dev)
        memo = self._sending
        if stream in memo[2] and memo[0] is sc and memo[1] is units:
            return _SEND
        v = _sampling.decide(sc, self._refresh is None, stream, units, self._dev)
        if v[0] == _sampling.SEND:
            if memo[0] is not sc or memo[1] is not units:
                self._sending = memo = (sc, units, set())
            if len(memo[2]) < 1000:
                memo[2].add(stream)
        return v

    def _fetch_streams(self, if_missing: bool) -> None:
        with self._fetch_mu:
            if if_missing and self._streams is not None:
                return
            path = self._path + "/v1/streams"
            if self._config_streams:
                path += "?streams=" + urllib.parse.quote(",".join(self._config_streams))
            old = self._streams
            headers = {}
            if old is not None and old.etag:
                headers["If-None-Match"] = old.etag
            code, hdrs, body = self._request("GET", path, None, headers)
            if code == 304:
                if old is None:
                    raise HTTPError(304, "answered 304 to a request without If-None-Match")
                return
            if code != 200:
                raise _http_error(code, body)
            sc = StreamConfig.parse(body, hdrs.get("etag", ""))
            self._streams = sc
            for e in sc.sample_errors():
                self._log.warning("intake client: a stream's sample setting is invalid; its events are not sent: %s", e)

    def _await_streams(self, deadline: Optional[float]) -> StreamConfig:
        start = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            sc = self._streams
            if sc is not None:
                return sc
            try:
                self._fetch_streams(True)
                continue
            except Exception as e:  # noqa: BLE001 - any failure to fetch is reported the same way
                err = e
            wait = self._backoff(attempt)
            final = isinstance(err, HTTPError) and err.code < 500 and err.code not in (408, 429)
            now = time.monotonic()
            if (
                final
                or self._stop.is_set()
                or attempt >= self._max_attempts
                or (self._max_elapsed > 0 and now - start + wait > self._max_elapsed)
                or (deadline is not None and now + wait > deadline)
            ):
                raise NoStreamConfigError(f"intake client: no stream configuration to sample by (GET /v1/streams): {err}") from err
            if self._stop.wait(wait):
                raise NoStreamConfigError("intake client: no stream configuration to sample by: the client closed") from err

    def _poll_streams(self) -> None:
        failing = False
        assert self._refresh is not None
        while not self._stop.is_set() and not self._closed:
            wait = self._refresh
            try:
                self._fetch_streams(False)
                if failing:
                    failing = False
                    self._log.info("intake client: stream config refreshed again")
            except Exception as e:  # noqa: BLE001
                if not failing:
                    failing = True
                    self._log.warning("intake client: cannot refresh the stream config; sampling keeps the last one (or, with none yet, events wait for it): %s", e)
                if self._streams is None and not (isinstance(e, HTTPError) and e.code < 500):
                    wait = min(wait, 5.0)  # not fetched yet, for a reason that may pass soon
            # Wake up at close too: _closed is checked each second.
            end = time.monotonic() + wait
            while not self._stop.is_set() and not self._closed and time.monotonic() < end:
                self._stop.wait(min(1.0, end - time.monotonic()))
        self._close_conn()

    # -- the background sender ----------------------------------------------------------------

    def _run_sender(self) -> None:
        try:
            while True:
                try:
                    b = self._q.take()
                except Exception as e:  # noqa: BLE001
                    # The spool cannot be read: stop rather than skip events; they stay on disk.
                    self._log.error("intake client: cannot read the spool; the sender stops (the events stay spooled): %s", e)
                    return
                if b is None or not self._send_batch(b):
                    return
        finally:
            self._close_conn()

    def _batch_streams(self) -> Optional[StreamConfig]:
        while True:
            try:
                return self._await_streams(None)
            except NoStreamConfigError as e:
                if self._spool is None or self._stop.is_set():
                    raise
                self._throttled("spool-streams", "intake client: no stream configuration yet; the spooled events wait for it: %s", e)
                self._stop.wait(self._backoff_max)

    def _send_batch(self, b: Batch) -> bool:
        results = [Result(0, rec.id, rec.stream) for rec in b.recs]
        recs: List[Record] = []
        ress: List[Result] = []
        sc: Optional[StreamConfig] = None
        sc_err: Optional[BaseException] = None
        for rec, r in zip(b.recs, results):
            if rec.units is not None:
                if sc is None and sc_err is None:
                    try:
                        sc = self._batch_streams()
                    except NoStreamConfigError as e:
                        if self._spool is not None:
                            return False  # close gave up: the batch waits in the spool
                        sc_err = e
                if sc is None:
                    r.status, r.error = Status.FAILED, sc_err
                    continue
                v, err = sc.decide(rec.stream, rec.units, False)
                if v != _sampling.SEND:
                    r.status, r.error = Status.SAMPLED_OUT, err
                    continue
            recs.append(rec)
            ress.append(r)
        pending = self._deliver_events(recs, ress, False, None) if recs else []
        while self._spool is not None and pending:
            left = [it for it in pending if it.res.status is Status.FAILED]
            if not left:
                break
            if not self._stop.is_set():
                self._throttled("spool-retry", "intake client: %d events not acknowledged; they stay in the spool and are tried again: %s", len(left), left[0].res.error)
                self._stop.wait(self._backoff_max)
            if self._stop.is_set():
                return False  # close gave up: the whole batch is sent again by the next client
            for it in left:
                it.res.status, it.res.error = None, None
            pending = left
            self._deliver(pending, False, None)
        if self._spool is not None and b.end is not None:
            try:
                self._spool.commit(b.end)
            except OSError as e:
                self._log.error("intake client: cannot move the spool cursor; acknowledged events may be sent again: %s", e)
        if self._stop.is_set():
            self._close_failed += sum(1 for r in results if r.status is Status.FAILED)
        self._finish_all(results, True)
        # Released only now: a waiting flush returns once the results are counted and reported.
        self._q.release(b)
        return True

    # -- results ------------------------------------------------------------------------------

    def _count(self, name: str, n: int = 1) -> None:
        with self._stats_mu:
            setattr(self._stats, name, getattr(self._stats, name) + n)

    def _finish_all(self, results: List[Result], queued: bool) -> None:
        # Fast path: every event accepted, counted under one lock.
        accepted = Status.ACCEPTED
        for r in results:
            if r.status is not accepted:
                break
        else:
            self._count("accepted", len(results))
            if queued and (self._on_result is not None or self._on_error is not None):
                for r in results:
                    self._callbacks(r)
            return
        for r in results:
            self._finish(r, queued)

    def _finish(self, r: Result, queued: bool) -> None:
        if r.status is Status.ACCEPTED:
            self._count("accepted")
        elif r.status is Status.INVALID:
            self._count("invalid")
            self._log_result("invalid", "intake client: event rejected as invalid", r)
        elif r.status is Status.FAILED:
            self._count("failed")
            self._log_result("failed", "intake client: event not delivered", r)
        elif r.status is Status.SAMPLED_OUT:
            self._count("sampled_out")
            if isinstance(r.error, StreamNotConfiguredError):
                self._count("not_configured")
                self._log_result("unconfigured", "intake client: event not sent: its stream is not in the stream configuration", r)
            elif isinstance(r.error, SampleConfigError):
                self._count("sample_invalid")
                self._log_result("sample", "intake client: event not sent: its stream's sample setting is invalid", r)
        if queued:
            self._callbacks(r)

    def _callbacks(self, r: Result) -> None:
        if self._on_result is not None:
            self._on_result(r)
        if self._on_error is not None and (
            r.status in (Status.INVALID, Status.FAILED) or (r.status is Status.SAMPLED_OUT and r.error is not None)
        ):
            self._on_error(r)

    def _log_result(self, key: str, msg: str, r: Result) -> None:
        if self._dev:
            self._log.warning("%s: stream=%s id=%s code=%d err=%s errors=%s", msg, r.stream, r.id, r.code, r.error, r.errors)
            return
        self._throttled(key, "%s: stream=%s id=%s code=%d err=%s", msg, r.stream, r.id, r.code, r.error)

    def _throttled(self, key: str, msg: str, *args: Any) -> None:
        now = time.monotonic()
        with self._throttle_mu:
            last, suppressed = self._throttle.get(key, (0.0, 0))
            if last and now - last < 10:
                self._throttle[key] = (last, suppressed + 1)
                return
            self._throttle[key] = (now, 0)
        if suppressed:
            msg += " (%d more since the last line)"
            args = args + (suppressed,)
        self._log.warning(msg, *args)

    # -- delivery -----------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        bound = min(self._backoff_max, self._backoff_base * (2 ** min(attempt - 1, 60)))
        return random.uniform(0, bound)

    def _deliver_events(self, recs: List[Record], ress: List[Result], debug: bool, deadline: Optional[float]) -> List[_Item]:
        """_deliver for events not posted yet, ress their results. When the edge takes the whole
        batch at the first attempt, that is all: no _Item is made (returns []). Otherwise returns
        the _Items that _deliver went on with."""
        start = time.monotonic()
        answer = self._exchange(recs, debug)
        for res in ress:
            res.attempts += 1
        code, a, exc = answer[0], answer[3], answer[4]
        if (
            exc is None
            and 200 <= code < 300
            and not debug
            and (a is None or not (isinstance(a.get("invalid"), list) or isinstance(a.get("error"), list)))
        ):
            accepted = Status.ACCEPTED
            for res in ress:  # what _settle does for each
                res.status, res.code, res.error = accepted, code, None
            return []
        items = [_Item(rec, res) for rec, res in zip(recs, ress)]
        self._deliver(items, debug, deadline, start, self._settle(items, debug, *answer))
        return items

    def _deliver(
        self, items: List[_Item], debug: bool, deadline: Optional[float], start: Optional[float] = None, first: Optional[float] = None
    ) -> None:
        """Posts items until each is accepted, invalid or failed: retryable failures are retried
        with backoff (full jitter, never shorter than Retry-After) within max_attempts,
        max_elapsed and deadline. Only the events the edge did not take are sent again. first:
        the first attempt was made (at start) and settled, its answer's Retry-After."""
        if start is None:
            start = time.monotonic()
        pending = items
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1:
                self._count("retried", len(pending))
            retry_after = self._post(pending, debug) if first is None or attempt > 1 else first
            nxt = [it for it in pending if it.retry]
            if not nxt:
                return
            wait = max(self._backoff(attempt), retry_after)
            why = ""
            now = time.monotonic()
            if self._stop.is_set():
                why = "the client closed"
            elif attempt >= self._max_attempts:
                why = f"{attempt} attempts (max_attempts)"
            elif self._max_elapsed > 0 and now - start + wait > self._max_elapsed:
                why = f"no attempt left within {self._max_elapsed}s (max_elapsed)"
            elif deadline is not None and now + wait > deadline:
                why = "the timeout ran out"
            elif self._stop.wait(wait):
                why = "the client closed"
            if why:
                for it in nxt:
                    it.fail(
                        it.res.code,
                        IntakeError(
                            f"intake client: event {it.rec.id} not acknowledged after {it.res.attempts} attempts in "
                            f"{time.monotonic() - start:.3f}s: {why} (last error: {it.last_error})"
                        ),
                    )
                return
            pending = nxt

    def _post(self, items: List[_Item], debug: bool) -> float:
        """Sends items once and settles each; returns the answer's Retry-After (0 when none)."""
        for it in items:
            it.res.attempts += 1
            it.retry = False
        return self._settle(items, debug, *self._exchange([it.rec for it in items], debug))

    def _exchange(self, recs: List[Record], debug: bool) -> Tuple[int, Dict[str, str], bytes, Optional[Dict[str, Any]], Optional[Exception]]:
        """One POST of recs: the answer's code, headers, body and body as a JSON object (None
        when it is not one); or, when no answer came, the error last."""
        body = b"[" + b",".join([rec.raw for rec in recs]) + b"]"
        with self._stats_mu:
            self._stats.requests += 1
            self._stats.sent += len(recs)
        headers = {"Content-Type": "application/json"}
        if self._gzip_min is not None and len(body) >= self._gzip_min:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        try:
            code, hdrs, rb = self._request("POST", self._path + ("/v1/events?debug=true" if debug else "/v1/events"), body, headers)
        except Exception as e:  # noqa: BLE001 - no answer: a connection error, a failing token source
            return 0, {}, b"", None, e
        try:
            a = json.loads(rb) if rb else None
        except ValueError:
            a = None
        return code, hdrs, rb, a if isinstance(a, dict) else None, None

    def _settle(
        self, items: List[_Item], debug: bool, code: int, hdrs: Dict[str, str], rb: bytes, a: Optional[Dict[str, Any]], exc: Optional[Exception]
    ) -> float:
        """Settles items by the answer to their post (_exchange); returns its Retry-After (0 when none)."""
        if exc is not None:
            for it in items:
                it.again(0, exc)
            return 0.0
        retry_after = parse_retry_after(hdrs.get("retry-after"))
        if debug and a is not None and isinstance(a.get("events"), list):
            self._settle_debug(items, code, a["events"])
        elif a is not None and (isinstance(a.get("invalid"), list) or isinstance(a.get("error"), list)):
            self._settle_lists(items, code, a)
        elif 200 <= code < 300:
            accepted = Status.ACCEPTED
            for it in items:  # it.accept(code), inline
                res = it.res
                res.status, res.code, res.error = accepted, code, None
        elif code in (413, 400):
            # The request as a whole: too large, or over a JSON limit. Halves find the event to
            # blame and let its siblings through.
            if len(items) > 1:
                h = len(items) // 2
                return max(self._post(items[:h], debug), self._post(items[h:], debug))
            items[0].invalid(code, _http_error(code, rb).message, [], None)
        elif code in (408, 429) or code >= 500:
            he = _http_error(code, rb)
            for it in items:
                it.again(code, he)
        else:
            # 401, 403 without lists, 404, 415, ...: another attempt would get the same answer.
            he = _http_error(code, rb)
            for it in items:
                it.fail(code, he)
        return retry_after

    def _settle_lists(self, items: List[_Item], code: int, a: Dict[str, Any]) -> None:
        """EventGate's lists: under "invalid": invalid; under "error": retried; unlisted: accepted.
        Entries name their event by meta.id (or index, in answers to browsers)."""
        matched = [False] * len(items)
        by_id: Dict[str, List[int]] = {}
        for i, it in enumerate(items):
            by_id.setdefault(it.rec.id, []).append(i)

        def find(e: Any) -> Optional[_Item]:
            if not isinstance(e, dict):
                return None
            idx = e.get("index")
            if isinstance(idx, int) and not isinstance(idx, bool) and 0 <= idx < len(items) and not matched[idx]:
                matched[idx] = True
                return items[idx]
            ev = e.get("event")
            meta = ev.get("meta") if isinstance(ev, dict) else None
            eid = meta.get("id") if isinstance(meta, dict) else None
            for i in by_id.get(eid, []) if isinstance(eid, str) else []:
                if not matched[i]:
                    matched[i] = True
                    return items[i]
            return None

        unmatched = 0
        for e in a.get("invalid") or []:
            found = find(e)
            if found is None:
                unmatched += 1
                continue
            ctx = e.get("context") if isinstance(e.get("context"), dict) else {}
            errs: List[Dict[str, Any]] = ctx.get("errors") or [] if isinstance(ctx.get("errors"), list) else []
            found.invalid(code, ctx.get("errorsText") or ctx.get("message") or "", errs, e.get("event"))
        for e in a.get("error") or []:
            found = find(e)
            if found is None:
                unmatched += 1
                continue
            ctx = e.get("context") if isinstance(e.get("context"), dict) else {}
            found.again(code, HTTPError(code, ctx.get("message") or "the edge could not produce the event"))
        for i, it in enumerate(items):
            if matched[i]:
                continue
            if unmatched:
                # An entry names no event of ours: we cannot tell which were accepted. Sending
                # again risks a duplicate (meta.id tells); not sending risks a loss.
                it.again(code, HTTPError(code, "the answer lists events the client cannot match to its own"))
            else:
                it.accept(code)
        if unmatched:
            self._throttled("unmatched", "intake client: the answer lists %d events without a known meta.id; sending the unlisted events again", unmatched)

    def _settle_debug(self, items: List[_Item], code: int, events: List[Any]) -> None:
        seen = [False] * len(items)
        for e in events:
            if not isinstance(e, dict):
                continue
            i = e.get("index")
            if not isinstance(i, int) or not 0 <= i < len(items) or seen[i]:
                continue
            seen[i] = True
            it = items[i]
            status = e.get("status")
            if status == "accepted":
                it.accept(code)
                it.res.event, it.res.topic = e.get("event"), e.get("topic") or ""
            elif status in ("invalid", "refused"):
                text = e.get("errorsText") or e.get("message") or ""
                if status == "refused":
                    text = "refused: " + text
                it.invalid(code, text, e.get("errors") or [], e.get("event"))
            else:  # rate_limited, unavailable, error
                it.again(code, HTTPError(code, e.get("message") or str(status)))
        for i, it in enumerate(items):
            if not seen[i]:
                it.again(code, HTTPError(code, "the developer mode answer has no verdict for the event"))

    # -- HTTP ---------------------------------------------------------------------------------

    def _conn(self) -> http.client.HTTPConnection:
        c = getattr(self._local, "conn", None)
        if c is None:
            if self._scheme == "https":
                c = http.client.HTTPSConnection(self._netloc, timeout=self._timeout)
            else:
                c = http.client.HTTPConnection(self._netloc, timeout=self._timeout)
            self._local.conn = c
            with self._conns_mu:
                self._conns.add(c)
        return c

    def _close_conn(self) -> None:
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None
            with self._conns_mu:
                self._conns.discard(c)

    def _abort_conns(self) -> None:
        """Ends the requests in flight on every thread's connection (close gave up): the blocked
        reads fail at once, as the Go client's cancelled contexts do."""
        with self._conns_mu:
            conns = list(self._conns)
        for c in conns:
            sock = c.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _request(self, method: str, path: str, body: Optional[bytes], headers: Dict[str, str]) -> Tuple[int, Dict[str, str], bytes]:
        """One request on this thread's keep-alive connection (a fresh one once, when the edge
        closed it meanwhile). Raises on no answer."""
        h = dict(self._headers)
        h.update(headers)
        h["User-Agent"] = self._user_agent
        if self._token_source is not None:
            try:
                h["Authorization"] = "Bearer " + self._token_source()
            except Exception as e:  # noqa: BLE001
                raise IntakeError(f"intake client: the token source failed (token_source): {e}") from e
        elif self._api_key:
            h["Authorization"] = "Bearer " + self._api_key
        for fresh in (False, True):
            c = self._conn()
            reused = c.sock is not None
            try:
                c.request(method, path or "/", body=body, headers=h)
                resp = c.getresponse()
                rb = resp.read(_MAX_ANSWER_BYTES)
                hdrs = {k.lower(): v for k, v in resp.getheaders()}
                if resp.will_close:
                    self._close_conn()
                return resp.status, hdrs, rb
            except _STALE:
                self._close_conn()
                if fresh or not reused:
                    raise
            except BaseException:
                self._close_conn()
                raise
        raise AssertionError("BUG: unreachable")


def _http_error(code: int, body: bytes) -> HTTPError:
    msg = ""
    try:
        a = json.loads(body)
        if isinstance(a, dict) and isinstance(a.get("message"), str):
            msg = a["message"]
    except ValueError:
        pass
    if not msg:
        msg = body[:200].decode("utf-8", "replace").strip()
    return HTTPError(code, msg)
