"""Per-agent and grouped reports: an agent's day (login, pauses with reasons, a missed offer, a call with
hold and wrap-up) recomputed from the queue log, and `pycallcenter report --by ...` on a database."""
import argparse

import pytest

from pycallcenter.acd.core import Acd
from pycallcenter.acd.stats import agent_report
from pycallcenter.commands import report as report_command
from pycallcenter.storage import open_store
from pycallcenter.storage.cdr import Clock, QueueLogFeed
from pycallcenter.storage.report import parse_when

EPOCH = parse_when("2026-03-02T08:00:00")


def agents_day():
    """ann: in 0-1000, lunch 100-400, misses an offer at 500, takes c2 at 520 (talk 60 with 20 on hold),
    wrap-up 30 s, out at 1000. bob: in 50-1000, breaks 700-760 and 800-830."""
    acd = Acd()
    acd.add_queue("q", wrapup=30.0, ring_timeout=15.0, retry=0.0)
    acd.add_agent("ann", queues={"q": 0})
    acd.add_agent("bob", queues={"q": 0})
    acd.login("ann", 0.0)
    acd.login("bob", 50.0)
    acd.pause("bob", 60.0, reason="meeting")
    acd.pause("ann", 100.0, reason="lunch")
    acd.pause("ann", 400.0, paused=False)
    acd.enter("c1", "q", 500.0)  # offered to ann, who does not answer
    acd.tick(515.0)
    acd.hangup("c1", 516.0)
    acd.enter("c2", "q", 519.0)
    acd.answer("ann", "c2", 520.0)
    acd.hold("ann", 540.0)
    acd.hold("ann", 560.0, on=False)
    acd.hangup("c2", 600.0)
    acd.tick(630.0)
    acd.pause("bob", 650.0, paused=False)
    acd.pause("bob", 700.0, reason="break")
    acd.pause("bob", 760.0, paused=False)
    acd.pause("bob", 800.0, reason="break")
    acd.pause("bob", 830.0, paused=False)
    acd.logout("ann", 1000.0)
    acd.logout("bob", 1000.0)
    return acd


def test_agent_report_from_the_queue_log():
    rows = {r["agent"]: r for r in agent_report(agents_day().qlog, 0.0, 1000.0)}
    ann, bob = rows["ann"], rows["bob"]
    assert (ann["calls"], ann["missed"], ann["talk"], ann["hold"], ann["acw"]) == (1, 1, 60.0, 20.0, 30.0)
    assert ann["login"] == 1000.0 and ann["pauses"] == {"lunch": 300.0} and ann["handling"] == 110.0
    assert ann["occupancy"] == pytest.approx(110.0 / 700.0)
    assert bob["login"] == 950.0 and bob["pauses"] == {"meeting": 590.0, "break": 90.0} and bob["calls"] == 0
    assert bob["occupancy"] == 0.0
    part = {r["agent"]: r for r in agent_report(agents_day().qlog, 0.0, 300.0)}  # the window cuts the lunch
    assert part["ann"]["pauses"] == {"lunch": 200.0} and part["ann"]["calls"] == 0 and part["bob"]["login"] == 250.0


def _run(argv):
    parser = argparse.ArgumentParser()
    report_command.register(parser.add_subparsers())
    return report_command.run(parser.parse_args(argv))


@pytest.fixture
def db(tmp_path):
    acd = agents_day()
    store = open_store(tmp_path)
    store.add_many("queue_log", QueueLogFeed(acd, Clock(epoch=EPOCH)).pending())
    store.add_many("cdr", [
        {"call_id": "c1", "start_time": "2026-03-02T08:08:19+00:00", "queued_time": "2026-03-02T08:08:20+00:00",
         "queue": "q", "queue_wait": 16.0, "outcome": "abandoned", "trunk": "pri1", "called": "5000",
         "vars": {"menu": "1"}},
        {"call_id": "c2", "start_time": "2026-03-02T08:08:38+00:00", "queued_time": "2026-03-02T08:08:39+00:00",
         "queue": "q", "agent": "ann", "queue_wait": 1.0, "talk": 60.0, "hold": 20.0, "outcome": "agent",
         "trunk": "pri1", "called": "5000", "vars": {"menu": "1"}},
        {"call_id": "c3", "start_time": "2026-03-02T08:09:00+00:00", "outcome": "voicemail", "trunk": "pri2",
         "called": "5001", "vars": {"menu": "9"}},
    ])
    store.close()
    return tmp_path


def test_report_by_agent_and_by_group(db, tmp_path, capsys):
    assert _run(["report", "--db", str(db), "--by", "agent", "--png", str(tmp_path / "a.png"),
                 "--html", str(tmp_path / "a.html")]) == 0
    out = capsys.readouterr().out
    (ann,) = [l for l in out.splitlines() if l.startswith("ann ")]
    assert ann.split()[1:8] == ["1", "1", "0:01:00", "0:00:20", "0:00:30", "0:16:40", "16%"] and "lunch=0:05:00" in ann
    assert "Agent time (minutes)" in (tmp_path / "a.html").read_text() and (tmp_path / "a.png").stat().st_size > 1000
    assert _run(["report", "--db", str(db), "--by", "var:menu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    (one,) = [l for l in lines if l.startswith("1 ")]
    (nine,) = [l for l in lines if l.startswith("9 ")]
    assert one.split()[1:6] == ["2", "2", "1", "1", "50%"] and "abandoned=1 agent=1" in one
    assert nine.split()[1:3] == ["1", "0"] and "voicemail=1" in nine
    assert _run(["report", "--db", str(db), "--interval", "1h", "--html", str(tmp_path / "i.html")]) == 0
    page = (tmp_path / "i.html").read_text()  # the pie shows the CDRs' outcomes
    assert "Call outcomes" in page and "agent 1 (33%)" in page and "voicemail 1 (33%)" in page
    capsys.readouterr()
    assert _run(["report", "--db", str(db), "--by", "trunk", "--svg", str(tmp_path / "t.svg")]) == 0
    out = capsys.readouterr().out
    assert [l.split()[:2] for l in out.splitlines() if l.startswith("pri")] == [["pri1", "2"], ["pri2", "1"]]
    assert (tmp_path / "t.svg").read_text().count('class="bar"') >= 2


def test_bad_options_are_one_line_and_exit_2(db, capsys):
    assert _run(["report", "--db", str(db), "--by", "colour"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pycallcenter report: --by must be one of agent, queue, trunk, called") and "\n" not in err
    assert _run(["report", "--db", str(db), "--interval=-1h"]) == 2
    assert capsys.readouterr().err.strip() == "pycallcenter report: interval must be positive, got '-1h'"
    assert _run(["report", "--db", str(db), "--from", "2026-03-02T10:00", "--to", "2026-03-02T09:00"]) == 2
    assert capsys.readouterr().err.strip() == "pycallcenter report: --to must be after --from"
    # 1900 to 9999 in 15-minute intervals (284 million rows) ran out of memory
    assert _run(["report", "--db", str(db), "--from", "1900-01-01", "--to", "9999-12-31", "--interval", "15m"]) == 2
    err = capsys.readouterr().err.strip()
    assert "intervals of 900 s from --from to --to; at most 100,000: widen --interval" in err and "\n" not in err
