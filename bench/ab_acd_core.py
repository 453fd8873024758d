"""Interleaved A/B of the ACD core: an older revision's ``acd/core.py`` against the current package, on the
two workloads of bench_acd.py (a routing decision with 10,000 agents and 100 calls queued, and the 12-hour
day of a 500-agent centre), in one process, alternating, CPU time.

Run: .venv/bin/python bench/ab_acd_core.py REV [ROUNDS]   (REV: a commit whose acd/core.py held the whole core)
"""
import importlib.util
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # run as a script: the bench's own workloads
import bench_acd  # noqa: E402
from pycallcenter.acd.core import Acd as New  # noqa: E402


def load_old(rev):
    """Return the Acd class of acd/core.py at git revision rev, loaded beside the current package."""
    text = subprocess.run(["git", "show", f"{rev}:pycallcenter/acd/core.py"], check=True,
                          capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(text)
    spec = importlib.util.spec_from_file_location("acd_core_old", f.name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Acd


def day(cls):
    """Return the CPU seconds of the bench's simulated day on an Acd of class cls."""
    acd, sim = bench_acd._day_centre(cls)
    t0 = time.process_time()
    sim.run(12 * 3600 + 3600)
    return time.process_time() - t0


def decision(cls, n=2000):
    """Return the CPU microseconds of one hang-up + route + answer + enter with 10,000 agents, 100 queued."""
    acd, calls = bench_acd._busy_centre(10_000, 100, cls)
    counter, clock = itertools.count(calls), itertools.count(10)
    agents = itertools.cycle([f"a{i}" for i in range(10_000)])
    t0 = time.process_time()
    for _ in range(n):
        agent, now = next(agents), next(clock)
        (offer,) = [x for x in acd.hangup(acd.agents[agent].call, now) if x.kind == "offer"]
        acd.answer(offer.agent, offer.call, now)
        acd.enter(f"c{next(counter)}", "q", now)
    return (time.process_time() - t0) / n * 1e6


def main(rev, rounds=10):
    """Print min and median of both workloads for the old and the current core; return None."""
    old = load_old(rev)
    for label, work in (("decision us", decision), ("day s", day)):
        res = {"old": [], "new": []}
        for r in range(rounds):
            pair = (("old", old), ("new", New)) if r % 2 == 0 else (("new", New), ("old", old))
            for name, cls in pair:
                res[name].append(work(cls))
        for name, v in res.items():
            v.sort()
            print(f"{label} {name}: min {v[0]:.3f} median {v[len(v) // 2]:.3f} ({rounds} runs)")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10)
