"""Live figures: the snapshot of an engine in the middle of calls, and the Prometheus endpoint scraped
over loopback."""
import os
import sys
import urllib.request

import pytest

from pycallcenter.acd.core import Acd
from pycallcenter.metrics import TickStats, snapshot

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_rig import analog_engine  # noqa: E402


def _busy_centre():
    """alice is in a call waiting in queue 'sales'; bob is idle. Return (engine, acd, ticks)."""
    eng, far = analog_engine()
    acd = Acd()
    acd.add_queue("sales")
    acd.add_agent("ann", queues={"sales": 0})
    acd.login("ann", 0.0)
    acd.pause("ann", 0.0)

    async def script(ivr):
        await ivr.answer()
        eng.calls[ivr.id].queue = "sales"
        acd.enter(ivr.id, "sales", eng.now / 8000, caller="alice")
        await ivr.wait(60)

    eng.router = lambda leg: script
    far["alice"].off_hook()
    ticks = TickStats()
    for _ in range(100):
        ticks.timed_tick(eng)
    return eng, acd, ticks


def _clear(eng, acd):
    """Hang the waiting call up (it leaves the queue as an abandon) and let the engine clear it."""
    for call_id in list(acd.calls):
        acd.hangup(call_id, eng.now / 8000)
    for leg in list(eng.legs.values()):
        leg.hangup()
    eng.run(seconds=2, until=lambda: not eng.calls)


def test_snapshot_counts_calls_channels_queues():
    eng, acd, ticks = _busy_centre()
    snap = snapshot(eng, acd, ticks)
    fxs = [s for s in snap["spans"] if s["kind"] == "FXS"][0]
    assert (fxs["channels"], fxs["in_use"]) == (2, 1)
    assert snap["calls"]["active"] == 1 and snap["calls"]["by_state"] == {"answered": 1}
    assert snap["calls"]["list"][0]["queue"] == "sales" and snap["calls"]["list"][0]["channels"] == [1]
    q = snap["queues"][0]
    assert (q["queue"], q["waiting"], q["offered"]) == ("sales", 1, 1) and q["longest_wait"] > 1.0
    assert snap["agents"] == [{"agent": "ann", "state": "paused", "call": None}]
    assert snap["ticks"]["count"] == 100 and snap["ticks"]["max"] >= snap["ticks"]["last"] > 0
    assert (q["sl_seconds"], q["sl_mode"]) == (20.0, "offered")  # the one definition, shown with the figure
    _clear(eng, acd)


def test_tick_overruns_count_ticks_longer_than_their_audio():
    t = TickStats(tick_seconds=0.02)
    for s in (0.001, 0.019, 0.021, 0.5):
        t.record(s)
    assert (t.count, t.overruns, t.max) == (4, 2, 0.5)


def test_prometheus_endpoint_scraped_over_loopback():
    pytest.importorskip("prometheus_client", reason="prometheus-client is not installed")
    from pycallcenter.metrics import serve

    eng, acd, ticks = _busy_centre()
    snap = snapshot(eng, acd, ticks)
    server, thread = serve(lambda: snap, 0)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10).read().decode()
    finally:
        server.shutdown()
        server.server_close()
        _clear(eng, acd)
    lines = set(body.splitlines())
    assert 'pycc_channels_in_use{span="1"} 1.0' in lines
    assert 'pycc_channels{span="2"} 2.0' in lines
    assert 'pycc_span_alarms{span="1"} 0.0' in lines
    assert 'pycc_span_alarm{alarm="red",span="1"} 0.0' in lines
    assert 'pycc_span_errors_total{counter="bpv",span="1"} 0.0' in lines
    assert 'pycc_calls{state="answered"} 1.0' in lines and 'pycc_calls{state="setup"} 0.0' in lines
    assert 'pycc_queue_depth{queue="sales"} 1.0' in lines
    assert 'pycc_queue_calls_total{outcome="offered",queue="sales"} 1.0' in lines
    assert 'pycc_queue_calls_total{outcome="answered_in_sl",queue="sales"} 0.0' in lines
    assert 'pycc_queue_service_level_target_seconds{queue="sales"} 20.0' in lines
    assert 'pycc_ticks_total 100.0' in lines and "# TYPE pycc_tick_overruns_total counter" in lines
    assert any(line.startswith("pycc_tick_max_seconds ") for line in lines)
