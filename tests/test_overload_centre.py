"""Overload control in the centre built from its configuration: max_calls refuses with cause 34 and the
refused call still gets its one CDR; the load guard reads the centre's tick timing in paced runs and
refuses with cause 42 until the ticks are cheap again; the status shows the counts."""
from test_centre import build, call_in, cdrs, finish, prompts, run  # noqa: F401  (fixtures)

from pycallcenter.commands.status import format_status
from pycallcenter.metrics import TickStats


class _SlowTicks(TickStats):
    """Tick timing that reports each tick as taking `share` of its board time (the tick itself runs)."""

    share = 0.0

    def timed_tick(self, engine):
        engine.tick()
        self.record(self.share * self.budget)


def test_a_call_beyond_max_calls_is_refused_with_34_and_gets_its_one_cdr(tmp_path, finish):
    centre, sim = build(tmp_path, "", centre="max_calls = 1\noverload_guard = 0")
    finish(sim)
    first = call_in(sim, talk=5.0, patience=20.0)
    second = call_in(sim, at=3.0)
    run(sim, 8)
    assert second.cause == 34 and second.answered is None
    assert first.answered is not None and first.ended is None  # the call already up is not touched
    run(sim, 30)
    rows = {r["caller"]: r for r in cdrs(centre)}
    assert rows[second.number]["disposition"] == "FAILED" and rows[second.number]["cause"] == 34
    assert len(rows) == 2
    snap = centre.publish()
    assert snap["admission"]["refused"]["capacity"] == 1 and snap["admission"]["refused_total"] == 1
    assert "overload control: 1 call(s) admitted, 1 refused (capacity 1, load 0, rate 0)" in format_status(snap)


def test_the_load_guard_refuses_with_42_while_paced_ticks_are_expensive(tmp_path, finish):
    centre, sim = build(tmp_path, "", centre="overload_guard = 0.8\noverload_release = 0.5\noverload_window = 1")
    finish(sim)
    slow = _SlowTicks(centre.tick_seconds)
    centre.ticks = slow
    slow.share = 0.9  # every tick would take 90% of its board time
    run(sim, 2)
    assert not centre.engine.admission.guard.engaged  # not paced: a simulation has no deadline to miss
    centre.realtime = True
    run(sim, 2)
    assert centre.engine.admission.guard.engaged
    refused = call_in(sim, at=0.5)
    run(sim, 4)
    assert refused.cause == 42 and refused.answered is None
    slow.share = 0.6  # under the guard's 0.8 but above its release: still refusing (hysteresis)
    run(sim, 2)
    assert centre.engine.admission.guard.engaged
    slow.share = 0.1
    run(sim, 2)
    assert not centre.engine.admission.guard.engaged
    taken = call_in(sim, at=0.5, talk=2.0, patience=5.0)
    run(sim, 6)
    assert taken.answered is not None
    assert centre.engine.admission.status()["refused"] == {"capacity": 0, "rate": 0, "load": 1}
    lines = [line for line in centre.engine.log_lines if line.split(" ", 2)[1] == "overload"]
    assert len(lines) == 1 and "reason=load" in lines[0] and "cause=42" in lines[0]
