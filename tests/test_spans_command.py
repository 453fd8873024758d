"""`pycallcenter spans`: span alarms and counters from the emulator, and a clear error without DAHDI."""
import os

import pytest

from pycallcenter.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "hwtests", "emulator.toml")


def test_spans_of_the_bench_are_up(capsys):
    assert main(["spans", "--config", BENCH]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["span", "kind", "name", "alarms"]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["1", "e1", "EMU/1", "OK"], ["2", "e1", "EMU/2", "OK"], ["3", "fxs", "EMU/3", "OK"], ["4", "fxo", "EMU/4", "OK"]]


def test_an_unplugged_span_shows_its_alarms(tmp_path, capsys):
    with open(BENCH) as fh:
        text = fh.read().replace('[[emulator.cable]]\nkind = "crossover"\nspans = [1, 2]\n', "")
    path = tmp_path / "bench.toml"
    path.write_text(text)
    assert main(["spans", "--config", str(path), "--watch", "0.2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    span1 = lines[1].split()
    assert span1[0] == "1" and "RED" in span1[3] and "LOS" in span1[3]


@pytest.mark.skipif(os.path.exists("/dev/dahdi/channel"), reason="DAHDI is running on this machine")
def test_dahdi_without_dahdi_exits_2_naming_what_is_missing(capsys):
    pytest.importorskip("pycallcenter.drivers.dahdi._dahdi_cffi", reason="DAHDI binding not built")
    assert main(["spans", "--config", BENCH, "--board", "dahdi"]) == 2
    assert "/dev/dahdi/channel" in capsys.readouterr().err
