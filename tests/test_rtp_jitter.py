"""The jitter buffer's written-out path for the usual packet gives what its general path gives, packet by
packet and pop by pop, on streams with loss, reordering, duplicates, talkspurts, wrap and jitter."""
from hypothesis import given, settings
from hypothesis import strategies as st

from pycallcenter.media.jitter import JitterBuffer

steps = st.lists(st.tuples(st.sampled_from(["next", "next", "next", "next", "skip", "back", "dup", "spurt"]),
                           st.floats(0.0, 0.08), st.booleans()), min_size=1, max_size=300)


class General(JitterBuffer):
    fast_path = False


@settings(max_examples=200, deadline=None)
@given(steps, st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF))
def test_fast_path_matches_general_path(plan, seq0, ts0):
    fast, general = JitterBuffer(), General()
    seq, ts, now = seq0, ts0, 0.0
    sent = []
    for k, (kind, delay, pop) in enumerate(plan):
        marker = False
        if kind == "skip":
            seq, ts = seq + 1, ts + 160
        elif kind == "spurt":
            seq, ts, marker = seq, ts + 1600, True
        if kind in ("back", "dup") and sent:
            s, t = sent[-2] if kind == "back" and len(sent) > 1 else sent[-1]
        else:
            s, t = seq & 0xFFFF, ts & 0xFFFFFFFF
            sent.append((s, t))
            seq, ts = seq + 1, ts + 160
        arrival = k * 0.02 + delay
        assert fast.push(s, t, k, arrival, marker) == general.push(s, t, k, arrival, marker)
        if pop:
            now += 0.02
            assert fast.pop(now) == general.pop(now)
        assert fast.stats == general.stats
