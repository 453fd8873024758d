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
