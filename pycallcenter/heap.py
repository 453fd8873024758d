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
import contextlib
import gc
import time

THRESHOLDS = (2000, 20, 10)  # gc.set_threshold: young, middle, old (see above)

_frozen = False
# A centre paced in real time turns the collector's automatic runs off (between_ticks) and runs the
# collections that are due between two ticks instead (collect_in_slack, from the loops that pace the ticks):
# the middle generation's collection is 9-25 ms of the engine thread (the slowest 0.1% of paced ticks by
# CPU, docs/reliability.md, "Paced in real time"), a full one 40-150 ms, and a young one ~1 ms, each of them
# started by whatever allocation crossed a threshold, usually inside a tick. An older generation runs when
# the slack before the next tick is at least SLACK_MARGIN times what it should take (by the last one's wall
# time: a middle one's per young collection it gathers, since one run late walks more; the defaults before
# the first), or anyway once it is overdue by as many young collections again (OVERDUE times its threshold),
# so a machine with no slack (a loaded host) still collects, between ticks.
SLACK_MARGIN = 1.5
OVERDUE = 2
_took = {1: 0.0005, 2: 0.100}  # wall seconds of the last middle collection per young one it gathered; of a full one


@contextlib.contextmanager
def between_ticks():
    """Turn the collector's automatic runs off while the block runs (collect_in_slack runs what is due); the
    collector as it was after. Yields nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


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


def due():
    """Return the oldest generation whose collection is due by the collector's thresholds (None: none).
    A full collection is due after its threshold of middle ones (CPython also waits until a quarter of the
    old generation is new, which Python does not expose; without it, full collections come at most
    as often as its threshold of middle ones)."""
    (c0, c1, c2), (t0, t1, t2) = gc.get_count(), gc.get_threshold()
    if c1 >= t1:
        return 2 if c2 >= t2 else 1
    return 0 if c0 > t0 else None


def collect_in_slack(slack):
    """Run, between two ticks with `slack` seconds left before the next, the collection that is due and fits
    (see above); with the collector's automatic runs on, only the middle one, and only when one of the next
    two young collections would start it. Return the generation collected, or None."""
    (c0, c1, _), (t0, t1, _) = gc.get_count(), gc.get_threshold()
    if gc.isenabled():
        gen = 1 if c1 >= t1 else None
    else:
        gen = due()
    if gen is None:
        return None
    if gen and slack < SLACK_MARGIN * expected(gen):
        if gc.isenabled() or c1 < OVERDUE * t1:
            gen = 0 if c0 > t0 and not gc.isenabled() else None  # the older one waits for slack
            if gen is None:
                return None
    start = time.perf_counter()
    gc.collect(gen)
    took = time.perf_counter() - start
    if gen:
        _took[gen] = took / max(1, c1) if gen == 1 else took
    return gen


def expected(gen):
    """Return the seconds the collection of generation gen (1 or 2) should take now, by the last one's."""
    return _took[1] * max(1, gc.get_count()[1]) if gen == 1 else _took[2]
