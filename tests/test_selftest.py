import json

from pycallcenter import selftest
from pycallcenter.cli import main


def test_selftest_passes_every_kernel_and_reports_speed(capsys):
    assert main(["selftest", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert {r["kernel"] for r in results} >= {"g711", "dtmf", "tones", "progress", "fsk", "hdlc"}
    assert all(r["ok"] for r in results)
    speeds = {r["kernel"]: r["channels_per_core"] for r in results if r["channels_per_core"]}
    assert set(speeds) >= {"g711", "dtmf", "tones", "progress", "fsk", "hdlc"}
    assert all(v > 0 for v in speeds.values())


def test_a_broken_kernel_shows_as_fail(monkeypatch, capsys):
    def broken():
        raise ImportError("pycallcenter._native.dtmf is not built")

    monkeypatch.setattr(selftest, "CHECKS", [("dtmf", broken)])
    assert main(["selftest"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "not built" in out and "0 passed, 1 failed" in out
