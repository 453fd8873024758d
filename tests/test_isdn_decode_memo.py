"""The Q.931 decoder's memos (message IE sections and decoded IEs) stay small when every SETUP carries a new
caller number, and still serve the messages that recur (docs/reliability.md, "Memory")."""
import tracemalloc

from pycallcenter.isdn import q931
from tests.isdn_pair import Pair


def _setup_bytes():
    p = Pair()
    p.add(p.net, p.net.start(0.0))
    p.add(p.user, p.user.start(0.0))
    p.pump(until=1.0)
    setup = p.net.setup(p.now, "5000", "2025510000", channel=1).setup_msg
    assert b"2025510000" in setup
    return setup


def test_a_day_of_new_caller_numbers_stays_within_the_memo_bound():
    setup = _setup_bytes()
    callers = [setup.replace(b"2025510000", f"20255{10000 + n}".encode()) for n in range(5000)]
    q931.clear_caches()
    tracemalloc.start()
    for m in callers:
        assert q931.decode(m).ies
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(q931._TAILS) <= q931._TAILS_MAX <= 512
    assert sum(len(c) for c in q931._IES) <= 8 * q931._TAILS_MAX
    assert held < 600_000, held  # 5,000 new numbers kept whole held about 3.5 MB
    first = q931.decode(setup)  # a recurring message is served from the memo: the same IE objects
    assert q931.decode(setup).ies[0] is first.ies[0]
