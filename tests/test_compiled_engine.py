"""The engine and the simulation are also compiled with Cython (pycallcenter/_compiled.py); their source
stays the reference, so their tests must pass with every compiled module imported from its .py."""
import os
import subprocess
import sys
from pathlib import Path

from pycallcenter import _compiled

ROOT = Path(__file__).resolve().parent.parent
TESTS = ("test_engine.py", "test_recording.py", "test_sim.py", "test_demo.py")


def test_engine_and_simulation_tests_pass_from_source():
    assert {"pycallcenter.engine.engine", "pycallcenter.sim.agents"} <= set(_compiled.MODULES)
    env = dict(os.environ, PYCC_PURE="1")
    tests = [str(ROOT / "tests" / name) for name in TESTS]
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *tests],
                         env=env, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
