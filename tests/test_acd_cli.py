"""`pycallcenter acd simulate` and `acd report`: a written queue log reads back to the same report."""
import json

from pycallcenter.acd.simulate import simulate_queue
from pycallcenter.acd.stats import day_report, format_queue_log, parse_queue_log
from pycallcenter.cli import main


def test_queue_log_text_round_trips_to_the_same_report():
    acd = simulate_queue(3, 2 / 60, 60, 1, patience=60, seed=4)
    back = parse_queue_log(format_queue_log(acd.qlog))
    assert len(back) == len(acd.qlog)
    a, b = day_report(acd.qlog, 0, 4000), day_report(back, 0, 4000)
    assert a["offered"] > 50 and (a["offered"], a["answered"], a["abandoned"]) == (b["offered"], b["answered"],
                                                                                   b["abandoned"])
    assert abs(a["asa"] - b["asa"]) < 1e-3


def test_simulate_then_report_from_the_log(tmp_path, capsys):
    log = tmp_path / "queue.log"
    assert main(["acd", "simulate", "--agents", "4", "--calls", "150", "--aht", "60", "--hours", "2",
                 "--log", str(log), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["predicted"]["model"] == "erlang_c" and out["simulated"]["offered"] > 200
    assert main(["acd", "report", str(log), "--interval", "3600", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sum(r["offered"] for r in rows) == out["simulated"]["offered"]
    log.write_text("not|a log\n")
    assert main(["acd", "report", str(log)]) == 1
