"""Driving the bundled IVR scripts on the emulated board: a prompt library that records what was
played (names, in order) and a centre configured in a temporary folder."""
import datetime as dt
import os

import numpy as np

from engine_rig import analog_engine
from pycallcenter.apps.centre_config import CentreConfig
from pycallcenter.ivr.loader import ScriptSet

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ivr_scripts")


class PlayedPrompts:
    """A PromptLibrary stand-in: every name becomes 0.1 s of silence and is logged in ``played``."""

    def __init__(self):
        self.played = []

    def get(self, name):
        """Return short silence for name and remember it."""
        self.played.append(name)
        return np.zeros(800, np.int16)

    def count(self, name):
        """Return how many times name was played."""
        return self.played.count(name)


def centre_engine(tmp_path, script="main_menu", when=dt.datetime(2026, 1, 5, 10, 0), rig=analog_engine,
                  **centre_args):
    """Return (engine, far ends, centre, prompts) with the bundled scripts routed to `script` and the
    centre clock starting at `when` (board time added); rig=pri_engine gives (engine, Network, ...)."""
    eng, ends = rig()
    prompts = PlayedPrompts()
    eng.prompts = prompts
    eng.scripts = ScriptSet(SCRIPTS)
    eng.recordings_dir = str(tmp_path / "recordings")
    centre = CentreConfig(data_dir=str(tmp_path), base_time=when, **centre_args).attach(eng)
    eng.router = (lambda leg: eng.scripts.get(script)) if isinstance(script, str) else (lambda leg: script)
    return eng, ends, centre, prompts


def run_until_played(eng, prompts, name, seconds=30.0, times=1):
    """Tick until prompt `name` has started `times` times; AssertionError (with what played) if not."""
    ticks = eng.run(seconds=seconds, until=lambda: prompts.count(name) >= times)
    assert prompts.count(name) >= times, f"{name!r} never played; played {prompts.played}"
    return ticks


def voice(seconds, seed=1):
    """Return speech-like modulated noise (loud enough for the record verb's silence detector)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 8000)
    return (rng.standard_normal(n) * 3000 * (1 + np.sin(np.arange(n) / 200))).astype(np.int16)
