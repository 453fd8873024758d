"""A new operator's overload trial: the shipped centre with `max_calls = 2` under a high simulated call
rate refuses the excess, `pycallcenter status` counts the refusals and names the limit, the event log says
so once per burst (not once per call), and the report's refused CDRs match the status."""
import json
import shutil

from pycallcenter import bundled
from pycallcenter.cli import main


def test_max_calls_refusals_are_counted_logged_once_a_burst_and_in_the_report(tmp_path, capsys):
    examples = bundled.examples_dir()
    shutil.copy(examples / "centre-users.toml", tmp_path)
    text = (examples / "centre.toml").read_text()
    assert "\n[centre]\n" in text
    config = tmp_path / "centre.toml"
    config.write_text(text.replace("\n[centre]\n", '\n[centre]\nmax_calls = 2\nlog_file = "data/events.log"\n', 1))
    assert main(["run", str(config), "--simulate", "--fast", "--seconds", "120", "--calls-per-hour", "3000",
                 "--cti-port", "0"]) == 0
    capsys.readouterr()
    data = tmp_path / "data"
    adm = json.loads((data / "status.json").read_text())["admission"]
    assert adm["max_calls"] == 2 and adm["refused"]["capacity"] > 10 and adm["refused_total"] == adm["refused"]["capacity"]
    assert main(["status", "--data", str(data)]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("overload control:"))
    assert line == (f"overload control: {adm['admitted']} call(s) admitted, {adm['refused_total']} refused "
                    f"(capacity {adm['refused_total']}, load 0, rate 0); limits: max_calls 2")
    events = [l.split()[1] for l in (data / "events.log").read_text().splitlines()]
    assert 1 <= events.count("overload") <= 3 and events.count("overload") < adm["refused_total"] / 5
    assert main(["report", "--db", str(data), "--by", "trunk"]) == 0
    row = next(l.split() for l in capsys.readouterr().out.splitlines() if l.startswith("pri1"))
    assert f"failed={adm['refused_total']}" in row  # each refused caller's CDR, and no other failure
    assert int(row[1]) == adm["admitted"] + adm["refused_total"]
