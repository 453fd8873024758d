"""The Python heap of a long-running centre: what is alive once it is built is kept out of the cyclic
garbage collector's full collections.

Why: a full (generation 2) collection walks every tracked container object. A centre at appliance size
(32 E1 spans, 500 agents) holds about 130,000 of them from start-up on (the board's channels, the
protocol machines, the agents, the prompts, compiled schemas), none of which ever becomes garbage;
full collections took 130-180 ms of the engine thread, seven to nine 20 ms ticks' worth, about every
16 s (docs/reliability.md, "Paced in real time"). ``gc.freeze()`` moves every object alive now into a
permanent generation the collector does not walk. It is done once per process, by the first of the
centre's first tick and the packet media's first row; the centre's collects first, so cyclic garbage
alive at that moment is freed rather than kept for good (a row opens mid-run, where a full collection
is the pause this avoids, so it keeps what is alive, once). What the centre creates later (calls, legs,
recordings) is collected as before.

The young generations are collected less often than Python's default (700, 10, 10) would: after 2,000
new container objects instead of 700, and the middle one after 20 of those instead of 10. Most of a
tick's objects die by reference counting within a tick or two; collected too often, the few still alive
at that moment are promoted to the old generation, and promotions are what start a full collection
(once they reach a quarter of the old generation). Measured at 32 spans and 500 agents over 180 s
(bench/paced_ticks.py, load 12-14): with the heap frozen and the default thresholds, 10 full
collections of 40-77 ms each; with these, two (43-82 ms), 16 middle ones of 8.6-9.6 ms on average and
343 young ones of 0.9 ms.
"""
import gc
import time

THRESHOLDS = (2000, 20, 10)  # gc.set_threshold: young, middle, old (see above)

_frozen = False
# The middle generation's collection, when it is due, is 9-25 ms of the engine thread (the slowest 0.1% of
# paced ticks by CPU, docs/reliability.md): a centre paced in real time runs it in a tick's slack instead,
# when the slack is at least SLACK_MARGIN times the last one's wall time (10 ms assumed before the first).
SLACK_MARGIN = 1.5
_middle_took = 0.010


def freeze_heap(collect=True):
    """Move every object alive now out of the collector's full walks, after a full collection unless
    told not to, and set the collector's THRESHOLDS, once per process; return True if this call did."""
    global _frozen
    if _frozen:
        return False
    _frozen = True
    if collect:
        gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    return True


def collect_in_slack(slack):
    """Run the middle generation's collection now if one of the next two young collections would start it and
    it fits in `slack` seconds (by the last one's wall time); return True if it ran."""
    global _middle_took
    if gc.get_count()[1] < gc.get_threshold()[1] or slack < SLACK_MARGIN * _middle_took:
        return False
    start = time.perf_counter()
    gc.collect(1)
    _middle_took = time.perf_counter() - start
    return True
