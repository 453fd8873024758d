"""ACD benchmarks: the cost of one routing decision with 10,000 agents and 100,000 queued calls against
the same with 100 queued calls (the yardstick: it must not grow with the queue), and a simulated
day of a 500-agent centre through the discrete-event driver (no per-sample media).

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_acd.py --benchmark-only -s
"""
import itertools
import time

import pytest

from pycallcenter.acd import Acd
from pycallcenter.acd.simulate import Simulator
from pycallcenter.acd.stats import interval_report


def _busy_centre(agents, queued, acd_class=Acd):
    """Return (acd, next call number) with every agent talking and `queued` calls waiting."""
    acd = acd_class()
    acd.add_queue("q", wrapup=0, ring_timeout=1e9, join_empty="always")
    for i in range(agents):
        acd.add_agent(f"a{i}", queues={"q": 0})
    for n in range(agents + queued):  # callers first, so each login routes one call to one free agent
        acd.enter(f"c{n}", "q", 1)
    for i in range(agents):
        (offer,) = acd.login(f"a{i}", 2)
        acd.answer(offer.agent, offer.call, 2)
    return acd, agents + queued


@pytest.mark.parametrize("queued", [100, 100_000])
def test_routing_decision_cost_does_not_grow_with_the_queue(benchmark, queued):
    t0 = time.perf_counter()
    acd, n = _busy_centre(10_000, queued)
    setup = time.perf_counter() - t0
    counter = itertools.count(n)
    agents = itertools.cycle([f"a{i}" for i in range(10_000)])
    clock = itertools.count(10)

    def one_decision():
        # a call ends: its agent is free, the head call is routed to them and answered; a new call
        # joins so the queue stays as deep
        agent = next(agents)
        now = next(clock)
        d = acd.hangup(acd.agents[agent].call, now)
        (offer,) = [x for x in d if x.kind == "offer"]
        acd.answer(offer.agent, offer.call, now)
        acd.enter(f"c{next(counter)}", "q", now)

    benchmark.pedantic(one_decision, rounds=3000, iterations=1, warmup_rounds=100)
    assert len(acd.queues["q"].calls) == queued
    print(f"\n10,000 agents, {queued:,} queued: setup {setup:.1f} s; one hang-up + route + answer + enter: "
          f"{benchmark.stats.stats.median * 1e6:.1f} us median")


def _day_centre(acd_class=Acd):
    """Return (acd, simulator) of a 500-agent centre with a 12-hour day of callers scheduled."""
    acd = acd_class(seed=1)
    acd.add_queue("sales", wrapup=30, sl_seconds=20, join_empty="always")
    acd.add_queue("support", strategy="skills", wrapup=30, sl_seconds=30, join_empty="always")
    for i in range(500):
        acd.add_agent(f"a{i}", skills={"fr": 1 + i % 10},
                      queues={"sales": 0, "support": 1} if i % 2 else {"support": 0, "sales": 1})
        acd.login(f"a{i}", 0)
    sim = Simulator(acd, seed=1)
    # 12 open hours, about 95 % occupancy: 330 s handle (300 talk + 30 wrap-up), 2 minutes patience
    rate = 0.95 * 500 / 330 / 2
    sim.poisson("sales", rate, 300, 12 * 3600, patience=120)
    sim.poisson("support", rate, 300, 12 * 3600, patience=120, skill="fr")
    return acd, sim


def test_a_day_of_a_500_agent_centre(benchmark):
    def day():
        acd, sim = _day_centre()
        t0 = time.perf_counter()
        sim.run(12 * 3600 + 3600)
        t_sim = time.perf_counter() - t0
        t0 = time.perf_counter()
        reports = interval_report(acd.qlog, 0, 13 * 3600, 1800, queue="sales")
        t_rep = time.perf_counter() - t0
        return acd, sim, t_sim, t_rep, reports

    acd, sim, t_sim, t_rep, reports = benchmark.pedantic(day, rounds=1, iterations=1)
    offered = sum(q.today["offered"] for q in acd.queues.values())
    print(f"\n500 agents, 12 h day: {offered:,} calls, {sim.events_run:,} events, {len(acd.qlog):,} queue-log "
          f"lines; simulation {t_sim:.1f} s, 30-min report of one queue {t_rep:.1f} s; "
          f"sales SL {acd.realtime('sales', sim.now)['service_level']:.3f}")
