"""The demo runner on a few simulated minutes (the full busy hour is `make demo` / bench)."""
import json

from pycallcenter.apps import demo


def test_a_short_demo_runs_end_to_end_and_writes_its_report(tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "main_menu.py").write_text(
        "async def main(call):\n"
        "    await call.answer()\n"
        "    await call.menu('main_menu', '12390', retries=2, invalid='invalid', timeout_prompt='no_input')\n"
        "    for ch in range(32, 36):\n"
        "        d = await call.dial(f'channel/{ch}', timeout=10)\n"
        "        if d.outcome == 'answered':\n"
        "            await call.bridge(d.leg)\n"
        "            break\n"
        "    await call.hangup()\n")
    settings = demo.DemoSettings(seed=5, hours=0.04, agents=4, calls_per_hour=200, talk_mean=15, patience_mean=40,
                                 data_dir=str(tmp_path / "data"), scripts_dir=str(scripts), drain_seconds=300)
    report = demo.run(settings, progress=False)
    c = report["callers"]
    assert c["offered"] == len(demo.make_callers(settings)) > 3
    assert c["reached_agent"] >= 1
    assert report["script_errors"] == 0
    saved = json.loads((tmp_path / "data" / "report.json").read_text())
    assert saved["callers"] == c
    text = (tmp_path / "data" / "report.txt").read_text()
    assert "busy hour report" in text and "reached an agent" in text
    for missing in report["left_out"]:
        assert missing in text


def test_callers_are_poisson_and_seeded():
    s = demo.DemoSettings(seed=3, hours=4.0, calls_per_hour=400)
    a, b = demo.make_callers(s), demo.make_callers(s)
    assert [c.arrival for c in a] == [c.arrival for c in b]
    assert 1450 < len(a) < 1750  # 1,600 expected
    gaps = [y.arrival - x.arrival for x, y in zip(a, a[1:])]
    mean = sum(gaps) / len(gaps)
    assert abs(mean - 9.0) < 0.6
    assert 0.9 < (sum((g - mean) ** 2 for g in gaps) / len(gaps)) ** 0.5 / mean < 1.1  # exponential: cv = 1
    assert any(c.kind == "fax" for c in a) and any("," in c.digits for c in a)
