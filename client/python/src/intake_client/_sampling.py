"""The sampling rule, shared with the Go and browser clients (client/testdata/sampling-vectors.json)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ._result import SampleConfigError, StreamNotConfiguredError

# Verdicts, named as in sampling-vectors.json.
SEND = "send"
OUT = "out"
INVALID = "invalid"
UNCONFIGURED = "unconfigured"
NO_CONFIG = "no-config"

_HEX = frozenset("0123456789abcdefABCDEF")


def in_sample(unit_id: str, rate: float) -> bool:
    """Whether the unit with this id is in a sample of rate, by Wikimedia Metrics Platform's rule: a
    rate of 1 or more is in, 0 or less (or NaN) out; otherwise the first 8 characters of the id must
    be hex digits, and their value divided by 0xFFFFFFFF must be below the rate."""
    if rate >= 1:
        return True
    if not rate > 0 or len(unit_id) < 8:
        return False
    head = unit_id[:8]
    if not all(c in _HEX for c in head):
        return False
    return int(head, 16) / 0xFFFFFFFF < rate


@dataclass(frozen=True)
class Units:
    """The ids sampling draws on: a stream's sample.unit names one of them. Empty: the client's."""

    session: str = ""
    pageview: str = ""
    device: str = ""

    def with_(self, other: "Units") -> "Units":
        return Units(
            other.session or self.session,
            other.pageview or self.pageview,
            other.device or self.device,
        )

    def id(self, unit: str) -> str:
        if unit in ("session", "pageview", "device"):
            return str(getattr(self, unit))
        return ""


@dataclass
class _Sample:
    name: str
    has: bool = False
    rate: float = 0.0
    unit: str = ""
    error: Optional[SampleConfigError] = None


def _short(v: Any) -> str:
    s = json.dumps(v)
    return s if len(s) <= 64 else s[:64] + "..."


def _read_sample(name: str, sample: Any, present: bool) -> _Sample:
    s = _Sample(name)
    if not present or sample is None:
        return s
    s.has = True
    if not isinstance(sample, dict):
        s.error = SampleConfigError(name, f"sample is not an object: {_short(sample)}")
        return s
    rate = sample.get("rate")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        s.error = SampleConfigError(name, f"sample.rate {_short(rate) if 'rate' in sample else '(missing)'} is not a number in [0, 1]")
        return s
    unit = sample.get("unit")
    if unit not in ("session", "pageview", "device"):
        s.error = SampleConfigError(
            name, f'sample.unit {_short(unit) if "unit" in sample else "(missing)"} is not "session", "pageview" or "device"'
        )
        return s
    s.rate, s.unit = float(rate), unit
    return s


class StreamConfig:
    """One fetched GET /v1/streams: exact names first, then /regex/ names in configuration order."""

    def __init__(self, streams: Any, etag: str = "") -> None:
        self.etag = etag
        self._exact: Dict[str, Optional[_Sample]] = {}
        self._regexes: List[Tuple["re.Pattern[str]", Optional[_Sample]]] = []
        self._resolved: Dict[str, Optional[_Sample]] = {}
        if streams is None:
            return
        if not isinstance(streams, dict):
            raise ValueError('cannot parse the stream config: "streams" is not an object')
        for name, settings in streams.items():
            # Settings that are not an object leave the stream unconfigured.
            s = _read_sample(name, settings.get("sample"), "sample" in settings) if isinstance(settings, dict) else None
            if len(name) >= 2 and name[0] == "/" and name[-1] == "/":
                try:
                    rx = re.compile(name[1:-1])
                except re.error:
                    continue  # the edge skips a pattern it cannot compile too
                self._regexes.append((rx, s))
                continue
            self._exact[name] = s

    @classmethod
    def parse(cls, body: bytes, etag: str = "") -> "StreamConfig":
        doc = json.loads(body)
        if not isinstance(doc, dict):
            raise ValueError("cannot parse the stream config: not an object")
        return cls(doc.get("streams"), etag)

    def sample_errors(self) -> List[SampleConfigError]:
        out = [s.error for s in self._exact.values() if s is not None and s.error is not None]
        out += [s.error for _, s in self._regexes if s is not None and s.error is not None]
        return out

    def _lookup(self, name: str) -> Optional[_Sample]:
        if name in self._exact:
            return self._exact[name]
        if not self._regexes:
            return None
        if name in self._resolved:
            return self._resolved[name]
        found = None
        for rx, s in self._regexes:
            if rx.search(name):
                found = s
                break
        if len(self._resolved) < 10000:
            self._resolved[name] = found
        return found

    def decide(self, stream: str, units: Units, developer: bool) -> Tuple[str, Optional[Exception]]:
        s = self._lookup(stream)
        if s is None:
            return UNCONFIGURED, StreamNotConfiguredError(stream)
        if not s.has:
            return SEND, None
        if s.error is not None:
            return INVALID, s.error
        if developer or in_sample(units.id(s.unit), s.rate):
            return SEND, None
        return OUT, None


def decide(config: Optional[StreamConfig], off: bool, stream: str, units: Units, developer: bool) -> Tuple[str, Optional[Exception]]:
    """The rule on one event: config None is not loaded yet (NO_CONFIG), unless off (no
    configuration by choice: every event is sent)."""
    if config is None:
        return (SEND, None) if off else (NO_CONFIG, None)
    return config.decide(stream, units, developer)
