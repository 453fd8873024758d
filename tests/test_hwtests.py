"""The board acceptance suite (python -m hwtests) against the emulator, and that it fails when it should."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from hwtests import checks, cli, rig as rigmod  # noqa: E402

COLUMNS = ["span", "tone", "ring", "callerid", "hook", "dtmf", "dchan", "alarm"]


def _table(text):
    """Return {channel: {column: cell}} parsed from the report's table."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.lstrip().startswith("chan "))
    cols = lines[head].split()[3:]
    rows = {}
    for line in lines[head + 2:]:
        if not line.strip():
            break
        parts = line.split()
        rows[int(parts[0])] = dict(zip(cols, parts[3:]))
    return cols, rows


def test_suite_passes_on_the_bundled_emulator_bench(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    cols, rows = _table(out)
    assert cols == COLUMNS
    assert sorted(rows) == list(range(1, 71))
    assert all(v in ("PASS", "-") for row in rows.values() for v in row.values())
    # B-channels: span, tone loopback, alarm; D-channels: span, frames, alarm; analog pairs: the analog checks.
    assert rows[5] == dict(span="PASS", tone="PASS", ring="-", callerid="-", hook="-", dtmf="-", dchan="-",
                           alarm="PASS")
    assert rows[1]["dtmf"] == "PASS" and rows[32]["dtmf"] == "PASS"
    assert rows[16]["dchan"] == rows[47]["dchan"] == "PASS" and rows[16]["tone"] == "-"
    for n in (63, 67):
        assert [rows[n][c] for c in ("tone", "ring", "callerid", "hook", "dtmf")] == ["PASS"] * 5
    assert re.search(r"^hwtests: \d+ passed, 0 failed, 0 skipped$", out, re.M)


def test_suite_passes_through_the_dahdi_backend_over_the_fake_kernel(capsys):
    pytest.importorskip("pycallcenter.drivers.dahdi._dahdi_cffi", reason="DAHDI binding not built (no <dahdi/user.h>)")
    assert cli.main(["--board", "dahdi", "--fake-kernel"]) == 0
    out = capsys.readouterr().out
    assert "DAHDI over the fake kernel" in out
    _, rows = _table(out)
    assert rows[20]["tone"] == "PASS" and rows[64]["callerid"] == "PASS" and rows[47]["alarm"] == "PASS"


def _rig():
    return cli.open_rig(cli.parse_args([]))[0]


def test_faults_show_up_as_failures_on_the_right_channels():
    rig = _rig()
    emu = rig.board.emulator
    emu.kill_channel(5)  # a dead timeslot
    emu.set_line_level(68, -20.0)  # a far too lossy analog pair
    results = cli.run_suite(rig)
    rig.close()
    failed = {(r.check, r.channels) for r in results if r.status == checks.FAIL}
    assert ("tone", (5, 36)) in failed
    assert any(check == "tone" and 68 in chans for check, chans in failed)
    assert not any(5 in chans or 68 in chans for check, chans in failed if check in ("dchan", "span", "alarm"))
    assert all(r.status == checks.PASS for r in results if r.check == "tone" and r.channels == (6, 37))


def test_missing_dsp_module_reports_fail_not_available(monkeypatch, capsys):
    real = rigmod.dsp

    def no_callerid(name):
        if name == "callerid":
            raise rigmod.DspMissing("pycallcenter.dsp.callerid not available (test)")
        return real(name)

    monkeypatch.setattr(checks, "dsp", no_callerid)
    assert cli.main([]) == 1
    out = capsys.readouterr().out
    _, rows = _table(out)
    assert rows[63]["callerid"] == "FAIL" and rows[63]["ring"] == "PASS"
    assert "callerid not available" in out


def test_unwired_ports_and_spans_are_skipped_not_passed(tmp_path, capsys):
    with open(cli.DEFAULT_CONFIG) as fh:
        text = fh.read()
    text = text.replace('fxs = "63-66"\nfxo = "67-70"', 'fxs = "63-65"\nfxo = "67-69"')
    text = text.replace('[[emulator.cable]]\nkind = "crossover"\nspans = [1, 2]\n', "")
    path = tmp_path / "bench.toml"
    path.write_text(text)
    code = cli.main(["--config", str(path)])
    out = capsys.readouterr().out
    _, rows = _table(out)
    assert rows[66]["ring"] == "SKIP" and rows[70]["hook"] == "SKIP"
    assert rows[16]["dchan"] == "SKIP"
    assert rows[1]["span"] == "FAIL"  # an E1 with nothing plugged in is in red alarm
    assert code == 1


def test_unopenable_board_exits_2(capsys):
    assert cli.main(["--config", "/nonexistent/board.toml"]) == 2
    assert "cannot open the board" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "hwtests")), reason="run from a source tree")
def test_python_dash_m_hwtests_runs_from_the_repo_root():
    proc = subprocess.run([sys.executable, "-m", "hwtests"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hwtests: " in proc.stdout and " 0 failed" in proc.stdout


def test_a_board_error_fails_that_check_and_the_rest_still_run(monkeypatch):
    from pycallcenter.errors import HardwareError

    rig = _rig()

    def refuse(self, reversed):
        raise HardwareError("polarity relay stuck")

    monkeypatch.setattr(type(rig.board.channel(63)), "_do_polarity", refuse)
    results = cli.run_suite(rig)
    rig.close()
    hook = [r for r in results if r.check == "hook"]
    assert [r.status for r in hook] == [checks.FAIL] and "board error: polarity relay stuck" in hook[0].detail
    assert 63 in hook[0].channels and 1 in hook[0].channels
    assert all(r.status == checks.PASS for r in results if r.check in ("tone", "dchan", "alarm"))


def test_a_port_that_cannot_ring_fails_rather_than_skips(monkeypatch):
    from pycallcenter.errors import HardwareError

    rig = _rig()

    def refuse(self, on=True):
        raise HardwareError("ringer fuse blown")

    monkeypatch.setattr(type(rig.board.channel(63)), "_do_ring", refuse)
    results = cli.run_suite(rig)
    rig.close()
    office = [r for r in results if r.check == "ring" and r.channels == (63,)]
    assert [r.status for r in office] == [checks.FAIL] and "ringer fuse blown" in office[0].detail
    assert [r.status for r in results if r.check == "ring" and r.channels == (67,)] == [checks.SKIP]


T1_RBS_BENCH = """
[board]
law = "ulaw"
[[span]]
span = 1
kind = "t1"
timing = 1
framing = "esf"
coding = "b8zs"
[[span]]
span = 2
kind = "t1"
framing = "esf"
coding = "b8zs"
[[channels]]
signalling = "fxo_ks"
channels = "1-24"
[[channels]]
signalling = "fxs_ks"
channels = "25-48"
[emulator]
seed = 3
[[emulator.cable]]
kind = "crossover"
spans = [1, 2]
"""


def test_t1_robbed_bit_crossover_is_found_by_tone_and_tested_like_analog_pairs(tmp_path, capsys):
    path = tmp_path / "t1.toml"
    path.write_text(T1_RBS_BENCH)
    assert cli.main(["--config", str(path)]) == 0
    _, rows = _table(capsys.readouterr().out)
    assert sorted(rows) == list(range(1, 49))
    for n in (1, 24, 25, 48):
        assert [rows[n][c] for c in ("span", "tone", "ring", "callerid", "hook", "dtmf", "alarm")] == ["PASS"] * 7


def test_only_some_checks_and_json_output(tmp_path, capsys):
    import json

    out_json = tmp_path / "results.json"
    assert cli.main(["--only", "dchan,alarm", "--json", str(out_json)]) == 0
    cols, rows = _table(capsys.readouterr().out)
    assert cols == ["span", "dchan", "alarm"]
    data = json.loads(out_json.read_text())
    assert {r["check"] for r in data["results"]} == {"span", "dchan", "alarm"}
    assert all(r["status"] == "PASS" for r in data["results"])
    with pytest.raises(SystemExit):
        cli.main(["--only", "tone,bogus"])
    assert "unknown check 'bogus'" in capsys.readouterr().err


def test_pycallcenter_hwtests_runs_the_same_suite_with_the_same_options(capsys, tmp_path):
    from pycallcenter import bundled
    from pycallcenter.cli import main

    assert cli.DEFAULT_CONFIG == str(bundled.hwtests_config())
    assert main(["hwtests", "--only", "dchan", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert f"hwtests on the emulator ({bundled.hwtests_config()})" in out
    cols, rows = _table(out)
    assert "alarm" not in cols and rows[16]["dchan"] == "PASS"  # --only reached the suite
    assert (tmp_path / "r.json").exists()
    assert main(["hwtests", "--config", "/nonexistent/board.toml"]) == 2
    assert "cannot open the board" in capsys.readouterr().err


def test_the_suite_is_one_module_installed_twice_under_two_names():
    # The tree's hwtests/ is the installed pycallcenter.hwtests (setup.py ROOTS): no second copy to drift.
    import pycallcenter.hwtests.cli as installed

    assert os.path.samefile(installed.__file__, cli.__file__)
