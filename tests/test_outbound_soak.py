"""A campaign on the emulator, paced progressively and then predictively over the same seeded list of
people, machines, busy lines and unanswered phones: predictive pacing connects more people per agent
and keeps the abandon rate under the cap (soak: minutes of simulated calling; `pytest -m soak`).

Run as a script to print the figures docs/outbound.md quotes."""
import random
import shutil
import sys

import pytest

from test_outbound import Rig, prompts  # noqa: F401 - the module fixture

pytestmark = [pytest.mark.soak,
              pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is not installed")]

AGENTS = 10
NUMBERS = 600
MINUTES = 20


def people(seed=7):
    """Return [(number, kind, talk seconds)]: 30% people, 15% machines, 10% busy, the rest no answer."""
    rng = random.Random(seed)
    out = []
    for i in range(NUMBERS):
        u = rng.random()
        kind = "human" if u < 0.3 else "machine" if u < 0.45 else "busy" if u < 0.55 else "no_answer"
        out.append((f"20255{60000 + i}", kind, 10.0 + rng.expovariate(1 / 50.0)))
    return out


def run_campaign(tmp_path, prompts, mode, cap=0.03):  # noqa: F811
    """Return the campaign's status after MINUTES of calling, with the agents' talk time."""
    from pycallcenter.sim.pstn import Callee

    rng = random.Random(11)
    toml = f"""
        [[campaign]]
        name = "soak"
        numbers = "numbers.csv"
        queue = "sales"
        mode = "{mode}"
        abandon_cap = {cap}
        max_ratio = 3.0
        hours = "09:00-17:00"
        max_attempts = 1
        ring_timeout = 20
        """
    listed = people()
    rig = Rig(tmp_path, prompts, "2026-01-05T09:00:00", toml, agents=AGENTS,
              files={"numbers.csv": "".join(f"{n}\n" for n, _, _ in listed)})
    for number, kind, talk in listed:
        rig.pstn.add_callee(Callee(number, kinds=(kind,), talk=talk, answer_after=rng.uniform(3.0, 15.0)))
    rig.run(MINUTES * 60.0)
    status = rig.found["campaigns"]["soak"].status()
    talk = sum(a[5] - a[3] for c in rig.pstn.callees.values() for a in c.attempts if a[3] is not None)
    rig.close()
    status["utilisation"] = talk / (AGENTS * MINUTES * 60.0)
    return status


def test_predictive_connects_more_people_than_progressive_under_the_abandon_cap(tmp_path_factory, prompts):  # noqa: F811
    progressive = run_campaign(tmp_path_factory.mktemp("progressive"), prompts, "progressive")
    predictive = run_campaign(tmp_path_factory.mktemp("predictive"), prompts, "predictive")
    assert progressive["pacing"]["abandoned"] == 0
    assert predictive["pacing"]["abandon_rate"] <= 0.03
    assert predictive["attempts_by_outcome"]["answered"] > progressive["attempts_by_outcome"]["answered"]
    assert predictive["utilisation"] > progressive["utilisation"]


if __name__ == "__main__":
    import tempfile
    from pathlib import Path

    from pycallcenter.ivr import promptset

    base = Path(tempfile.mkdtemp())
    folder = str(base / "prompts")
    promptset.build(folder)
    for mode in sys.argv[1:] or ["progressive", "predictive"]:
        (base / mode).mkdir()
        s = run_campaign(base / mode, folder, mode)
        print(f"{mode:<12} attempts {s['pacing']['attempts']}, people {s['pacing']['humans']}, "
              f"connected {s['attempts_by_outcome'].get('answered', 0)}, abandoned {s['pacing']['abandoned']} "
              f"({100 * s['pacing']['abandon_rate']:.2f}%), machines {s['pacing']['machines']}, "
              f"agents talking {100 * s['utilisation']:.1f}% of the time")
