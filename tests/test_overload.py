"""Overload control: the load guard's p99 with hysteresis, the call-rate bucket, max_calls, and the engine
clearing a call beyond them with cause 34/42 before any script runs, leaving nothing behind."""
import pytest

from engine_rig import pri_engine
from pycallcenter.apps.settings import load_text
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import admission as A
from pycallcenter.errors import ConfigError

TICK = 0.02


def test_guard_engages_when_the_p99_passes_the_threshold_and_releases_under_the_lower_one():
    g = A.TickLoad(TICK, high=0.8, low=0.5, window=2.0)  # 100 ticks: p99 above x when 2 or more ticks are
    assert g.size == 100 and g.allowed == 1
    for _ in range(100):
        assert not g.observe(0.005)
    assert not g.observe(0.019)  # one slow tick is the p99's 1%: still under
    assert g.observe(0.017)  # the second one in the window puts the p99 above 16 ms
    for _ in range(98):  # 12 ms ticks: under the 16 ms threshold but above the 10 ms release
        assert g.observe(0.012)
    assert g.observe(0.005)  # a fast tick changes nothing while the p99 is still above 10 ms
    for _ in range(96):
        g.observe(0.005)
    assert g.observe(0.005)  # two 12 ms ticks left in the window: p99 still above the release
    assert not g.observe(0.005)  # one left: p99 at or under 10 ms, calls are let in again


def test_guard_p99_agrees_with_a_sorted_window():
    import random

    rng = random.Random(7)
    g = A.TickLoad(TICK, high=0.8, low=0.8, window=1.0)  # no hysteresis: engaged == (p99 > high)
    window = []
    for _ in range(2000):
        x = rng.choice((0.002, 0.004, 0.015, 0.017, 0.03)) if rng.random() < 0.05 else 0.003
        window = (window + [x])[-g.size:]
        over = sum(1 for t in window if t > 0.016)
        assert g.observe(x) == (over > g.allowed)


def test_rate_bucket_lets_a_burst_through_then_the_rate():
    adm = A.Admission(max_call_rate=2.0, burst=3)
    now = 0
    got = [adm.verdict(0, now) for _ in range(5)]
    assert got == [None, None, None, A.RATE, A.RATE]
    now += SAMPLE_RATE // 2  # half a second: one more call's token
    assert [adm.verdict(0, now) for _ in range(2)] == [None, A.RATE]
    now += 10 * SAMPLE_RATE  # a long quiet spell refills only up to the burst
    assert [adm.verdict(0, now) for _ in range(4)] == [None, None, None, A.RATE]


def test_capacity_comes_first_and_a_refused_call_takes_no_token():
    adm = A.Admission(max_calls=2, max_call_rate=1.0)
    assert adm.verdict(2, 0) == A.CAPACITY
    assert adm.verdict(1, 0) is None  # the one token was still there
    assert A.CAUSE[A.CAPACITY] == 34 and A.CAUSE[A.RATE] == 42 and A.CAUSE[A.LOAD] == 42


def _offer(net, eng, channel, called="5000"):
    net.iface.setup(eng.now / SAMPLE_RATE, called=called, calling=f"20255501{channel:02d}", channel=channel)


def test_a_call_beyond_max_calls_is_released_with_34_and_leaves_nothing_behind():
    eng, net = pri_engine()
    eng.admission = A.Admission(max_calls=2)
    started = []

    async def script(call):
        started.append(call.leg.channel)
        await call.answer()
        await call.wait(30.0)

    eng.router = lambda leg: script
    eng.run(seconds=1.0)
    for ch in (1, 2, 3):
        _offer(net, eng, ch)
        eng.run(seconds=0.5)
    eng.run(seconds=2.0)
    assert started == [1, 2]  # the third never reached a script
    ended = [e for e in net.events if type(e).__name__ == "CallEnded"]
    assert [e.cause for e in ended] == [34]
    assert len(eng.calls) == 2 and sorted(leg.channel for leg in eng.legs.values()) == [1, 2]
    assert eng.admission.refused == {A.CAPACITY: 1, A.RATE: 0, A.LOAD: 0}
    lines = [line for line in eng.log_lines if " overload" in line]
    assert len(lines) == 1 and "reason=capacity" in lines[0] and "cause=34" in lines[0]
    # the calls already up were not touched: they are still answered
    assert all(leg.state == "answered" for leg in eng.legs.values())
    # one of them ends: room again, and the next call is let in; the burst's end is logged once the
    # refusals have stopped for a while
    for leg in list(eng.legs.values()):
        if leg.channel == 1:
            leg.hangup(16)
    eng.run(seconds=1.0)
    _offer(net, eng, 4)
    eng.run(seconds=A.QUIET)
    assert started == [1, 2, 4] and not any("overload_end" in line for line in eng.log_lines)
    eng.calls[next(c for c, call in eng.calls.items() if call.caller_leg.channel == 4)].legs[0].hangup(16)
    eng.run(seconds=1.0)
    _offer(net, eng, 5)
    eng.run(seconds=1.0)
    assert started == [1, 2, 4, 5]
    assert sum("overload_end admitted=1 refused=1" in line for line in eng.log_lines) == 1
    refused = next(line for line in eng.log_lines if " offered " in line and "channel=3" in line)
    call_id = refused.split("call=")[1].split()[0]
    assert call_id not in eng.calls and not any(call_id in line for line in eng.leaks())
    for call in list(eng.calls.values()):
        eng.release(call)
    eng.run(seconds=2.0)
    assert not eng.calls and not eng.legs and not eng.leaks()


def test_refusals_in_a_burst_are_logged_once_and_counted():
    eng, net = pri_engine()
    eng.admission = A.Admission(max_call_rate=0.1, burst=1)
    eng.router = lambda leg: None  # not reached for refused calls; the admitted one is rejected (21)
    eng.run(seconds=1.0)
    for ch in range(1, 7):
        _offer(net, eng, ch)
        eng.run(seconds=0.2)
    eng.run(seconds=2.0)
    causes = sorted(e.cause for e in net.events if type(e).__name__ == "CallEnded")
    assert causes == [21] + [42] * 5
    assert sum(1 for line in eng.log_lines if " overload " in line + " ") == 1
    assert eng.admission.status()["refused_total"] == 5
    assert not eng.calls and not eng.legs and not eng.leaks()


def test_the_centre_reads_the_keys_and_checks_them():
    board = '[board]\nlaw = "alaw"\n'
    _, s = load_text(board + "[centre]\nmax_calls = 40\nmax_call_rate = 5\noverload_guard = 0.7\n"
                     "overload_release = 0.5\n", file="c.toml")
    adm = A.from_settings(s.centre, TICK)
    assert adm.max_calls == 40 and adm.rate == 5 and adm.burst == 5 and adm.guard.high == pytest.approx(0.014)
    _, s = load_text(board + "[centre]\noverload_guard = 0\n", file="c.toml")
    assert A.from_settings(s.centre, TICK) is None
    with pytest.raises(ConfigError, match="max_calls"):
        load_text(board + "[centre]\nmax_calls = 0\n", file="c.toml")
    with pytest.raises(ConfigError, match="overload_release"):
        load_text(board + "[centre]\noverload_guard = 0.5\noverload_release = 0.7\n", file="c.toml")
