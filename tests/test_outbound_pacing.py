"""Predictive pacing, sans-IO: on a seeded model campaign it keeps the abandon rate under the cap while
keeping agents busier than progressive pacing; it falls back to progressive when over the cap."""
import pytest

from outbound_model import run_model
from pycallcenter.apps.outbound.pacing import Pacer, expected_abandon_share


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_predictive_keeps_abandons_under_the_cap_and_agents_busier_than_progressive(seed):
    progressive = run_model("progressive", seed=seed)
    predictive = run_model("predictive", seed=seed, abandon_cap=0.03)
    assert progressive.abandoned == 0  # a line only when an agent is free
    assert 0 < predictive.abandon_rate <= 0.03
    assert predictive.utilisation > progressive.utilisation + 0.05
    assert predictive.connected > progressive.connected


def test_a_tighter_cap_dials_less_and_abandons_less():
    loose = run_model("predictive", seed=4, abandon_cap=0.05, max_ratio=3.0)
    tight = run_model("predictive", seed=4, abandon_cap=0.01, max_ratio=3.0)
    assert tight.abandon_rate <= 0.01 < loose.abandon_rate <= 0.05
    assert tight.attempts < loose.attempts


def test_max_ratio_caps_the_lines_per_agent():
    p = Pacer("predictive", max_ratio=1.5, abandon_cap=0.5, warmup=1)
    for _ in range(10):
        p.ended(human=False)
    p.ended(human=True, seconds=10)  # a 1-in-11 answer rate would ask for ~10 lines per agent
    assert p.lines(free_agents=4, busy_agents=0, in_flight=0) == 6
    assert p.lines(free_agents=4, busy_agents=0, in_flight=5) == 1


def test_progressive_until_warm_and_whenever_one_more_abandon_would_pass_the_cap():
    p = Pacer("predictive", max_ratio=5.0, abandon_cap=0.2, warmup=5)
    assert p.lines(2, 0, 0) == 2 and p.last_mode == "progressive"
    for i in range(10):
        p.ended(human=i % 5 == 0, seconds=8 if i % 5 == 0 else 20)  # one in five is a person, after 8 s
    assert p.lines(2, 0, 0) == 2 and p.last_mode == "progressive"  # 1 abandon in 3 people would pass 20%
    for i in range(10):
        p.ended(human=i % 5 == 0, seconds=8 if i % 5 == 0 else 20)
    assert p.lines(2, 0, 0) == 6 and p.last_mode == "predictive"  # a seventh line would abandon over 10%
    p.abandon()
    assert p.abandon_rate == 0.25
    assert p.lines(2, 0, 0) == 2 and p.last_mode == "progressive"
    assert p.lines(2, 0, 1) == 1  # lines already out count


def test_a_line_that_has_rung_longer_than_people_take_to_answer_counts_for_little():
    p = Pacer("predictive", max_ratio=5.0, abandon_cap=0.2, warmup=5)
    for i in range(20):
        p.ended(human=i % 5 == 0, seconds=8 if i % 5 == 0 else 20)
    assert p.chance(5.0, 0.2) == pytest.approx(0.2) and p.chance(12.0, 0.2) == 0.0 and p.chance(None, 0.2) == 1.0
    assert p.lines(2, 0, [0.0, 0.0]) == 4  # two fresh lines: four more
    assert p.lines(2, 0, [12.0, 12.0]) == 6  # two lines nobody will answer: as if none were out
    assert p.lines(2, 0, [None]) == 3  # a person already waits for one of the two agents


def test_expected_abandon_share_matches_the_binomial_by_hand():
    # 3 lines, p = 0.5, 1 agent: X=2 (p 3/8) loses 1, X=3 (p 1/8) loses 2; E[X] = 1.5
    assert expected_abandon_share(3, 0.5, 1) == pytest.approx((3 / 8 + 2 / 8) / 1.5)
    assert expected_abandon_share(2, 0.3, 2) == 0.0
    assert expected_abandon_share(4, 1.0, 2) == pytest.approx(0.5)
