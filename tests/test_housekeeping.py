"""The centre's housekeeping (pycallcenter/apps/housekeeping.py): malloc_trim once a minute of board time,
and that glibc's trim does give back the free pages a long run leaves below live blocks."""
import numpy as np
import pytest

from pycallcenter.apps import housekeeping
from pycallcenter.apps.soak import rss_bytes
from pycallcenter.dsp import SAMPLE_RATE


def test_trims_once_a_minute_of_board_time():
    calls = []
    keeper = housekeeping.Housekeeping(every=60, trim=lambda pad: calls.append(pad) or len(calls) % 2)
    for second in np.arange(0, 300.08, 0.08):  # five minutes of 80 ms ticks
        keeper.on_tick(int(round(second * SAMPLE_RATE)))
    assert calls == [0] * 5  # at 60, 120, 180, 240 and 300 s, never at start
    status = keeper.status()
    assert status["trims"] == 5 and status["released"] == 3
    assert status["trim_max_ms"] >= status["trim_mean_ms"] >= 0


def test_without_malloc_trim_it_does_nothing_and_says_so(monkeypatch):
    monkeypatch.setattr(housekeeping, "_malloc_trim", lambda: None)
    keeper = housekeeping.Housekeeping()
    keeper.on_tick(10**9)
    assert keeper.status() == {"trim": "unavailable"}


@pytest.mark.skipif(housekeeping._malloc_trim() is None, reason="the C library has no malloc_trim")
def test_trim_returns_free_pages_held_below_live_blocks():
    # 64 kB blocks sit in the heap (under glibc's mmap threshold); keeping every 16th pins the heap's top,
    # so the freed ones between them stay resident until a trim, as a long run's buffers do
    blocks = [np.ones(8192, np.float64) for _ in range(1024)]
    kept = blocks[::16]
    del blocks
    before = rss_bytes()
    assert housekeeping._malloc_trim()(0) == 1
    after = rss_bytes()
    assert before - after > 32 * 2**20, (before, after)
    assert all(float(k[0]) == 1.0 for k in kept)  # live blocks are untouched


def test_a_centre_runs_it_and_shows_it_in_its_status(tmp_path):
    from tests.test_centre import build

    centre, _ = build(tmp_path, "")
    try:
        centre.loop(seconds=61, fast=True, publish=False)
        status = centre.publish()["features"]["housekeeping"]
    finally:
        centre.close(publish=False)
    assert status["trims"] == 1 and status["trim_max_ms"] >= 0
