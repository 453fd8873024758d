"""Shared test fixtures: reference data from ../shared/testdata, reference peers, hypothesis profiles."""
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # the peers/ package (test-only bindings) lives at the project root
    sys.path.insert(0, ROOT)

TESTDATA = os.path.join(os.path.dirname(ROOT), "shared", "testdata")

import pycallcenter.ivr  # noqa: E402,F401  registers the script API (IvrCall) with the engine, as the centre does

settings.register_profile("default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", deadline=None, max_examples=200_000, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def testdata():
    """Return a function mapping a path under ../shared/testdata to an absolute path (skips if absent)."""

    def path(*parts):
        p = os.path.join(TESTDATA, *parts)
        if not os.path.exists(p):
            pytest.skip(f"reference data {p} is absent (it lives in ../shared/testdata beside the project)")
        return p

    return path


@pytest.fixture(scope="session")
def spandsp():
    """Return the spandsp peer module (peers.spandsp), compiled on first use."""
    from peers import spandsp as sp

    sp.load()
    return sp


@pytest.fixture(autouse=True)
def no_call_left_behind(request):
    """Fail a test that leaves anything held on an engine it built: legs up, channels seized, off hook or
    ringing, ACD agents ringing or talking, calls in a queue, open recorders, tasks still waiting.

    Every Engine built during the test is collected. At the end, one the test did not shut down is shut
    down here (Engine.shutdown: hang up, tick until clear); what shutdown() found when it began is what
    the test left behind, and anything still held after it could not be cleared at all. Legs that were
    already clearing (their script had ended) are not leaks: the shutdown only lets them finish. Nor is
    what the simulated world does on its own: a phone whose user has not put it down after the call
    (it hears reorder; nothing of ours is held), or an exchange ringing our on-hook FXO port.
    A test that checks leaks itself marks itself ``leaves_calls``."""
    from pycallcenter.engine.engine import track_engines, untrack_engines

    built = track_engines()
    try:
        yield
    finally:
        untrack_engines(built)
    problems = []
    for eng in built:
        left = list(eng.shutdown() or [])
        left += [f"{line} (even after the engine's shutdown)" for line in eng.leaks()]
        if left:
            problems.append(f"engine on board {getattr(eng.board, 'name', '?')!r} left:\n    " + "\n    ".join(left))
    if problems and request.node.get_closest_marker("leaves_calls") is None:
        pytest.fail("calls left behind:\n  " + "\n  ".join(problems), pytrace=False)


def pytest_configure(config):
    config.addinivalue_line("markers", "leaves_calls: the test leaves calls up on purpose and checks what "
                                       "Engine.leaks()/shutdown() report itself (the leak check stands aside)")
