"""Interval reports read back from the database: the same figures as the ACD's own report on its
in-memory queue log, a CDR-only fallback, and the text/HTML/SVG/PNG outputs of `pycallcenter report`."""
import re

import pytest
from test_ops_cli import main  # runs one command through its own parser

from pycallcenter.acd.simulate import simulate_queue
from pycallcenter.acd.stats import ServiceLevel, interval_report
from pycallcenter.storage import open_store
from pycallcenter.storage.cdr import Clock, QueueLogFeed
from pycallcenter.storage.report import cdr_intervals, interval_rows, parse_interval, parse_when

EPOCH = parse_when("2026-03-02T08:00:00")


@pytest.fixture(scope="module")
def acd():
    return simulate_queue(agents=4, rate=1 / 40, aht=120, hours=2, patience=60, seed=5)


@pytest.fixture
def db(tmp_path, acd):
    store = open_store(tmp_path)
    store.add_many("queue_log", QueueLogFeed(acd, Clock(epoch=EPOCH)).pending())
    store.close()
    return tmp_path


def test_report_from_database_matches_the_acd_report(db, acd):
    store = open_store(db)
    source, rows = interval_rows(store, EPOCH, EPOCH + 7200, 1800)
    store.close()
    want = interval_report(acd.qlog, 0.0, 7200.0, interval=1800)
    assert source == "queue_log" and len(rows) == 4
    assert sum(r["offered"] for r in rows) > 100 and sum(r["abandoned"] for r in rows) > 0
    for got, exp in zip(rows, want):
        for k in ("offered", "answered", "abandoned", "answered_in_sl"):
            assert got[k] == exp[k], k
        for k in ("service_level", "asa", "aht", "occupancy"):
            assert got[k] == pytest.approx(exp[k], rel=1e-6, abs=1e-3), k


def test_cdr_fallback_without_a_queue_counts_every_inbound_call():
    def cdr(start, answer=None, billsec=0.0, direction="in"):
        return {"start_time": f"2026-03-02T08:{start}+00:00", "answer_time": answer and f"2026-03-02T08:{answer}+00:00",
                "queue": None, "agent": None, "billsec": billsec, "direction": direction}
    rows = cdr_intervals([cdr("00:00", "00:10", 100.0), cdr("01:00", "01:30", 50.0), cdr("02:00"),
                          cdr("31:00", "31:02", 20.0), cdr("32:00", "32:01", 5.0, direction="out")],
                         EPOCH, EPOCH + 3600, 1800)
    assert [(r["offered"], r["answered"], r["abandoned"]) for r in rows] == [(3, 2, 1), (1, 1, 0)]
    assert rows[0]["service_level"] == pytest.approx(1 / 3) and rows[0]["asa"] == 20.0 and rows[0]["aht"] == 75.0


def test_cdr_report_of_queued_calls_uses_their_queue_visit():
    def cdr(call, queued, wait, agent=None, outcome="agent", talk=None, queue="q"):
        return {"call_id": call, "start_time": "2026-03-02T07:59:00+00:00", "queued_time": f"2026-03-02T08:{queued}+00:00",
                "queue_wait": wait, "agent": agent, "outcome": outcome, "queue": queue, "talk": talk, "hold": 0.0,
                "answer_time": "2026-03-02T07:59:01+00:00", "billsec": 999.0, "direction": "in"}
    cdrs = [cdr("C1", "00:00", 10.0, "ann", talk=60.0), cdr("C2", "01:00", 30.0, "bob", talk=40.0),
            cdr("C3", "02:00", 3.0, outcome="abandoned"), dict(cdr("C4", "03:00", 50.0, outcome="lead"), queue_result="abandoned"),
            cdr("C5", "31:00", 5.0, "ann", talk=20.0)]
    from pycallcenter.acd.core import LogEntry

    qlog = [LogEntry(0.0, "-", "q", "-", "SLCONFIG", {"seconds": 20, "mode": "exclude_short", "short_abandon": 5}),
            LogEntry(1.0, "C1", "q", "ann", "WRAPUPEND", {"acw": 10.0}), LogEntry(2.0, "C2", "q", "bob", "WRAPUPEND", {"acw": 20.0})]
    rows = cdr_intervals(cdrs, EPOCH, EPOCH + 3600, 1800, qlog=qlog)
    assert [(r["offered"], r["answered"], r["abandoned"], r["short_abandoned"]) for r in rows] == [(4, 2, 2, 1), (1, 1, 0, 0)]
    assert rows[0]["service_level"] == pytest.approx(1 / 3)  # the logged mode: the short abandon leaves the count
    assert rows[0]["asa"] == 20.0 and rows[0]["aht"] == 65.0  # talk + hold + the logged wrap-up
    assert rows[1]["aht"] is None  # wrap-up not logged yet: not a handled call
    forced = cdr_intervals(cdrs, EPOCH, EPOCH + 3600, 1800, ServiceLevel(30, "offered", 5), qlog)
    assert forced[0]["service_level"] == pytest.approx(2 / 4)


def test_report_command_text_html_svg_png(db, tmp_path, capsys):
    html_path, png_path, svg_path = tmp_path / "r.html", tmp_path / "r.png", tmp_path / "r.svg"
    assert main(["report", "--db", str(db), "--from", "2026-03-02T08:00", "--to", "2026-03-02T10:00",
                 "--interval", "30m", "--html", str(html_path), "--png", str(png_path), "--svg", str(svg_path)]) == 0
    out = capsys.readouterr().out
    assert "from the queue log" in out and "answered within 20 s / offered" in out
    lines = [l for l in out.splitlines() if re.match(r"2026-03-02 (08|09):(00|30)", l)]
    assert len(lines) == 4 and any(l.startswith("total") for l in out.splitlines())
    page = html_path.read_text()
    assert page.count("<svg") == 4 and "Service level (20 s)" in page and 'class="slice"' in page
    assert page.count('class="bar"') >= 4 * 3 and "<script" not in page
    assert svg_path.read_text().startswith("<svg") and svg_path.read_text().count('class="bar"') >= 4 * 3
    from matplotlib.image import imread

    img = (imread(png_path)[:, :, :3] * 255).round().astype(int)
    assert img.shape[:2] == (300, 720)
    colours = {tuple(p) for p in img.reshape(-1, 3)}
    assert {(0x2b, 0x6c, 0xb0), (0x38, 0xa1, 0x69), (0xe5, 0x3e, 0x3e)} <= colours  # offered, answered, abandoned bars


def test_png_without_matplotlib_says_which_extra_and_exits_2(db, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as on a machine without the charts extra
    assert main(["report", "--db", str(db), "--png", str(tmp_path / "v.png")]) == 2
    cap = capsys.readouterr()
    assert cap.err.strip() == "pycallcenter report: PNG charts need matplotlib: pip install 'pycallcenter[charts]'"
    assert "Traceback" not in cap.out + cap.err and not (tmp_path / "v.png").exists()
    assert main(["report", "--db", str(db), "--svg", str(tmp_path / "v.svg")]) == 0  # SVG needs nothing


def test_report_on_an_empty_database_says_so(tmp_path, capsys):
    open_store(tmp_path).close()
    assert main(["report", "--db", str(tmp_path)]) == 1
    assert "no CDRs or queue-log rows" in capsys.readouterr().out


def test_intervals_parse():
    assert [parse_interval(s) for s in ("15m", "1h", "900", "1d")] == [900, 3600, 900, 86400]
    with pytest.raises(ValueError):
        parse_interval("-5m")
