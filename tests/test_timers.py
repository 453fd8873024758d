"""The one timer service the protocol machines share (pycallcenter.timers)."""
import random

from hypothesis import given, settings, strategies as st

from pycallcenter.timers import TimerService


def test_expired_in_deadline_order_and_arming_order_for_ties():
    t = TimerService()
    t.start(1, "T303", 4.0)
    t.start(2, "T310", 2.0)
    t.start(None, "relink", 4.0)
    t.start(3, "T305", 4.0)
    assert t.next_deadline() == 2.0
    assert list(t.expired(3.9)) == [(2, "T310")]
    assert list(t.expired(4.0)) == [(1, "T303"), (None, "relink"), (3, "T305")]
    assert t.next_deadline() is None and len(t) == 0


def test_cancel_and_rearm_are_honoured_lazily():
    t = TimerService()
    t.start("a", "T1", 1.0)
    t.start("a", "T5", 2.0)
    t.start("b", "T1", 3.0)
    assert t.cancel("a", "T1") and not t.cancel("a", "T1")
    t.start("b", "T1", 0.5)  # re-armed earlier: the old entry must not fire
    assert t.next_deadline() == 0.5
    assert t.running("b", "T1") and t.deadline("b", "T1") == 0.5
    assert list(t.expired(10)) == [("b", "T1"), ("a", "T5")]
    assert t.cancel_owner("a") == 0


def test_a_timer_cancelled_while_another_is_handled_does_not_fire():
    t = TimerService()
    t.start(1, "T309", 5.0)
    t.start(2, "T309", 5.0)
    fired = []
    for owner, name in t.expired(5.0):
        fired.append(owner)
        t.cancel_owner(2)  # e.g. ending call 1 clears call 2 as well
    assert fired == [1]


def test_owner_views_and_group_cancel():
    t = TimerService()
    t.start(7, "T7", 3.0)
    t.start(7, "T12", 1.0)
    t.start(None, "T2", 2.0)
    assert t.names(7) == ["T12", "T7"] and "T2" in t and "T7" not in t
    assert t.keys() == [(7, "T12"), (None, "T2"), (7, "T7")]
    assert t.cancel_names(7, ("T1", "T7")) == 1 and t.names(7) == ["T12"]
    assert not t.start_once(7, "T12", 9.0) and t.deadline(7, "T12") == 1.0
    assert t.start_once(7, "T5", 9.0)
    t.cancel_all()
    assert t.next_deadline() is None and len(t) == 0


def test_heap_stays_bounded_under_rearming():
    t = TimerService()
    for i in range(10000):
        t.start(None, "T203", float(i))  # an I frame restarts T203 on every frame
    assert len(t._heap) < 200 and t.next_deadline() == 9999.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["start", "cancel", "owner", "expire"]), st.integers(0, 3),
                          st.sampled_from(["T1", "T2", "T3"]), st.integers(0, 50)), max_size=80))
def test_matches_a_plain_dict_model(ops):
    t = TimerService()
    model = {}  # (owner, name) -> (when, arming number)
    n = 0
    for op, owner, name, when in ops:
        if op == "start":
            n += 1
            t.start(owner, name, float(when))
            model[(owner, name)] = (float(when), n)
        elif op == "cancel":
            assert t.cancel(owner, name) == (model.pop((owner, name), None) is not None)
        elif op == "owner":
            gone = [k for k in model if k[0] == owner]
            for k in gone:
                del model[k]
            assert t.cancel_owner(owner) == len(gone)
        else:
            due = sorted((v, k) for k, v in model.items() if v[0] <= when)
            assert list(t.expired(float(when))) == [k for _, k in due]
            for _, k in due:
                del model[k]
        best = min((v[0] for v in model.values()), default=None)
        assert t.next_deadline() == best


def test_random_churn_matches_model():
    rng = random.Random(3)
    t = TimerService()
    model = {}
    now = 0.0
    for _ in range(5000):
        key = (rng.randrange(20), rng.choice(["T303", "T310", "T305"]))
        if rng.random() < 0.6:
            when = now + rng.random() * 10
            t.start(*key, when)
            model[key] = when
        else:
            t.cancel(*key)
            model.pop(key, None)
        now += 0.01
        fired = list(t.expired(now))
        for k in fired:
            assert model.pop(k) <= now
        assert all(w > now for w in model.values())
    assert len(t) == len(model)
