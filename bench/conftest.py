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
