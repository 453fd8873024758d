"""A new user's SS7 centre: the shipped ss7-centre.toml runs with simulated callers over ISUP, its CDRs
reach the report, and `pycallcenter status` shows the link set (route, links, circuits)."""
import json
import shutil

from pycallcenter import bundled
from pycallcenter.cli import main


def test_the_ss7_example_runs_reports_and_shows_its_link_set_in_status(tmp_path, capsys):
    config = tmp_path / "ss7-centre.toml"
    shutil.copy(bundled.examples_dir() / "ss7-centre.toml", config)
    assert main(["run", str(config), "--simulate", "--fast", "--seconds", "120"]) == 0
    out = capsys.readouterr().out
    written = int(out.split("; ", 1)[1].split(" CDR", 1)[0])
    assert written > 0, out
    data = tmp_path / "data"
    assert main(["report", "--db", str(data), "--by", "trunk", "--source", "cdr"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [r[:2] for r in rows if r and r[0] == "ss7"] == [["ss7", str(written)]]  # every CDR on the link set
    snap = json.loads((data / "status.json").read_text())
    assert snap["ss7"] == [{"linkset": "ss7", "opc": 1, "dpc": 2, "route_up": True, "circuits": 60, "in_use": 0,
                            "blocked": 0, "links": [{"span": 1, "slc": 0, "up": True}, {"span": 2, "slc": 1, "up": True}]}]
    assert main(["status", "--data", str(data)]) == 0
    shown = capsys.readouterr().out
    assert ("ss7 link set ss7 (opc 1 -> dpc 2): route up, 2/2 link(s) up (span 1 slc 0 up, span 2 slc 1 up),"
            " circuits 0/60 in use, 0 blocked") in shown


def test_status_says_which_ss7_link_is_down():
    from pycallcenter.commands.status import format_status

    snap = {"state": "stopped", "ss7": [{"linkset": "ss7", "opc": 1, "dpc": 2, "route_up": True, "circuits": 60,
                                         "in_use": 3, "links": [{"span": 1, "slc": 0, "up": False},
                                                                {"span": 2, "slc": 1, "up": True}]}]}
    assert ("ss7 link set ss7 (opc 1 -> dpc 2): route up, 1/2 link(s) up (span 1 slc 0 DOWN, span 2 slc 1 up),"
            " circuits 3/60 in use") in format_status(snap)


def test_spans_reads_the_board_tables_of_a_centres_file(tmp_path, capsys):
    config = bundled.examples_dir() / "ss7-centre.toml"
    assert main(["spans", "--config", str(config)]) == 0
    rows = [line.split()[:2] for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows == [["1", "e1"], ["2", "e1"], ["3", "fxs"]]
    broken = tmp_path / "ss7-centre.toml"
    broken.write_text(config.read_text().replace('kind = "fxs"', 'kind = "fxz"'))
    assert main(["spans", "--config", str(broken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"pycallcenter spans: {broken}:") and "fxz" in err[0], err
