"""Predictive pacing decision cost: one Pacer.lines() call (the campaign makes one every half second inside
the engine's tick) with 10, 30 and 100 agents and as many lines out, against the plain-Python
distribution it replaced (the yardstick: same decision, one Python loop per term).

`python -m pytest -p no:cacheprovider bench/bench_pacing.py --benchmark-only`
"""
import pytest

from pycallcenter.apps.outbound.pacing import Pacer


def _warm_pacer():
    p = Pacer("predictive", max_ratio=2.5, abandon_cap=0.05, warmup=5)
    for i in range(300):  # one in ten answered by a person after 8 s; the rest end after 20 s
        p.ended(human=i % 10 == 0, seconds=8.0 if i % 10 == 0 else 20.0)
    return p


def _python_share(chances, agents):
    """The yardstick: E[max(0, X - agents)] / E[X] with a pure-Python Poisson-binomial distribution."""
    dist = [1.0]
    for c in chances:
        nxt = [0.0] * (len(dist) + 1)
        for k, pk in enumerate(dist):
            nxt[k] += pk * (1.0 - c)
            nxt[k + 1] += pk * c
        dist = nxt
    mean = sum(chances)
    return sum((k - agents) * pk for k, pk in enumerate(dist) if k > agents) / mean if mean else 0.0


def _python_lines(p, free, busy, ages):
    """The yardstick decision: the same search, recomputing the whole distribution for each candidate."""
    import math

    rate = p.answer_rate
    agents = free + busy * (1.0 - math.exp(-p.connect_time() / p.handle_time()))
    cap = int(math.floor(p.max_ratio * max(agents, free) + 1e-9))
    chances = [p.chance(a, rate) for a in ages]
    new = max(0, free - len(ages))
    target = p.abandon_cap * p.margin
    while len(ages) + new + 1 <= cap and _python_share(chances + [rate] * (new + 1), agents) <= target:
        new += 1
    return new


@pytest.mark.parametrize("agents", [10, 30, 100])
def test_pacing_decision(benchmark, agents):
    p = _warm_pacer()
    ages = [float(i % 15) for i in range(agents)]
    lines = benchmark(p.lines, agents // 2, agents - agents // 2, ages)
    assert lines == _python_lines(p, agents // 2, agents - agents // 2, ages)


@pytest.mark.parametrize("agents", [10, 30, 100])
def test_pacing_decision_pure_python_yardstick(benchmark, agents):
    p = _warm_pacer()
    ages = [float(i % 15) for i in range(agents)]
    benchmark(_python_lines, p, agents // 2, agents - agents // 2, ages)
