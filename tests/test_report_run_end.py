"""Occupancy and time in state stop at the run's end: a centre stopped while an agent is in wrap-up (and
another is ready) writes a LOGOUT (reason ``stopped``) for each at the stop time, so
`pycallcenter report` counts their login, handling and occupancy up to the stop and no further, however
far past the stop the report's window reaches."""
import argparse
import datetime as _dt

import pytest

from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.demo import board_config
from pycallcenter.apps.settings import load_text
from pycallcenter.apps.simulation import Simulation
from pycallcenter.commands import report as report_command
from pycallcenter.sim.pstn import Caller
from pycallcenter.storage import open_store
from pycallcenter.storage.report import agent_rows, interval_rows, load_queue_log

CONFIG = """
[centre]
data = "{data}"
tone_plan = "etsi"
station_features = false
start = "2026-01-05T10:00:00"

[fax]
detect = false

[[queue]]
name = "sales"
wrapup = 600             # the agent is still in after-call work when the run stops

[[agent]]
name = "agent1"
contact = "channel/32"
queues = {{ sales = 0 }}

[[agent]]
name = "agent2"
contact = "channel/33"
queues = {{ sales = 1 }}

[simulate]
calls_per_hour = 0
"""


@pytest.fixture
def stopped_in_wrapup(tmp_path):
    """Run a centre until agent1 is in wrap-up after one call, 20 s more, then stop it; return (data folder,
    stop time in epoch seconds, agent1's login time)."""
    path = tmp_path / "centre.toml"
    path.write_text(board_config(2, 1) + CONFIG.format(data=tmp_path / "data"))
    board_text, settings = load_text(path.read_text(), file=str(path))
    c = Centre(board_text, settings)
    sim = Simulation(c, hours=0)
    try:
        sim.pstn.add(Caller("2025550100", "5000", arrival=1.0, digits="1", digit_delay=2.0, talk=8.0, patience=120.0))
        for _ in range(50 * 120):
            sim.tick()
            if c.acd.agents["agent1"].activity == "wrapup" or c.acd.agents["agent2"].activity == "wrapup":
                break
        busy = "agent1" if c.acd.agents["agent1"].activity == "wrapup" else "agent2"
        assert c.acd.agents[busy].activity == "wrapup"
        for _ in range(50 * 20):
            sim.tick()
        assert c.acd.agents[busy].activity == "wrapup"  # 600 s of after-call work: still in it at the stop
        stop = c.engine.epoch + c.binding.seconds()
    finally:
        sim.close()
    return tmp_path / "data", stop, busy


def test_agents_left_in_wrapup_or_ready_are_closed_at_the_stop(stopped_in_wrapup):
    data, stop, busy = stopped_in_wrapup
    store = open_store(data)
    try:
        qlog = load_queue_log(store)
        last = {}
        for e in qlog:
            if e.agent != "-":
                last.setdefault(e.agent, []).append(e)
        for name in ("agent1", "agent2"):
            tail = last[name][-1]
            assert (tail.event, tail.data.get("reason")) == ("LOGOUT", "stopped")
            assert tail.time == pytest.approx(stop, abs=6.0)  # the drain ticks a few seconds at most
        # the wrap-up was cut short: no WRAPUPEND (its after-call work is unknown), handling ends at the stop
        assert [e.event for e in last[busy] if e.event == "WRAPUPEND"] == []
        first = qlog[0].time
        later = stop + 3600.0  # a window reaching an hour past the stop (the next run, a report to the hour)
        rows = {r["agent"]: r for r in agent_rows(store, first, later)}
        login = {n: next(e.time for e in last[n] if e.event == "LOGIN") for n in rows}
        for name, r in rows.items():
            assert r["login"] == pytest.approx(last[name][-1].time - login[name], abs=0.01)
        b = rows[busy]
        assert b["handling"] == pytest.approx(b["login"] - b["available"], abs=0.01) and b["handling"] < 60.0
        # occupancy over the window is the same as over the run: nothing after the stop counts
        run_rows = {r["agent"]: r for r in agent_rows(store, first, stop + 10.0)}
        assert b["occupancy"] == pytest.approx(run_rows[busy]["occupancy"]) and 0.3 < b["occupancy"] < 1.0
        source, intervals = interval_rows(store, first, later, interval=later - first)
        assert source == "queue_log" and intervals[0]["agent_hours"] * 3600 == pytest.approx(
            sum(r["login"] for r in rows.values()), abs=0.01)
    finally:
        store.close()


def test_the_report_command_shows_the_closed_occupancy(stopped_in_wrapup, capsys):
    data, stop, busy = stopped_in_wrapup
    store = open_store(data)
    try:
        expected = {r["agent"]: r["occupancy"] for r in agent_rows(store)}[busy]
    finally:
        store.close()
    later = _dt.datetime.fromtimestamp(stop + 3600.0, _dt.timezone.utc).isoformat(timespec="seconds")
    parser = argparse.ArgumentParser()
    report_command.register(parser.add_subparsers())
    args = parser.parse_args(["report", "--db", str(data), "--by", "agent", "--to", later])
    assert args.func(args) in (0, None)
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(busy))
    assert f"{100 * expected:.0f}%" in line.split()  # an hour past the stop, the same occupancy as at the stop
