"""The progressive dialler: never more lines than free agents, retries on the schedule until answered
or exhausted, callbacks before campaign numbers, every attempt recorded."""
import pytest

from pycallcenter.acd.dialler import Dialler


def test_dials_again_and_again_until_it_connects_then_stops():
    d = Dialler(retry_after=(60, 300), max_attempts=5)
    d.add("5551000")
    outcomes = iter(["busy", "no_answer", "congestion", "answered"])
    now, times = 0.0, []
    while d.next_deadline() is not None:
        now = max(now, d.next_deadline())
        (t,) = d.due(now, free_agents=1)
        times.append(now)
        d.result(t.number, next(outcomes), now + 20)
    assert times == [0, 80, 400, 720]  # 60 s after the first failure, then 300 s each time
    assert d.targets["5551000"].status == "connected" and d.targets["5551000"].attempts == 4
    assert [a[3] for a in d.attempts] == ["busy", "no_answer", "congestion", "answered"]


def test_exhausted_after_max_attempts_and_machines_are_recorded():
    d = Dialler(retry_after=(10,), max_attempts=2, machine="done")
    d.add("1")
    d.add("2")
    for t in d.due(0, 5):
        d.result(t.number, "no_answer" if t.number == "1" else "answered", 30, machine=t.number == "2")
    (t,) = d.due(40, 5)
    d.result(t.number, "busy", 45)
    assert d.summary() == {"exhausted": 1, "machine": 1}
    assert d.attempts[1] == (30, "2", 1, "answered", True)


def test_progressive_never_dials_more_than_free_agents_and_callbacks_go_first():
    d = Dialler()
    for n in range(5):
        d.add(f"c{n}", now=0)
    d.add("cb", now=0, kind="callback")
    first = d.due(1, free_agents=2)
    assert [t.number for t in first] == ["cb", "c0"]
    assert d.due(1, free_agents=2) == []  # both agents' worth of lines are out
    d.result("cb", "answered", 5)
    assert [t.number for t in d.due(6, free_agents=2)] == ["c1"]
    with pytest.raises(ValueError):
        d.result("c4", "busy", 7)
    with pytest.raises(ValueError):
        d.add("c2")


def test_dialler_on_the_engine_retries_a_busy_pri_number_until_answered():
    from engine_rig import pri_engine

    from pycallcenter.acd import Acd
    from pycallcenter.acd.engine_binding import AcdBinding
    from pycallcenter.isdn import call as q

    eng, net = pri_engine()
    binding = AcdBinding(eng, Acd())
    d = Dialler(retry_after=(2.0,), max_attempts=3)
    d.add("5551234", now=1.0)
    binding.add_dialler(d, "pri1", lines=1, amd=False)  # the far end answers in silence: no detection here
    answers = iter(["busy", "busy", "answer"])
    seen = 0
    for _ in range(12 * 50):
        eng.tick()
        s = eng.now / 8000
        for ev in net.events[seen:]:
            if isinstance(ev, q.IncomingCall):
                how = next(answers)
                net.events += net.iface.hangup(ev.call, s, 17) if how == "busy" else net.iface.answer(ev.call, s)
        seen = len(net.events)
    assert [a[3] for a in d.attempts] == ["busy", "busy", "answered"]
    assert d.targets["5551234"].status == "connected"
    assert d.attempts[1][0] - d.attempts[0][0] >= 2.0  # waited the retry delay
    assert not eng.calls  # the answered call was hung up (no queue given)


def test_counts_by_status_follow_every_move():
    import random
    from collections import Counter

    rng = random.Random(5)
    d = Dialler(retry_after=(5,), max_attempts=3)
    for n in range(40):
        d.add(str(n), now=rng.uniform(0, 20))
    d.add("done-before", status="connected", attempts=1)  # restored from an earlier run
    now = 0.0
    while d.remaining():
        now += 1.0
        for t in d.due(now, free_agents=rng.randint(0, 4)):
            d.result(t.number, rng.choice(["answered", "busy", "no_answer", "sit"]), now,
                     machine=rng.random() < 0.2)
        assert d.summary() == dict(Counter(t.status for t in d.targets.values()))
        assert d.remaining() == sum(t.status in ("pending", "dialling") for t in d.targets.values())
    assert d.summary()["connected"] >= 1
