"""The bounded queue between enqueue and the sender threads: in memory, or in a spool on disk.
Bounded by events and bytes, the batches in flight included; put never blocks on the network."""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from typing import Deque, List, Optional

from ._event import Record
from ._result import ClosedError, QueueFullError
from ._spool import Pos, Spool


@dataclass
class Batch:
    recs: List[Record]
    nbytes: int
    end: Optional[Pos] = None  # spool: just past the last record


class Queue:
    def __init__(
        self,
        batch_events: int,
        batch_bytes: int,
        interval: float,
        max_events: int,
        max_bytes: int,
        spool: Optional[Spool],
    ) -> None:
        self.cv = threading.Condition()
        self.batch_events, self.batch_bytes, self.interval = batch_events, batch_bytes, interval
        self.max_events, self.max_bytes = max_events, max_bytes
        self.spool = spool
        self.mem: Deque[Record] = collections.deque()
        self.waiting = self.waiting_bytes = self.inflight = self.inflight_bytes = 0
        self.oldest = 0.0
        self.closing = False
        self.stopped = False  # close gave up: senders stop now
        self.flushes = 0
        self.reading = False  # a sender is reading the spool (one at a time, in order)
        if spool is not None:
            # The spool is bounded by its bytes on disk; records there cost no memory.
            self.max_events = 1 << 62
            self.waiting, self.waiting_bytes = spool.recovered, spool.recovered_bytes
            self.oldest = time.monotonic() - interval  # a backlog goes out at once

    def put(self, rec: Record) -> None:
        size = len(rec.raw)
        with self.cv:
            if self.closing:
                raise ClosedError("intake client: closed")
            if self.waiting + self.inflight + 1 > self.max_events or self.waiting_bytes + self.inflight_bytes + size > self.max_bytes:
                raise QueueFullError("intake client: queue full; the event was not queued (max_queue_events, max_queue_bytes, spool_max_bytes)")
            if self.spool is not None:
                size = self.spool.append(rec)
            else:
                self.mem.append(rec)
            self.waiting += 1
            self.waiting_bytes += size
            if self.waiting == 1:
                self.oldest = time.monotonic()
            if self.waiting == 1 or self.waiting >= self.batch_events or self.waiting_bytes >= self.batch_bytes:
                self.cv.notify_all()

    def _ready(self) -> Optional[float]:
        """0 when a batch should go now, else how long until it should (None: nothing waits)."""
        if self.waiting == 0:
            return None
        if self.closing or self.flushes or self.waiting >= self.batch_events or self.waiting_bytes >= self.batch_bytes:
            return 0.0
        return max(0.0, self.interval - (time.monotonic() - self.oldest))

    def take(self) -> Optional[Batch]:
        """Waits for a batch; None once the queue is closed and empty, or close gave up."""
        with self.cv:
            while True:
                if self.stopped:
                    return None
                wait = self._ready()
                if wait == 0 and not self.reading:
                    break
                if wait is None and self.closing:
                    return None
                self.cv.wait(wait if wait else None)
            if self.spool is None:
                return self._pop()
            avail = self.waiting
            self.reading = True
        try:
            # Outside the lock: the records counted as waiting are whole on disk.
            recs, nbytes, end = self.spool.read(self.batch_events, self.batch_bytes, avail)
        finally:
            with self.cv:
                self.reading = False
        with self.cv:
            self.waiting -= len(recs)
            self.waiting_bytes -= nbytes
            self.inflight += len(recs)
            self.inflight_bytes += nbytes
            if self.waiting:
                self.oldest = time.monotonic() - self.interval
            self.cv.notify_all()
        return Batch(recs, nbytes, end)

    def _pop(self) -> Batch:
        recs: List[Record] = []
        nbytes = 0
        while self.mem and len(recs) < self.batch_events:
            size = len(self.mem[0].raw)
            if recs and nbytes + size > self.batch_bytes:
                break
            recs.append(self.mem.popleft())
            nbytes += size
        self.waiting -= len(recs)
        self.waiting_bytes -= nbytes
        self.inflight += len(recs)
        self.inflight_bytes += nbytes
        if self.waiting:
            self.cv.notify_all()  # another sender may take the next batch
        return Batch(recs, nbytes)

    def release(self, b: Batch) -> None:
        with self.cv:
            self.inflight -= len(b.recs)
            self.inflight_bytes -= b.nbytes
            self.cv.notify_all()

    def close(self) -> None:
        with self.cv:
            self.closing = True
            self.cv.notify_all()

    def stop(self) -> None:
        with self.cv:
            self.stopped = True
            self.cv.notify_all()

    def flush(self, timeout: Optional[float]) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cv:
            self.flushes += 1
            self.cv.notify_all()
            try:
                while self.waiting + self.inflight > 0:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self.cv.wait(left)
                return True
            finally:
                self.flushes -= 1

    def drain_mem(self) -> List[Record]:
        with self.cv:
            left = list(self.mem)
            self.mem.clear()
            self.waiting = self.waiting_bytes = 0
            return left

    def queued(self) -> int:
        with self.cv:
            return self.waiting + self.inflight
