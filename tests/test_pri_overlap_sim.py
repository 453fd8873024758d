"""`[simulate] overlap = true`: the emulated PSTN of `pycallcenter run --simulate` dials digit by digit (SETUP
with the first digit, INFORMATION for the rest after SETUP ACKNOWLEDGE), and the shipped gateway example's
event log shows the centre collecting the number before it routes the call."""
import re

from pycallcenter import bundled, cli
from pycallcenter.storage import open_store


def _gateway(tmp_path, overlap):
    text = (bundled.examples_dir() / "pri-sip-gateway.toml").read_text()
    text = text.replace("port = 5062", "port = 0").replace("rtp_ports = [21000, 21999]", "rtp_ports = [23000, 23099]")
    text += f'\n[simulate]\ncalled = "2001"\ncalls_per_hour = 360\noverlap = {"true" if overlap else "false"}\n'
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    assert cli.main(["config", "check", str(path)]) == 0
    assert cli.main(["run", str(path), "--simulate", "--seconds", "60", "--fast"]) == 0
    store = open_store(str(tmp_path / "data"))
    rows = store.cdrs()
    store.close()
    return (tmp_path / "data" / "events.log").read_text(), rows


def test_simulated_callers_dial_digit_by_digit_and_the_centre_collects_the_number(tmp_path):
    log, rows = _gateway(tmp_path, overlap=True)
    started = re.findall(r" overlap called=(\S+) ", log)
    assert started and set(started) == {"2"}  # each SETUP carried the first digit only
    offered = re.findall(r" offered .*called=(\S+)", log)
    assert set(offered) == {"2001"}  # the router saw each call once, with the whole number
    assert len(re.findall(r" overlap_done called=2001 .*why=matched", log)) == len(started) == len(offered)
    assert len(rows) == len(offered) and {r["called"] for r in rows} == {"2001"}


def test_without_overlap_the_simulated_callers_dial_en_bloc(tmp_path):
    log, rows = _gateway(tmp_path, overlap=False)
    assert " overlap" not in log
    assert rows and {r["called"] for r in rows} == {"2001"}
