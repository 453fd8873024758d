"""The ACD core: agent and caller commands, rules, bad input, and reports recomputed from the queue log."""
import pytest

from pycallcenter.acd import Acd, AcdError
from pycallcenter.acd.config import build_acd
from pycallcenter.acd.simulate import Simulator
from pycallcenter.acd.stats import day_report, format_queue_log, interval_report
from pycallcenter.errors import ConfigError


def _acd(agents=("a", "b"), **opts):
    acd = Acd()
    acd.add_queue("q", **opts)
    for n in agents:
        acd.add_agent(n, f"channel/{n}", queues={"q": 0})
        acd.login(n, 0)
    return acd


def _kinds(decisions):
    return [(d.kind, d.call, d.agent) for d in decisions]


def test_bad_input_gives_error_codes_and_leaves_no_stuck_state():
    acd = _acd(strategy="linear")
    cases = [
        (lambda: acd.login("nobody", 1), "unknown_agent"),
        (lambda: acd.enter("c0", "nope", 1), "unknown_queue"),
        (lambda: acd.login("a", 1), "already_logged_in"),
        (lambda: acd.answer("a", "c0", 1), "unknown_call"),
        (lambda: acd.add_queue("x", strategy="shortest"), "unknown_strategy"),
        (lambda: acd.add_agent("z", skills={"fr": 11}), "bad_skill_level"),
        (lambda: acd.end_wrapup("a", 1), "not_in_wrapup"),
        (lambda: acd.pause("b", 1, paused=False), "not_paused"),
    ]
    for fn, code in cases:
        with pytest.raises(AcdError) as e:
            fn()
        assert e.value.code == code
    assert _kinds(acd.enter("c1", "q", 2)) == [("offer", "c1", "a")]
    with pytest.raises(AcdError) as e:
        acd.enter("c1", "q", 2)
    assert e.value.code == "call_in_queue"
    with pytest.raises(AcdError) as e:
        acd.answer("b", "c1", 3)
    assert e.value.code == "not_ringing"
    acd.answer("a", "c1", 3)
    for fn, code in [(lambda: acd.transfer("a", "a", 4), "transfer_to_self"),
                     (lambda: acd.logout("a", 4), "agent_in_call"),
                     (lambda: acd.transfer("a", "queue:nope", 4), "unknown_queue"),
                     (lambda: acd.hold("b", 4), "not_in_call")]:
        with pytest.raises(AcdError) as e:
            fn()
        assert e.value.code == code
    acd.check_invariants()
    acd.hangup("c1", 10)
    assert acd.agents["a"].state == "ready" and not acd.calls


def test_pause_or_logout_while_ringing_withdraws_the_offer_to_the_next_agent():
    acd = _acd(("a", "b", "c"), strategy="linear")
    assert _kinds(acd.enter("c1", "q", 1)) == [("offer", "c1", "a")]
    assert _kinds(acd.pause("a", 2, reason="lunch")) == [("cancel", "c1", "a"), ("offer", "c1", "b")]
    assert acd.agents["a"].state == "paused" and acd.agents["a"].reason == "lunch"
    assert _kinds(acd.logout("b", 3)) == [("cancel", "c1", "b"), ("offer", "c1", "c")]
    acd.check_invariants()
    assert [e.event for e in acd.qlog if e.call == "c1"] == ["ENTER", "OFFER", "RINGCANCELED", "OFFER",
                                                            "RINGCANCELED", "OFFER"]


def test_ring_no_answer_rests_the_agent_then_auto_pause_after_n_misses():
    acd = _acd(("a", "b"), strategy="linear", ring_timeout=10, retry=3, auto_pause_after=2)
    acd.enter("c1", "q", 0)
    assert _kinds(acd.handle_timer(10)) == [("cancel", "c1", "a"), ("offer", "c1", "b")]  # a rests 3 s
    assert _kinds(acd.handle_timer(20)) == [("cancel", "c1", "b"), ("offer", "c1", "a")]
    d = acd.handle_timer(30)
    assert ("paused", "c1", "a") in _kinds(d) and acd.agents["a"].reason == "auto"
    assert acd.agents["a"].state == "paused"
    acd.check_invariants()


def test_timed_and_manual_wrapup_and_dnd():
    acd = _acd(("a",), wrapup=30)
    acd.enter("c1", "q", 0)
    acd.answer("a", "c1", 1)
    acd.hangup("c1", 61)
    assert acd.agents["a"].state == "wrapup"
    acd.enter("c2", "q", 62)
    assert acd.handle_timer(90.9) == []
    assert _kinds(acd.handle_timer(91)) == [("offer", "c2", "a")]
    acd.queues["q"].wrapup = None  # manual
    acd.answer("a", "c2", 92)
    acd.hangup("c2", 100)
    acd.handle_timer(1000)
    assert acd.agents["a"].state == "wrapup"
    acd.set_dnd("a", 1001)
    acd.end_wrapup("a", 1001)
    assert acd.agents["a"].state == "dnd"
    acd.enter("c3", "q", 1002)
    assert _kinds(acd.set_dnd("a", 1003, on=False)) == [("offer", "c3", "a")]


def test_join_and_leave_rules_max_wait_overflow_and_time_of_day():
    acd = Acd()
    acd.add_queue("sales", join_empty="ready", leave_empty=True, max_wait=60, overflow="queue:support")
    acd.add_queue("support", join_empty="always", hours=(8 * 3600, 18 * 3600), closed_target="voicemail")
    acd.add_agent("a", queues={"sales": 0})
    assert _kinds(acd.enter("c1", "sales", 0)) == [("leave", "c1", None)]  # nobody logged in
    acd.login("a", 0, ready=False)
    (d,) = acd.enter("c1", "sales", 1)
    assert d.data["reason"] == "all_paused"
    # support is closed at night: straight to voicemail
    (d,) = acd.enter("c2", "support", 3 * 3600)
    assert (d.kind, d.data["target"], d.data["reason"]) == ("overflow", "voicemail", "closed")
    acd.pause("a", 9 * 3600, paused=False)
    acd.enter("c3", "sales", 9 * 3600)
    acd.answer("a", "c3", 9 * 3600 + 1)
    acd.enter("c4", "sales", 9 * 3600 + 2)
    (d,) = acd.handle_timer(9 * 3600 + 62)
    assert (d.kind, d.data["target"]) == ("overflow", "queue:support")
    assert acd.calls["c4"].queue == "support"
    assert [e.event for e in acd.qlog if e.call == "c4"] == ["ENTER", "EXITWITHTIMEOUT", "ENTER"]
    # the last ready agent pauses: callers waiting in sales leave
    acd.hangup("c3", 9 * 3600 + 70)
    acd.enter("c5", "sales", 9 * 3600 + 71)
    acd.answer("a", "c5", 9 * 3600 + 72)
    acd.enter("c6", "sales", 9 * 3600 + 73)
    acd.pause("a", 9 * 3600 + 74, reason="break")
    assert "c6" not in acd.calls and any(e.event == "EXITEMPTY" for e in acd.qlog)


def test_priority_position_expected_wait_announcements_and_callback_keep_place():
    acd = _acd(("a", "b"), strategy="priority", announce_every=30, aht_guess=120)
    acd.enter("busy1", "q", 0)
    acd.enter("busy2", "q", 0)
    acd.answer("a", "busy1", 0)
    acd.answer("b", "busy2", 0)
    for i, prio in enumerate([0, 0, 5, 0]):
        acd.enter(f"w{i}", "q", 1 + i, priority=prio)
    assert [acd.position(f"w{i}") for i in range(4)] == [2, 3, 1, 4]
    # two agents, both talking: place 3 waits 3 x 120 / 2 s
    assert acd.expected_wait("w1") == 180.0
    ann = [d for d in acd.handle_timer(31) if d.kind == "announce"]
    assert [(d.call, d.data["position"]) for d in ann] == [("w0", 2)]
    acd.request_callback("w1", "2025550123", 40)
    acd.hangup("busy1", 50)
    acd.hangup("busy2", 51)
    assert [d.call for d in acd.handle_timer(52) if d.kind == "offer"] == []  # already offered at hang-up
    offered = [e.call for e in acd.qlog if e.event == "OFFER"][-2:]
    assert offered == ["w2", "w0"]
    acd.answer("a", "w2", 53)
    acd.answer("b", "w0", 53)
    acd.hangup("w2", 60)
    d = [d for d in acd.handle_timer(61) if d.kind == "offer"]
    assert d == [] and acd.calls["w1"].state == "offered"  # the callback, in its place
    (o,) = [e for e in acd.qlog if e.event == "OFFER" and e.call == "w1"]
    assert o.agent == "a"


def test_transfer_hold_pickup_carry_data_and_count_in_reports():
    acd = _acd(("a", "b", "c"), strategy="linear")
    acd.add_queue("billing", strategy="linear")
    acd.add_member("billing", "c")
    acd.enter("c1", "q", 0, data={"account": "42"})
    acd.answer("a", "c1", 1)
    acd.hold("a", 5)
    with pytest.raises(AcdError):
        acd.hold("a", 6)
    acd.hold("a", 15, on=False)
    d = acd.transfer("a", "b", 20)
    assert _kinds(d) == [("offer", "c1", "b")] and d[0].data["data"] == {"account": "42"}
    d = acd.pickup("c", "c1", 22)  # c picks up the call ringing b's phone
    assert ("cancel", "c1", "b") in _kinds(d) and ("connect", "c1", "c") in _kinds(d)
    acd.transfer("c", "queue:billing", 30)
    assert acd.calls["c1"].queue == "billing" and acd.calls["c1"].data == {"account": "42"}
    acd.check_invariants()
    r = day_report(acd.qlog, 0, 100, queue="q")
    assert r["transfers"] == 2 and r["offered"] == 2 and r["answered"] == 2
    first = [e for e in acd.qlog if e.event == "TRANSFER"][0]
    assert first.data["hold"] == 10 and first.data["talk"] == 9


def _day(seed=3, hours=4):
    acd = Acd(seed)
    acd.add_queue("q", wrapup=10, sl_seconds=20, short_abandon=5)
    for i in range(6):
        acd.add_agent(f"a{i}", queues={"q": 0})
        acd.login(f"a{i}", 0)
    sim = Simulator(acd, seed)
    sim.poisson("q", 5.4 / 120, 110, hours * 3600, patience=60)
    sim.run(hours * 3600 + 2000)
    return acd, hours * 3600 + 2000


def test_reports_recomputed_from_the_queue_log_match_the_live_counters():
    acd, end = _day()
    live = acd.queues["q"].today
    r = day_report(acd.qlog, 0, end, sl_seconds=20, short_abandon=5)
    assert r["offered"] == live["offered"] > 400
    assert (r["answered"], r["abandoned"], r["short_abandoned"]) == (live["answered"], live["abandoned"],
                                                                     live["short_abandoned"])
    assert r["answered_in_sl"] == live["answered_in_sl"]
    assert r["asa"] == pytest.approx(live["wait"] / live["answered"], abs=1e-3)
    assert r["avg_abandon_delay"] == pytest.approx(live["abandon_delay"] / live["abandoned"], abs=1e-3)
    aht = (live["talk"] + live["hold"] + live["acw"]) / live["answered"]
    assert r["aht"] == pytest.approx(aht, rel=1e-3)
    assert 0.3 < r["occupancy"] <= r["utilisation"] * 1.0001 + 1 and 0 < r["utilisation"] <= 1
    # 15-minute intervals add up to the day
    parts = interval_report(acd.qlog, 0, end, 900)
    for k in ("offered", "answered", "abandoned", "answered_in_sl", "short_abandoned"):
        assert sum(p[k] for p in parts) == r[k]
    assert sum(p["agent_hours"] for p in parts) == pytest.approx(r["agent_hours"])
    assert r["agent_hours"] == pytest.approx(6 * end / 3600)
    # service level treatments
    excl = day_report(acd.qlog, 0, end, sl_treatment="exclude_short")["service_level"]
    ans = day_report(acd.qlog, 0, end, sl_treatment="answered")["service_level"]
    assert r["service_level"] < excl < ans
    assert format_queue_log(acd.qlog[:1]).startswith("0.000|-|-|a0|LOGIN|")


def test_realtime_view_and_fcr_flag():
    acd = _acd(("a",))
    acd.enter("c1", "q", 0)
    acd.enter("c2", "q", 1)
    acd.answer("a", "c1", 2)
    acd.set_flag("c1", "fcr", True, 3)
    rt = acd.realtime("q", 11)
    assert (rt["waiting"], rt["longest_wait"], rt["agents"]) == (1, 10, {"talking": 1})
    ar = acd.agent_realtime("a", 11)
    assert (ar["state"], ar["call"], ar["calls"], ar["in_state"]) == ("talking", "c1", 1, 9)
    acd.hangup("c1", 20)
    acd.hangup("c2", 21)
    r = day_report(acd.qlog, 0, 30)
    assert (r["fcr"], r["answered"], r["abandoned"]) == (1.0, 1, 1)


def test_config_builds_queues_and_agents_and_rejects_unknown_keys():
    acd = build_acd({"queue": [{"name": "s", "strategy": "skills", "wrapup": "manual", "hours": "08:00-18:00"}],
                     "agent": [{"name": "x", "contact": "channel/3", "skills": {"fr": 5}, "queues": {"s": 1}}]})
    q = acd.queues["s"]
    assert (q.wrapup, q.hours, q.members) == (None, (28800, 64800), {"x": 1})
    assert acd.agents["x"].state == "ready"
    with pytest.raises(ConfigError):
        build_acd({"queue": [{"name": "s", "colour": "red"}]})
    with pytest.raises(ConfigError):
        build_acd({"queue": [{"name": "s", "strategy": "best"}]})
