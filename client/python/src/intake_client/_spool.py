"""The on-disk queue: enqueued events are written here before enqueue returns, and leave only
once the edge acknowledged them (or rejected them as invalid).

Layout of the spool directory (the Go client's, with CRC-32 in place of CRC-32C, which the
standard library lacks, and a JSON header line: not interchangeable with the Go or JVM clients'
spools, whose directories this client cannot read, nor they this one's):

    00000000000000000001.seg   segment files, appended in order, numbered from 1
    cursor                     where the unacknowledged records start: segment u64, offset u64, crc32
    lock                       held (flock) by the client using the spool

A record is: length u32 LE, CRC-32 of the payload u32 LE, payload = a JSON header line
({"i": id, "s": stream, "u": [session, pageview, device] for events not sampled yet}), "\\n", the
event's JSON. Each is written with one write(2), so a killed process loses nothing the kernel has;
a writer killed mid-write leaves a torn tail, cut at the next open. The cursor is replaced (write,
rename) after each acknowledged batch; a missing or damaged cursor restarts from the oldest
segment: duplicates (meta.id tells), never loss.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import struct
import threading
import zlib
from typing import Any, BinaryIO, Dict, List, Optional, Tuple

from ._event import Record
from ._result import IntakeError
from ._sampling import Units

_HEADER = struct.Struct("<II")
_CURSOR = struct.Struct("<QQI")
_MAX_RECORD = 64 << 20
_SUFFIX = ".seg"

Pos = Tuple[int, int]  # (segment, offset)


def frame_size(rec: Record) -> int:
    return len(_payload(rec)) + _HEADER.size


def _payload(rec: Record) -> bytes:
    h: Dict[str, Any] = {"i": rec.id, "s": rec.stream}
    if rec.units is not None:
        h["u"] = [rec.units.session, rec.units.pageview, rec.units.device]
    return json.dumps(h, separators=(",", ":")).encode() + b"\n" + rec.raw


def _decode(payload: bytes) -> Record:
    nl = payload.index(b"\n")
    h = json.loads(payload[:nl])
    u = h.get("u")
    return Record(h["i"], h["s"], payload[nl + 1 :], Units(*u) if u else None)


class Spool:
    def __init__(self, directory: str, fsync: Optional[float], segment_bytes: int, log: logging.Logger) -> None:
        self.dir = directory
        self.fsync = fsync
        self.seg_bytes = segment_bytes
        self.log = log
        os.makedirs(directory, exist_ok=True)
        self._lock = open(os.path.join(directory, "lock"), "a+b")
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            self._lock.close()
            raise IntakeError(f"intake client: the spool {directory} is in use by another client (spool_dir): {e}") from None
        self.recovered = 0
        self.recovered_bytes = 0
        self._dirty = False
        self._wmu = threading.Lock()  # the writer's file, against the background fsync
        self._recover()
        self._closing = threading.Event()
        self._syncer: Optional[threading.Thread] = None
        if fsync is not None and fsync > 0:
            self._syncer = threading.Thread(target=self._sync_loop, args=(fsync,), name="intake-spool-fsync", daemon=True)
            self._syncer.start()

    def _path(self, seg: int) -> str:
        return os.path.join(self.dir, "%020d%s" % (seg, _SUFFIX))

    def _segments(self) -> List[int]:
        segs = []
        for name in os.listdir(self.dir):
            if name.endswith(_SUFFIX):
                try:
                    n = int(name[: -len(_SUFFIX)])
                except ValueError:
                    continue
                if n > 0:
                    segs.append(n)
        return sorted(segs)

    def _read_cursor(self) -> Optional[Pos]:
        try:
            with open(os.path.join(self.dir, "cursor"), "rb") as f:
                b = f.read()
        except FileNotFoundError:
            return None
        if len(b) != _CURSOR.size:
            return None
        seg, off, crc = _CURSOR.unpack(b)
        if zlib.crc32(b[:16]) != crc:
            self.log.warning("intake client: the spool's cursor is damaged; starting from the oldest segment (duplicates, never loss)")
            return None
        return seg, off

    def _recover(self) -> None:
        segs = self._segments()
        cur = self._read_cursor()
        if cur is None:
            cur = (segs[0] if segs else 1, 0)
        keep = []
        for seg in segs:
            if seg < cur[0]:
                os.unlink(self._path(seg))
            else:
                keep.append(seg)
        if keep and keep[0] > cur[0]:
            cur = (keep[0], 0)
        for seg in keep:
            start = cur[1] if seg == cur[0] else 0
            n, nbytes = self._check(seg, start)
            self.recovered += n
            self.recovered_bytes += nbytes
        self.cursor: Pos = cur
        self.rpos: Pos = cur
        self.wseg = keep[-1] if keep else cur[0]
        self._wf = open(self._path(self.wseg), "ab")
        self.woff = self._wf.tell()
        self._rf: Optional[BinaryIO] = None
        self._rseg = 0

    def _check(self, seg: int, start: int) -> Tuple[int, int]:
        """Counts the whole records of seg from start and cuts a torn tail."""
        path = self._path(seg)
        n = nbytes = 0
        with open(path, "r+b") as f:
            f.seek(start)
            off = start
            while True:
                h = f.read(_HEADER.size)
                if not h:
                    break
                ok = len(h) == _HEADER.size
                if ok:
                    length, crc = _HEADER.unpack(h)
                    ok = length <= _MAX_RECORD
                    if ok:
                        p = f.read(length)
                        ok = len(p) == length and zlib.crc32(p) == crc
                if not ok:
                    size = os.fstat(f.fileno()).st_size
                    self.log.warning("intake client: cutting a torn record at the spool's tail", extra={"segment": path, "offset": off, "bytes": size - off})
                    f.truncate(off)
                    break
                n += 1
                nbytes += _HEADER.size + length
                off += _HEADER.size + length
        return n, nbytes

    def append(self, rec: Record) -> int:
        """Writes rec (one write) and returns its size on disk. Callers serialize appends."""
        p = _payload(rec)
        frame = _HEADER.pack(len(p), zlib.crc32(p)) + p
        with self._wmu:
            if self.woff >= self.seg_bytes:
                self._sync_locked()
                self._wf.close()
                self.wseg += 1
                self._wf = open(self._path(self.wseg), "ab")
                self.woff = 0
            os.write(self._wf.fileno(), frame)  # unbuffered: the kernel has it when this returns
            self.woff += len(frame)
            self._dirty = True
            if self.fsync == 0:
                self._sync_locked()
        return len(frame)

    def _sync_locked(self) -> None:
        if self._dirty and self.fsync is not None:
            os.fsync(self._wf.fileno())
        self._dirty = False

    def _sync_loop(self, every: float) -> None:
        """fsyncs new data at most every interval: a machine crash loses at most that much."""
        while not self._closing.wait(every):
            with self._wmu:
                self._sync_locked()

    def read(self, max_events: int, max_bytes: int, avail: int) -> Tuple[List[Record], int, Pos]:
        """Reads the next batch (at least one record of the avail whole ones waiting): records,
        their bytes, and the position just past them. Only the sender thread reads."""
        recs: List[Record] = []
        nbytes = 0
        seg, off = self.rpos
        while len(recs) < min(max_events, avail):
            if self._rf is None or self._rseg != seg:
                if self._rf is not None:
                    self._rf.close()
                self._rf = open(self._path(seg), "rb")
                self._rseg = seg
            f = self._rf
            f.seek(off)
            h = f.read(_HEADER.size)
            if len(h) < _HEADER.size:
                if seg < self.wseg:  # the end of a finished segment
                    seg, off = seg + 1, 0
                    continue
                raise IntakeError(f"intake client: the spool {self.dir} ends before the records counted in it")
            length, crc = _HEADER.unpack(h)
            if recs and nbytes + _HEADER.size + length > max_bytes:
                break
            p = f.read(length)
            if len(p) != length or zlib.crc32(p) != crc:
                raise IntakeError(f"intake client: a damaged record in the spool {self.dir} (segment {seg}, offset {off})")
            recs.append(_decode(p))
            nbytes += _HEADER.size + length
            off += _HEADER.size + length
        self.rpos = (seg, off)
        return recs, nbytes, (seg, off)

    def rewind(self) -> None:
        """The next read starts at the cursor again (the batch read was not acknowledged)."""
        self.rpos = self.cursor

    def commit(self, end: Pos) -> None:
        """Moves the cursor past an acknowledged batch and deletes the segments wholly before it."""
        b = struct.pack("<QQ", end[0], end[1])
        tmp = os.path.join(self.dir, "cursor.tmp")
        with open(tmp, "wb") as f:
            f.write(b + struct.pack("<I", zlib.crc32(b)))
            if self.fsync == 0:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.dir, "cursor"))
        for seg in range(self.cursor[0], end[0]):
            try:
                os.unlink(self._path(seg))
            except FileNotFoundError:
                pass
        self.cursor = end

    def close(self) -> None:
        self._closing.set()
        if self._syncer is not None:
            self._syncer.join()
        with self._wmu:
            self._sync_locked()
            self._wf.close()
        if self._rf is not None:
            self._rf.close()
        self._lock.close()
