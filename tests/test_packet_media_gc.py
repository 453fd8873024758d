"""Packet media keeps the collector's full passes short: the heap alive at the first row's open is frozen, once."""
import subprocess
import sys

SCRIPT = """
import gc
from pycallcenter.media.endpoint import PacketMedia
media = PacketMedia(0, [1, 2], ports=(41000, 41999))
before = gc.get_freeze_count()
for _ in range(2):
    _, row = media.allocate()
    media.open(row, remote=("127.0.0.1", 9), payload_type=0, law="ulaw")
    print(gc.get_freeze_count())
junk = [[] for _ in range(1000)]
for x in junk:
    x.append(x)  # cyclic garbage made after the freeze must still be collected
del junk, x
print(before, gc.collect() >= 1000)
media.shutdown()
"""


def test_first_open_freezes_the_heap_once():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout.split()
    first, second, before, collected = out
    assert before == "0"
    assert int(first) > 1000  # the interpreter, numpy and the media plane moved out of the full passes
    assert int(second) <= int(first)  # the second open froze nothing more (frozen objects can still be freed)
    assert collected == "True"


def test_jitter_buffer_remembers_only_the_sequence_numbers_it_can_be_asked_about():
    from pycallcenter.media.jitter import DUPLICATE, MAX_MISORDER, STALE, JitterBuffer

    jb = JitterBuffer()
    for i in range(5000):  # 100 s of a call
        jb.push(i, 160 * i, b"x", i * 0.02)
        jb.pop(i * 0.02)
    assert len(jb._seen) <= 4 * MAX_MISORDER + 1  # it was up to 12,000 per row, walked by every full collection
    assert jb.push(4999 - MAX_MISORDER + 1, 160 * (4999 - MAX_MISORDER + 1), b"x", 100.0) == DUPLICATE
    assert jb.push(4999 - MAX_MISORDER - 1, 160 * (4999 - MAX_MISORDER - 1), b"x", 100.0) == STALE
