"""The soak at appliance size: many E1 PRI spans and hundreds of agents in one centre. A few spans for a
minute run in `make test`; 32 spans and 500 agents through a busy hour with every fault kind at least
twice (as fast as the CPU allows), and paced in real time with 20 ms ticks, run under the soak marker
(`make soak`). The figures (speed, tick percentiles) are printed for docs/reliability.md, never asserted:
timing belongs to benchmarks. (In a paced run, a tick of an overload window that takes more of the engine
thread's CPU than its board time is one of the soak's invariants, as a stalled tick is.)"""
import math
import random

import pytest

from pycallcenter.apps import soak
from pycallcenter.engine.admission import Admission


def _check(report, spans):
    assert report["violations"] == []
    assert report["cdrs"] == report["calls"]["ended_in_engine"] > 0
    busy = [span for span, n in report["calls"]["placed_by_span"].items() if n > 0]
    # every span carried calls: the PRI spans, those of the SS7 link set and the FXO span's lines; and the SIP trunk
    fxo = 1 if report["settings"]["fxo_lines"] else 0
    sip = 1 if report["settings"]["sip_every"] else 0
    assert len(busy) == spans + report["settings"]["ss7_links"] + fxo + sip, report["calls"]["placed_by_span"]
    # the callers not sent to the FXO lines or the SIP carrier go round the PRI and SS7 spans evenly (none of them
    # refused here)
    digital = [n for span, n in report["calls"]["placed_by_span"].items()
               if span != "sip" and int(span) != soak.fxo_span(soak.SoakSettings(**report["settings"]))]
    assert max(digital) - min(digital) <= 1, report["calls"]["placed_by_span"]


def _figures(report):
    t = report["ticks"]
    return (f"{report['simulated_seconds']} s simulated in {report['wall_seconds']} s wall, {report['cpu_seconds']} s CPU; "
            f"tick mean {t['mean_ms']} ms, p99 {t['p99_ms']} ms, p99.9 {t['p999_ms']} ms, max {t['max_ms']} ms, "
            f"{t['overruns']} over {t['tick_ms']:.0f} ms, {t['late']} late; by thread CPU time mean {t['cpu_mean_ms']} ms, "
            f"p99 {t['cpu_p99_ms']} ms, p99.9 {t['cpu_p999_ms']} ms, max {t['cpu_max_ms']} ms; load average "
            f"{report['load_average']}; calls {report['calls']['placed']}, RSS max {report['rss']['max_mb']} MB")


def test_several_spans_and_many_agents_carry_calls_with_no_violation(tmp_path):
    report = soak.run(soak.SoakSettings(hours=0.02, spans=4, agents=40, faults=0, data_dir=str(tmp_path)), stream=None)
    _check(report, 4)
    t = report["ticks"]
    # the ticks are timed twice, by the wall clock and by the engine thread's CPU time (a loaded machine's
    # wall time also counts other processes); both histograms saw every tick
    assert 0 < t["cpu_mean_ms"] and 0 < t["cpu_p99_ms"] <= t["cpu_p999_ms"] <= t["cpu_max_ms"] * 1.02
    assert len(report["load_average"]) == 3
    assert "by the engine thread's CPU time" in soak.format_report(report)
    assert report["calls"]["refused_by_network"] == 0  # every span, the FXO lines too, had room for its callers


def test_the_fxo_lines_are_offered_only_what_they_can_carry():
    # one caller in FXO_SHARE rings the 4 FXO lines of a small centre; at appliance size (6.7 calls a second)
    # that share would be 62 erlangs on 4 lines, 15 of 16 of its callers refused by the network, so the share
    # shrinks to offer each line at most FXO_LINE_LOAD erlangs
    small = soak.SoakSettings(agents=12, calls_per_hour=528.0)
    assert soak.fxo_every(small) == soak.FXO_SHARE
    big = soak.SoakSettings(spans=32, agents=500, calls_per_hour=23952.0)
    every = soak.fxo_every(big)
    per_line = big.calls_per_hour / 3600.0 * (big.talk_mean + soak.CALL_TIME) / every / big.fxo_lines
    assert soak.FXO_LINE_LOAD * 0.99 < per_line <= soak.FXO_LINE_LOAD


# the chaos soak at appliance size: every fault kind at least twice in the busy hour (two shuffled rounds and more)
SCALE_FAULTS = 2 * len(soak.FAULT_KINDS) + 4


@pytest.mark.soak
def test_appliance_size_busy_hour_with_every_fault_kind(tmp_path):
    report = soak.run(soak.SoakSettings(hours=1.0, spans=32, agents=500, faults=SCALE_FAULTS,
                                        data_dir=str(tmp_path)), stream=None)
    print("\n32 spans, 500 agents, busy hour with faults:", _figures(report))
    print(soak.format_report(report))
    assert report["violations"] == []
    for kind in soak.FAULT_KINDS:
        k = report["faults"].get(kind)
        assert k is not None and k["recovered"] == k["injected"] >= 2, (kind, k)
    assert report["cdrs"] == report["calls"]["ended_in_engine"] > 0
    assert all(n > 0 for n in report["calls"]["placed_by_span"].values()), report["calls"]["placed_by_span"]
    # the overload faults brought twice the centre's capacity: it refused part of it itself (34/42), before
    # any script ran (their ticks by thread CPU are reported; in a paced run one longer than its board time is a violation)
    overloads = [f for f in report["fault_log"] if f["kind"] == "overload"]
    assert all(f["target"] == "every PRI span" for f in overloads)
    assert report["calls"]["admission"]["refused_total"] >= report["calls"]["refused_by_centre"] > 0
    assert report["ticks"]["overload"]["count"] > 0


@pytest.mark.soak
def test_appliance_size_paced_in_real_time(tmp_path):
    # as an integrator runs a paced centre: [centre] realtime = true (SCHED_RR where the host permits it)
    report = soak.run(soak.SoakSettings(hours=0.1, spans=32, agents=500, faults=0, paced=True, realtime=True,
                                        blocksize=160, data_dir=str(tmp_path)), stream=None)
    print(f"\n32 spans, 500 agents, paced 20 ms ticks, tick thread {report['scheduling']}:", _figures(report))
    _check(report, 32)


def test_the_overload_fault_is_twice_the_centres_capacity_at_appliance_size():
    # a small centre carries less than a span: its burst is twice a span's B-channels on one span; at 32 spans
    # and 500 agents it is the normal arrivals once more (2x) for OVERLOAD_SECONDS, round every PRI span
    small = soak.SoakSettings(agents=12, calls_per_hour=528.0)
    assert soak.overload_callers(small) == 2 * soak.E1_BCHANNELS
    big = soak.SoakSettings(spans=32, agents=500, calls_per_hour=23952.0)
    assert soak.overload_callers(big) == round(23952.0 / 3600.0 * soak.OVERLOAD_SECONDS) > 2 * soak.E1_BCHANNELS


def _rate_refusals(settings, extra_rate=0.0, seconds=600.0, seed=1):
    """Return (refused, offered): Poisson callers at the soak's normal rate (plus extra_rate a second) put to
    the rate limit the soak gives the centre, each at the start of its 80 ms tick as the soak places them."""
    limits = soak.overload_limits(settings)
    adm = Admission(max_call_rate=limits["max_call_rate"], burst=limits["call_rate_burst"])
    rng, t, refused, offered = random.Random(seed), 0.0, 0, 0
    rate = settings.calls_per_hour / 3600.0 + extra_rate
    while True:
        t += rng.expovariate(rate)
        if t >= seconds:
            return refused, offered
        offered += 1
        refused += adm.verdict(0, math.ceil(t / 0.08) * 640) is not None


def test_the_rate_limit_lets_the_normal_load_through_and_refuses_part_of_the_overload_faults_burst():
    # at 6.7 calls a second, a burst of five against Poisson arrivals refused 1 call in 26 with no fault
    for settings in (soak.SoakSettings(agents=12, calls_per_hour=528.0),
                     soak.SoakSettings(spans=32, agents=500, calls_per_hour=23952.0)):
        refused, offered = _rate_refusals(settings)
        assert refused <= offered * 0.002, (settings.agents, refused, offered)
        fault_rate = soak.overload_callers(settings) / soak.OVERLOAD_SECONDS
        refused, _ = _rate_refusals(settings, extra_rate=fault_rate, seconds=soak.OVERLOAD_SECONDS)
        assert refused > 0, settings.agents
