import heapq
import json
import math
import random

import pytest

from pycallcenter.apps.staffing import (
    erlang_a_prediction,
    erlang_b,
    erlang_c,
    erlang_c_prediction,
    required_agents,
)
from pycallcenter.cli import main


@pytest.mark.parametrize(
    "agents, load, expected",
    # published Erlang B table values (blocking probability)
    [(1, 1.0, 0.5), (2, 1.0, 0.2), (10, 5.0, 0.018385), (20, 15.0, 0.045593), (5, 10.0, 0.563952)],
)
def test_erlang_b_matches_tables(agents, load, expected):
    assert erlang_b(agents, load) == pytest.approx(expected, abs=5e-6)


def test_erlang_c_textbook_example():
    # 100 calls / 30 min, AHT 180 s -> 10 Erlangs; 14 agents: P(wait) 17.41 %, SL(20 s) 88.8 %
    p = erlang_c_prediction(14, calls=100, aht=180, interval=1800, target_seconds=20)
    assert p.wait_probability == pytest.approx(0.1741, abs=1e-4)
    assert p.service_level == pytest.approx(0.8883, abs=1e-4)
    assert p.occupancy == pytest.approx(10 / 14)
    assert p.asa_seconds == pytest.approx(0.17411 * 180 / 4, rel=1e-3)


@pytest.mark.crosscheck  # make soak installs the crosscheck extra and runs it; make test deselects it
def test_matches_pyworkforce_over_a_grid():
    from pyworkforce import queuing as pyworkforce  # a missing install must fail, not skip

    for calls, aht, sl, t in [(100, 180, 0.8, 20), (360, 180, 0.8, 20), (1200, 240, 0.9, 15), (50, 300, 0.7, 30)]:
        theirs = pyworkforce.ErlangC(transactions=calls, aht=aht / 60, asa=t / 60, interval=30, shrinkage=0.3)
        want = theirs.required_positions(service_level=sl, max_occupancy=1.0)
        scheduled, p = required_agents(calls, aht, 1800, sl_target=sl, target_seconds=t, shrinkage=0.3)
        assert p.agents == want["raw_positions"]
        assert scheduled == want["positions"]
        assert p.service_level == pytest.approx(want["service_level"], abs=1e-9)
        assert p.wait_probability == pytest.approx(want["waiting_probability"], abs=1e-9)


def test_stable_at_thousands_of_agents():
    assert 0 < erlang_b(5000, 4900) < 1
    c = erlang_c(2000, 1950)
    assert 0 < c < 1 and math.isfinite(c)
    scheduled, p = required_agents(calls=72000, aht=180, interval=1800, sl_target=0.8, target_seconds=20)
    assert 7200 < p.agents < 7300 and p.service_level >= 0.8
    a = erlang_a_prediction(p.agents, 72000, 180, 1800, 20, patience=120)
    assert all(math.isfinite(v) for v in (a.service_level, a.asa_seconds, a.abandon_rate))


def test_required_agents_is_the_smallest_meeting_every_target():
    for kwargs in [dict(), dict(asa_target=5), dict(max_occupancy=0.8), dict(patience=90), dict(patience=60, max_abandon=0.02)]:
        _, p = required_agents(360, 180, 1800, sl_target=0.85, target_seconds=20, **kwargs)
        _, prev = required_agents(360, 180, 1800, sl_target=0.85, target_seconds=20, max_agents=p.agents, **kwargs)
        assert prev.agents == p.agents
        fewer = (erlang_a_prediction(p.agents - 1, 360, 180, 1800, 20, kwargs["patience"]) if "patience" in kwargs
                 else erlang_c_prediction(p.agents - 1, 360, 180, 1800, 20))
        misses = [fewer.service_level < 0.85,
                  "asa_target" in kwargs and fewer.asa_seconds > kwargs["asa_target"],
                  "max_occupancy" in kwargs and fewer.occupancy > kwargs["max_occupancy"],
                  "max_abandon" in kwargs and fewer.abandon_rate > kwargs["max_abandon"]]
        assert any(misses), kwargs


def test_erlang_a_tends_to_erlang_c_with_endless_patience():
    a = erlang_a_prediction(41, 360, 180, 1800, 20, patience=1e8)
    c = erlang_c_prediction(41, 360, 180, 1800, 20)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-5)
    assert a.asa_seconds == pytest.approx(c.asa_seconds, rel=1e-4)
    assert a.wait_probability == pytest.approx(c.wait_probability, abs=1e-5)


def _simulate_mmn_m(agents, lam, mean_service, mean_patience, t_sl, calls, seed):
    """Independent event simulation of M/M/n+M with FCFS; returns SL, ASA of answered, abandon rate."""
    rng = random.Random(seed)
    free = agents
    busy_until = []  # heap of completion times
    queue = []  # (arrival, deadline) FCFS
    t = 0.0
    answered_in_t = answered = abandoned = 0
    wait_sum = 0.0
    warmup = calls // 10
    for i in range(calls + warmup):
        t += rng.expovariate(lam)
        # serve the queue with agents freed before t
        while busy_until and busy_until[0] <= t:
            done = heapq.heappop(busy_until)
            while queue and queue[0][1] < done:  # callers who gave up before this agent freed
                arr, _ = queue.pop(0)
                abandoned += arr >= 0
            if queue:
                arr, _ = queue.pop(0)
                w = done - abs(arr)
                if arr >= 0:
                    answered += 1
                    wait_sum += w
                    answered_in_t += w <= t_sl
                heapq.heappush(busy_until, done + rng.expovariate(1 / mean_service))
            else:
                free += 1
        while queue and queue[0][1] < t:
            arr, _ = queue.pop(0)
            abandoned += arr >= 0
        counted = i >= warmup
        if free:
            free -= 1
            heapq.heappush(busy_until, t + rng.expovariate(1 / mean_service))
            if counted:
                answered += 1
                answered_in_t += 1
        else:
            # a negative arrival time marks warm-up callers, which are not counted
            queue.append((t if counted else -t - 1e-12, t + rng.expovariate(1 / mean_patience)))
    offered = answered + abandoned
    return answered_in_t / offered, wait_sum / answered, abandoned / offered


@pytest.mark.parametrize("agents, patience", [(38, 120), (34, 60)])
def test_erlang_a_agrees_with_an_independent_simulation(agents, patience):
    p = erlang_a_prediction(agents, 360, 180, 1800, 20, patience)
    sl, asa, abandon = _simulate_mmn_m(agents, 360 / 1800, 180, patience, 20, calls=60_000, seed=7)
    assert sl == pytest.approx(p.service_level, abs=0.02)
    assert abandon == pytest.approx(p.abandon_rate, abs=0.01)
    assert asa == pytest.approx(p.asa_seconds, rel=0.12)


@pytest.mark.parametrize("bad", [dict(calls=-1), dict(aht=0), dict(shrinkage=1.0), dict(sl_target=1.5)])
def test_bad_arguments_are_rejected(bad):
    args = dict(calls=100, aht=180, interval=1800) | bad
    with pytest.raises(ValueError):
        required_agents(**args)


@pytest.mark.parametrize("bad, why", [(dict(calls=float("nan")), "finite"), (dict(calls=float("inf")), "finite"),
                                      (dict(calls=1e12), "no staffing up to"),
                                      (dict(calls=1e12, patience=60.0), "no staffing up to")])
def test_absurd_loads_are_refused_at_once(bad, why):
    # 1e12 calls an interval walked Erlang B's O(n) recursion at 1.7e11 agents for hours; inf was a traceback
    with pytest.raises(ValueError, match=why):
        required_agents(**(dict(calls=100, aht=180, interval=1800) | bad))


def test_cli_json(capsys):
    assert main(["erlang", "--calls", "100", "--aht", "180", "--interval", "1800", "--sl", "0.8", "--t", "20",
                 "--shrinkage", "0.3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["agents_on_phones"] == 14 and out["agents_scheduled"] == 20
    assert out["service_level"] == pytest.approx(0.8883, abs=1e-4)


def test_cli_text_with_patience(capsys):
    assert main(["erlang", "--calls", "360", "--aht", "180", "--patience", "120"]) == 0
    text = capsys.readouterr().out
    assert "Erlang A" in text and "abandon rate" in text
