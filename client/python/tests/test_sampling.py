"""The sampling rule on every shared case of client/testdata/sampling-vectors.json (the Go and
browser clients run the same file)."""

import json
import pathlib

import pytest

from intake_client import SampleConfigError, StreamConfig, StreamNotConfiguredError, Units, in_sample
from intake_client import _sampling

VECTORS = pathlib.Path(__file__).resolve().parents[2] / "testdata" / "sampling-vectors.json"
DOC = json.loads(VECTORS.read_text())


def test_every_unit_vector():
    cases = DOC["cases"]
    assert len(cases) >= 100
    wrong = [c for c in cases if in_sample(c["id"], c["rate"]) != c["in"]]
    assert not wrong


def test_every_decision():
    d = DOC["decisions"]
    assert len(d["cases"]) >= 40
    configs = {name: StreamConfig(streams) for name, streams in d["configs"].items()}
    base = Units(**d["units"])
    seen = set()
    ran = 0
    for c in d["cases"]:
        for dev in (False, True):
            cfg = None if c["config"] in ("off", "unloaded") else configs[c["config"]]
            units = base.with_(Units(**c["units"])) if c.get("units") else base
            verdict, err = _sampling.decide(cfg, c["config"] == "off", c["stream"], units, dev)
            want = c["developer"] if dev else c["verdict"]
            assert verdict == want, (c, dev)
            if verdict == _sampling.INVALID:
                assert isinstance(err, SampleConfigError)
            elif verdict == _sampling.UNCONFIGURED:
                assert isinstance(err, StreamNotConfiguredError) and err.stream == c["stream"]
            else:
                assert err is None
            seen.add(verdict)
            ran += 1
    assert ran == 2 * len(d["cases"])
    assert seen == {"send", "out", "invalid", "unconfigured", "no-config"}


def test_regex_order_and_cache():
    sc = StreamConfig.parse(
        b'{"streams": {"/^a\\\\..+$/": {"sample": {"rate": 0, "unit": "session"}}, "/^a\\\\.b$/": {}}}'
    )
    u = Units("00000000", "00000000", "00000000")
    for _ in range(2):  # the second time from the lookup cache
        assert sc.decide("a.b", u, False)[0] == "out"
        assert sc.decide("b", u, False)[0] == "unconfigured"


@pytest.mark.parametrize("rate", [float("nan"), -1.0])
def test_odd_rates_are_out(rate):
    assert not in_sample("00000000", rate)


def test_client_decides_again_when_units_or_config_change():
    """The client remembers the streams it sends with its own units, for that configuration and
    those units only: set_units, a new configuration and an event's own units are decided afresh."""
    from intake_client import Client, Status, UnitEvent

    c = Client("http://127.0.0.1:9", stream_config_refresh=None)
    c._request = lambda *a, **k: (201, {}, b"")  # type: ignore[method-assign]
    half = StreamConfig({"s": {"sample": {"rate": 0.5, "unit": "session"}}, "all": {}})
    c._streams = half
    inside, outside = Units(session="00000000"), Units(session="ffffffff")
    ev = {"meta": {"stream": "s"}}

    def statuses(*evs):
        return [r.status for r in c.send(*evs)]

    c.set_units(inside)
    assert statuses(ev, ev) == [Status.ACCEPTED] * 2
    c.enqueue(ev)
    assert statuses(UnitEvent(ev, outside), ev) == [Status.SAMPLED_OUT, Status.ACCEPTED]
    c.set_units(outside)
    assert statuses(ev, UnitEvent(ev, inside), ev) == [Status.SAMPLED_OUT, Status.ACCEPTED, Status.SAMPLED_OUT]
    c.enqueue(ev)
    assert c.stats().sampled_out == 4
    c.set_units(inside)
    assert statuses(ev) == [Status.ACCEPTED]
    c._streams = StreamConfig({"s": {"sample": {"rate": 0, "unit": "session"}}})
    assert statuses(ev, {"meta": {"stream": "all"}}) == [Status.SAMPLED_OUT, Status.SAMPLED_OUT]
    assert isinstance(c.send({"meta": {"stream": "all"}})[0].error, StreamNotConfiguredError)
    c.close()
