"""Shared test fixtures: reference data from ../shared/testdata, reference peers, hypothesis profiles."""
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # the peers/ package (test-only bindings) lives at the project root
    sys.path.insert(0, ROOT)

TESTDATA = os.path.join(os.path.dirname(ROOT), "shared", "testdata")

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
