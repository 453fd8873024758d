"""Memory per channel of the engine's media path: the growth in allocated bytes when a MediaPlane of N
channels is set up with a prompt playing and a recorder running on every channel.

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_memory.py --benchmark-only -s
"""
import os
import tempfile
import tracemalloc

import numpy as np

from pycallcenter.engine.media import MediaPlane
from pycallcenter.engine.recording import Recorder


def _bytes_for(rows, folder):
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    plane = MediaPlane(["ulaw"] * rows, 160)
    prompt = np.zeros(8000, np.int16)  # prompts are shared; each channel holds its own play position
    for r in range(rows):
        plane.play(r, [prompt])
        plane.add_recorder(Recorder(os.path.join(folder, f"r{rows}_{r}.wav"), r))
    codes = np.full((rows, 160), 0xFF, np.uint8)
    for _ in range(60):  # the recorder bank's ring fills within a second
        plane.receive(codes)
        plane.transmit()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    for rec in plane.recorders:
        plane.remove_recorder(rec)
        rec.stop()
    return used


def test_memory_per_channel(benchmark):
    with tempfile.TemporaryDirectory() as folder:
        small, large = benchmark.pedantic(lambda: (_bytes_for(120, folder), _bytes_for(960, folder)), rounds=1,
                                          iterations=1)
    per = (large - small) / (960 - 120)
    print(f"\nmedia path: {small / 1e6:.1f} MB for 120 channels, {large / 1e6:.1f} MB for 960: "
          f"{per / 1024:.1f} KiB per channel (Python-allocated; the OS page cache of recordings not counted)")
