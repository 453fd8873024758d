"""Benchmarks (pytest-benchmark): `make bench`. Each compares our kernel with its yardstick in the same run."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def spandsp():
    """Return the spandsp peer module (peers.spandsp), compiled on first use."""
    from peers import spandsp as sp

    sp.load()
    return sp


def pytest_sessionstart(session):
    """Refuse to benchmark source modules: a figure measured on a stale or missing build is not ours."""
    from pycallcenter import _compiled

    if os.environ.get("PYCC_BENCH_SOURCE", "") not in ("", "0"):
        return  # asked for on purpose, e.g. to measure what the compiled build gains
    behind = [f"{name} ({state})" for name, state in _compiled.states() if state != _compiled.COMPILED]
    if behind:
        raise pytest.UsageError("benchmarks need the compiled build; these modules would run from source: "
                                + ", ".join(behind) + ". Run `make native` (or set PYCC_BENCH_SOURCE=1 on purpose).")
