"""One service level everywhere: a scripted mix of answered (in and out of target), abandoned and
short-abandoned calls gives the same figure, under each mode, on the wallboard (the ACD's live view),
the metrics snapshot and its Prometheus gauge, the CTI snapshot, `pycallcenter report` from the
database (queue log and CDRs), `pycallcenter acd report` and the demo's day report."""
import argparse
import json
import os
import sys

import pytest

from pycallcenter.acd.core import Acd
from pycallcenter.acd.engine_binding import AcdBinding
from pycallcenter.acd.stats import ServiceLevel, day_report, format_queue_log
from pycallcenter.commands import acd as acd_command
from pycallcenter.commands import report as report_command
from pycallcenter.cti.backend import AcdBackend
from pycallcenter.engine.call import Call, Leg
from pycallcenter.metrics import CentreCollector, snapshot
from pycallcenter.storage import open_store
from pycallcenter.storage.cdr import Clock, QueueLogFeed, cdr_row
from pycallcenter.storage.outcome import Trail
from pycallcenter.storage.report import interval_rows, parse_when

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_rig import analog_engine  # noqa: E402

EPOCH = parse_when("2026-03-02T08:00:00")
# 6 offered: 3 answered (2 within 20 s), 3 abandoned (2 of them within 5 s)
EXPECTED = {"offered": 2 / 6, "answered": 2 / 3, "exclude_short": 2 / 4}


def _offer(decisions):
    return next(d.agent for d in decisions if d.kind == "offer")


def scripted_day(mode):
    """Return the Acd after the scripted calls, with its centre-wide definition in the given mode."""
    acd = Acd(service_level=ServiceLevel(20.0, mode, 5.0))
    acd.add_queue("q", wrapup=0.0, ring_timeout=1000.0)
    for name in ("a1", "a2"):
        acd.add_agent(name, queues={"q": 0})
        acd.login(name, 0.0)
    first = _offer(acd.enter("c1", "q", 0.0))
    second = _offer(acd.enter("c2", "q", 1.0))
    acd.enter("c3", "q", 2.0)
    acd.enter("c4", "q", 3.0)
    acd.hangup("c3", 4.0)  # short abandon (2 s)
    acd.answer(first, "c1", 5.0)  # answered in 5 s
    acd.answer(second, "c2", 30.0)  # answered in 29 s: out of target
    acd.hangup("c4", 50.0)  # abandoned after 47 s
    acd.hangup("c1", 60.0)
    acd.hangup("c2", 90.0)
    agent = _offer(acd.enter("c5", "q", 100.0))
    acd.answer(agent, "c5", 110.0)  # answered in 10 s
    acd.enter("c6", "q", 120.0)
    acd.hangup("c6", 123.0)  # short abandon while ringing (3 s)
    acd.hangup("c5", 150.0)
    acd.check_invariants()
    return acd


def _cdrs(acd, clock):
    """Return the CDR rows the CdrWriter would write for the scripted calls (their trails from the log)."""
    trails = {}
    for e in acd.qlog:
        if e.event == "ENTER":
            trails.setdefault(e.call, Trail())
        if e.call in trails:
            trails[e.call].feed(e.event, e.time, e.queue, e.agent, e.data)
    rows = []
    for cid, trail in trails.items():
        call = Call(cid, legs=[Leg("L" + cid, None, None, 1, 0, "in", "pri", cause=16, answered_at=0)],
                    started=int(trail.entered * 8000), ended=int(200 * 8000))
        rows.append(cdr_row(call, clock, trail))
    return rows


def _run(module, argv):
    parser = argparse.ArgumentParser()
    module.register(parser.add_subparsers())
    return module.run(parser.parse_args(argv))


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_every_view_gives_the_same_service_level(mode, tmp_path, capsys):
    pytest.importorskip("prometheus_client", reason="prometheus-client is not installed (the metrics extra)")
    want = EXPECTED[mode]
    acd = scripted_day(mode)
    figures = {}
    # the wallboard's and status file's view: the ACD's live counters
    figures["wallboard"] = acd.realtime("q", 200.0)["service_level"]
    eng, _ = analog_engine()
    snap = snapshot(eng, acd)
    figures["metrics snapshot"] = snap["queues"][0]["service_level"]
    gauge = [s for m in CentreCollector(lambda: snap).collect() if m.name == "pycc_queue_service_level"
             for s in m.samples]
    assert [s.labels for s in gauge] == [{"queue": "q", "mode": mode}]
    figures["prometheus"] = gauge[0].value
    figures["cti"] = AcdBackend(AcdBinding(eng, acd)).snapshot()["queues"][0]["service_level"]
    figures["demo day report"] = day_report(acd.qlog, 0.0, 200.0)["service_level"]
    # the database: queue log and CDRs as CdrWriter writes them, read back by `pycallcenter report`
    clock = Clock(epoch=EPOCH)
    store = open_store(tmp_path)
    store.add_many("queue_log", QueueLogFeed(acd, clock).pending())
    store.add_many("cdr", _cdrs(acd, clock))
    for source in ("queue_log", "cdr"):
        got, rows = interval_rows(store, EPOCH, EPOCH + 3600, 3600, source=source)
        assert got == source and (rows[0]["offered"], rows[0]["answered"], rows[0]["abandoned"]) == (6, 3, 3)
        figures[f"report from the {source}"] = rows[0]["service_level"]
    store.close()
    for source in ("queue_log", "cdr"):
        assert _run(report_command, ["report", "--db", str(tmp_path), "--interval", "1h", "--source", source]) == 0
        out = capsys.readouterr().out
        assert f"answered within 20 s / {mode}" in out
        (total,) = [l for l in out.splitlines() if l.startswith("2026-03-02 08:00")]
        figures[f"report command ({source})"] = int(total.split()[5].rstrip("%")) / 100
    log = tmp_path / "q.log"
    log.write_text(format_queue_log(acd.qlog) + "\n")
    assert _run(acd_command, ["acd", "report", str(log), "--interval", "3600", "--json"]) == 0
    figures["acd report command"] = json.loads(capsys.readouterr().out)[0]["service_level"]
    rounding = {"cti": 5e-5, "report command (queue_log)": 0.005, "report command (cdr)": 0.005}  # 4 places, whole %
    for view, value in figures.items():
        assert value == pytest.approx(want, abs=rounding.get(view, 1e-9)), view


def test_a_forced_definition_overrides_the_logged_one(tmp_path):
    acd = scripted_day("offered")
    assert day_report(acd.qlog, 0.0, 200.0, sl_treatment="answered")["service_level"] == pytest.approx(2 / 3)
    assert day_report(acd.qlog, 0.0, 200.0, sl_seconds=30.0)["service_level"] == pytest.approx(3 / 6)
    # overriding the target keeps the logged mode (the demo passes its target only)
    assert day_report(scripted_day("answered").qlog, 0.0, 200.0, sl_seconds=30.0)["service_level"] == 1.0
    assert day_report(acd.qlog, 0.0, 200.0, service_level=ServiceLevel(30.0, "exclude_short", 5.0))[
        "service_level"] == pytest.approx(3 / 4)
    acd.set_service_level(ServiceLevel(30.0, "answered", 5.0), 200.0)  # a change is logged and applies from now
    assert acd.realtime("q", 200.0)["service_level"] == pytest.approx(2 / 3)  # counted at answer time: 2 in 20 s
    assert [e.data["mode"] for e in acd.qlog if e.event == "SLCONFIG"] == ["offered", "answered"]


def test_bad_service_level_config_names_the_key():
    from pycallcenter.acd.config import build_acd
    from pycallcenter.errors import ConfigError

    assert build_acd({"service_level": {"seconds": 30, "mode": "answered"}}).service_level == ServiceLevel(30, "answered")
    with pytest.raises(ConfigError, match="service_level: service level mode must be one of"):
        build_acd({"service_level": {"mode": "handled"}})
    with pytest.raises(ConfigError, match="service_level: unknown key"):
        build_acd({"service_level": {"secs": 30}})


def test_status_shows_the_definition_beside_the_figure():
    from pycallcenter.commands.status import format_status

    acd = scripted_day("exclude_short")
    text = format_status({"state": "stopped", "queues": [acd.realtime("q", 200.0)]})
    assert "offered 6, answered 3, abandoned 3, SL 50% (20 s, exclude_short)" in text
