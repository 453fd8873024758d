"""The demo runner on a few simulated minutes (the full busy hour is `make demo` / bench)."""
import json
import os

from pycallcenter.apps import demo
from pycallcenter.apps.settings import SimulateSection, load_settings
from pycallcenter.apps.simulation import make_callers


def _callers(settings):
    section = SimulateSection(calls_per_hour=settings.calls_per_hour, talk_mean=settings.talk_mean,
                              patience_mean=settings.patience_mean, fax_share=settings.fax_share,
                              wrong_input_share=settings.wrong_input_share, seed=settings.seed)
    return make_callers(section, settings.hours)


SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ivr_scripts")


def test_a_short_demo_runs_the_whole_centre_and_its_figures_agree(tmp_path):
    settings = demo.DemoSettings(seed=5, hours=0.04, agents=4, calls_per_hour=240, talk_mean=15, patience_mean=40,
                                 fax_share=0.25, data_dir=str(tmp_path / "data"), scripts_dir=SCRIPTS,
                                 drain_seconds=400)
    report = demo.run(settings, progress=False)
    c, acd = report["callers"], report["acd"]
    assert c["offered"] == len(_callers(settings)) > 5
    assert report["left_behind"] == [] and report["script_errors"] == 0
    # the ACD's books agree with what the simulated callers lived through
    assert acd["total"]["answered"] == c["reached_agent"] >= 1
    assert acd["total"]["abandoned"] <= c["abandoned"] + c["voice"] - c["reached_agent"] - c["reached_operator"]
    assert acd["queues"]["sales"]["offered"] + acd["queues"]["support"]["offered"] == acd["total"]["offered"]
    assert report["fax"]["machines"] >= 1 and report["fax"]["inbox"] == report["fax"]["sent_ok"] >= 1
    assert report["recordings"] >= c["voice"] - c["refused_no_channel"] - 1
    saved = json.loads((tmp_path / "data" / "report.json").read_text())
    assert saved["callers"] == c and saved["acd"]["total"] == acd["total"]
    text = (tmp_path / "data" / "report.txt").read_text()
    assert "busy hour report" in text and "support" in text and "service level" in text
    import sqlite3

    with sqlite3.connect(tmp_path / "data" / "pycallcenter.db") as db:
        cdrs = db.execute("select count(*) from cdr").fetchone()[0]
    # exactly one CDR per call that reached the centre, and the demo's centre is a config a user can run
    assert cdrs == report["cdrs"] == c["offered"] - c["refused_no_channel"]
    _, centre = load_settings(str(tmp_path / "data" / "centre.toml"))
    assert [q.name for q in centre.queue] == ["sales", "support"] and centre.recording.calls == "all"


def test_callers_are_poisson_and_seeded():
    s = demo.DemoSettings(seed=3, hours=4.0, calls_per_hour=400)
    a, b = _callers(s), _callers(s)
    assert [c.arrival for c in a] == [c.arrival for c in b]
    assert 1450 < len(a) < 1750  # 1,600 expected
    gaps = [y.arrival - x.arrival for x, y in zip(a, a[1:])]
    mean = sum(gaps) / len(gaps)
    assert abs(mean - 9.0) < 0.6
    assert 0.9 < (sum((g - mean) ** 2 for g in gaps) / len(gaps)) ** 0.5 / mean < 1.1  # exponential: cv = 1
    assert any(c.kind == "fax" for c in a) and any("," in c.digits for c in a)
