"""The Python heap of a long-running centre: what is alive once it is built is kept out of the cyclic
garbage collector's full collections.

Why: a full (generation 2) collection walks every tracked container object. A centre at appliance size
(32 E1 spans, 500 agents) holds a few hundred thousand of them from start-up on (the board's channels,
the protocol machines, the agents, the prompts, compiled schemas), none of which ever becomes garbage;
walking them took about 100 ms of the engine thread, five 20 ms ticks' worth, each time one came
(docs/reliability.md, "Paced in real time"). ``gc.freeze()`` moves every object alive now into a
permanent generation the collector does not walk. It is done once per process, by the first of the
centre's first tick and the packet media's first row; the centre's collects first, so cyclic garbage
alive at that moment is freed rather than kept for good (a row opens mid-run, where a full collection
is the pause this avoids, so it keeps what is alive, once). What the centre creates later (calls, legs,
recordings) is collected as before.
"""
import gc

_frozen = False


def freeze_heap(collect=True):
    """Move every object alive now out of the collector's full walks, after a full collection unless
    told not to, once per process; return True if this call froze the heap."""
    global _frozen
    if _frozen:
        return False
    _frozen = True
    if collect:
        gc.collect()
    gc.freeze()
    return True
