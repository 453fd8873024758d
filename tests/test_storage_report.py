"""Interval reports read back from the database: the same figures as the ACD's own report on its
in-memory queue log, a CDR-only fallback, and the text/HTML/PNG outputs of `pycallcenter report`."""
import re
import struct
import zlib

import pytest
from test_ops_cli import main  # runs one command through its own parser

from pycallcenter.acd.simulate import simulate_queue
from pycallcenter.acd.stats import interval_report
from pycallcenter.storage import open_store
from pycallcenter.storage.cdr import Clock, QueueLogFeed
from pycallcenter.storage.charts import imagemagick, png_bars, svg_pie
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


def _png_pixels(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    idat = b""
    i = 8
    while i < len(data):
        n = struct.unpack(">I", data[i:i + 4])[0]
        if data[i + 4:i + 8] == b"IDAT":
            idat += data[i + 8:i + 8 + n]
        i += 12 + n
    raw = zlib.decompress(idat)
    rows = [raw[y * (3 * w + 1) + 1:(y + 1) * (3 * w + 1)] for y in range(h)]
    return w, h, rows


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


def test_cdr_fallback_counts_queued_calls_answered_by_agents():
    def cdr(start, answer=None, queue=None, agent=None, billsec=0.0):
        return {"start_time": f"2026-03-02T08:{start}+00:00", "answer_time": answer and f"2026-03-02T08:{answer}+00:00",
                "queue": queue, "agent": agent, "billsec": billsec, "direction": "in"}
    rows = cdr_intervals([cdr("00:00", "00:10", "q", "ann", 100.0), cdr("01:00", "01:30", "q", "bob", 50.0),
                          cdr("02:00", "02:01", "q", None), cdr("31:00", "31:02", None, None, 20.0)],
                         EPOCH, EPOCH + 3600, 1800, sl_seconds=20)
    assert [(r["offered"], r["answered"], r["abandoned"]) for r in rows] == [(3, 2, 1), (1, 1, 0)]
    assert rows[0]["service_level"] == pytest.approx(1 / 3) and rows[0]["asa"] == 20.0 and rows[0]["aht"] == 75.0


def test_report_command_text_html_png(db, tmp_path, capsys):
    html_path, png_path = tmp_path / "r.html", tmp_path / "r.png"
    assert main(["report", "--db", str(db), "--from", "2026-03-02T08:00", "--to", "2026-03-02T10:00",
                 "--interval", "30m", "--html", str(html_path), "--png", str(png_path)]) == 0
    out = capsys.readouterr().out
    assert "from the queue log" in out
    lines = [l for l in out.splitlines() if re.match(r"2026-03-02 (08|09):(00|30)", l)]
    assert len(lines) == 4 and any(l.startswith("total") for l in out.splitlines())
    page = html_path.read_text()
    assert page.count("<svg") == 4 and "Service level (20 s)" in page and 'class="slice"' in page
    assert page.count('class="bar"') >= 4 * 3 and "<script" not in page
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_without_imagemagick_uses_the_builtin_writer(db, tmp_path, capsys, monkeypatch):
    import pycallcenter.storage.charts as charts

    monkeypatch.setattr(charts, "imagemagick", lambda: None)
    assert main(["report", "--db", str(db), "--png", str(tmp_path / "v.png")]) == 0
    assert "built-in writer" in capsys.readouterr().out
    w, h, rows = _png_pixels((tmp_path / "v.png").read_bytes())
    assert (w, h) == (720, 300) and any(bytes((0x38, 0xa1, 0x69)) in r for r in rows)  # answered bars drawn


def test_report_on_an_empty_database_says_so(tmp_path, capsys):
    open_store(tmp_path).close()
    assert main(["report", "--db", str(tmp_path)]) == 1
    assert "no CDRs or queue-log rows" in capsys.readouterr().out


def test_builtin_png_writer_draws_bars_in_proportion():
    w, h, rows = _png_pixels(png_bars({"a": [10, 5]}, width=100, height=100))
    assert (w, h) == (100, 100)
    blue = bytes((0x2b, 0x6c, 0xb0))

    def bar_height(x):
        return sum(1 for r in rows if r[3 * x:3 * x + 3] == blue)

    assert bar_height(30) == 70 and bar_height(75) == 35  # plot height 70, axis max 10


@pytest.mark.skipif(imagemagick() is None, reason="ImageMagick convert not installed: labelled PNG path not tested")
def test_imagemagick_renders_the_svg_chart(tmp_path):
    from pycallcenter.storage.charts import svg_to_png

    assert svg_to_png(svg_pie("Outcome", {"answered": 3, "abandoned": 1}), str(tmp_path / "p.png"))
    data = (tmp_path / "p.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (400, 280)


def test_intervals_parse():
    assert [parse_interval(s) for s in ("15m", "1h", "900", "1d")] == [900, 3600, 900, 86400]
    with pytest.raises(ValueError):
        parse_interval("-5m")
