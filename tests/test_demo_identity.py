"""The demo's behaviour, fixed: its event log and report, byte for byte, for seeds 1 and 7.

Restructurings (the analog line machines moved out of the engine, for one) must leave what the centre does
unchanged. This test runs a short demo (a few simulated minutes: PRI calls from the emulated PSTN, the IVR,
the ACD ringing the agents' analog phones on FXS ports, fax, recording) and compares its event log and its
report with the baselines in ``tests/data/demo_identity_seed*.txt``, which were made from the code before
such a change. Only what depends on the machine is taken out: the data folder's absolute path and the
wall-clock figures (``wall_seconds``, the speed against real time).

Regenerate the baselines on purpose (only when a change of behaviour is intended and reviewed) with
``.venv/bin/python tests/test_demo_identity.py --regenerate``, and commit them with
the change that explains them.
"""
import difflib
import json
import os
import re
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
SEEDS = (1, 7)


def baseline_path(seed):
    """Return the path of the stored baseline for a seed."""
    return os.path.join(DATA, f"demo_identity_seed{seed}.txt")


def demo_trace(seed, folder):
    """Run the short demo with this seed in folder; return its event log and report as one text."""
    from pycallcenter.apps import demo

    settings = demo.DemoSettings(seed=seed, hours=0.08, agents=5, calls_per_hour=300, talk_mean=20,
                                 patience_mean=30, fax_share=0.2, wrong_input_share=0.2, data_dir=folder,
                                 drain_seconds=300)
    demo.run(settings, progress=False)
    with open(os.path.join(folder, "events.log")) as fh:
        log = fh.read()
    with open(os.path.join(folder, "report.json")) as fh:
        report = json.load(fh)
    for machine_dependent in ("wall_seconds", "speed_vs_real_time"):
        report.pop(machine_dependent)
    with open(os.path.join(folder, "report.txt")) as fh:
        text = re.sub(r" in [0-9.]+ s \([0-9.]+x real time\)", " in WALL s (SPEED real time)", fh.read())
    whole = ("## events.log\n" + log + "## report.json\n" + json.dumps(report, indent=2, sort_keys=True)
             + "\n## report.txt\n" + text)
    return whole.replace(os.path.abspath(folder), "DATA")


@pytest.mark.parametrize("seed", SEEDS)
def test_the_demo_log_and_report_are_those_of_the_baseline(seed, tmp_path):
    with open(baseline_path(seed)) as fh:
        want = fh.read()
    got = demo_trace(seed, str(tmp_path / "data"))
    if got != want:
        diff = difflib.unified_diff(want.splitlines(), got.splitlines(), "baseline", "now", lineterm="", n=2)
        pytest.fail(f"the demo (seed {seed}) no longer matches {baseline_path(seed)}:\n"
                    + "\n".join(list(diff)[:60]))


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit("usage: python tests/test_demo_identity.py --regenerate")
    sys.path.insert(0, os.path.dirname(HERE))
    for seed in SEEDS:
        with tempfile.TemporaryDirectory() as tmp:
            text = demo_trace(seed, os.path.join(tmp, "data"))
        with open(baseline_path(seed), "w") as fh:
            fh.write(text)
        print(f"wrote {baseline_path(seed)} ({text.count(chr(10))} lines)")
