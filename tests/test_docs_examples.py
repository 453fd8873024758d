"""The examples users copy work as written: the example configurations that ship in the package, and
the fenced examples of docs/ivr.md."""
import pathlib

from pycallcenter import bundled
from pycallcenter.apps.settings import load_settings
from pycallcenter.dsp import SAMPLE_RATE

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_the_example_configurations_load():
    board_text, s = load_settings(bundled.examples_dir() / "centre.toml")
    assert "[[span]]" in board_text
    assert [q.name for q in s.queue] == ["sales", "support", "vip"]
    assert {a.name: a.skills for a in s.agent}["carol"] == {"support": 9}
    assert s.callers.vip_queue == "vip" and s.callbacks.enabled and s.voicemail.box[0].extension == "channel/32"
    assert [r.called for r in s.route] == ["5000", "5001", "_59XX"]
    _, acd = load_settings(bundled.examples_dir() / "acd.toml")
    assert [q.name for q in acd.queue] == ["billing", "escalations"]
    assert [a.name for a in acd.agent] == ["heidi", "ivan", "judy", "mallory"]


def test_an_acd_file_adds_its_queues_and_agents_to_a_centre(tmp_path):
    centre = tmp_path / "centre.toml"
    centre.write_text(f'[centre]\nacd = "{bundled.examples_dir() / "acd.toml"}"\n\n[[queue]]\nname = "sales"\n')
    _, s = load_settings(centre)
    assert [q.name for q in s.queue] == ["sales", "billing", "escalations"]
    assert {a.name: dict(a.queues) for a in s.agent}["heidi"] == {"billing": 0, "escalations": 1}


def test_the_example_centre_runs_a_simulated_minute(tmp_path):
    from pycallcenter.apps.centre import Centre
    from pycallcenter.apps.simulation import Simulation

    centre = Centre.from_file(bundled.examples_dir() / "centre.toml", data=tmp_path)
    try:
        sim = Simulation(centre, hours=1 / 60)
        assert sim.offered >= 3
        while centre.engine.now < 60 * SAMPLE_RATE:
            sim.tick()
        callers = sim.pstn.done + list(sim.pstn.active.values())
        assert all(c.answered is not None for c in callers if c.placed is not None)
        assert any(c.agent_at is not None for c in callers), [c.log for c in callers]
        assert centre.engine.errors == []
    finally:
        centre.close()
    assert centre.writer.written == len(callers)
    assert centre.leaks() == []
