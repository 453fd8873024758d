"""The scheduler's ops that are polled only when woken (a bridge waiting for a leg to end), beside the
ones polled every tick: same order, same tick, as when every op was polled every tick."""
from engine_rig import analog_engine
from pycallcenter.engine import bridge as B
from pycallcenter.engine.scheduler import Op, Scheduler


class Counted(Op):
    """Over once ``ready`` is set; counts its polls."""

    def __init__(self, log, name, polled=True):
        self.log, self.name, self.polled, self.ready, self.polls = log, name, polled, False, 0

    def poll(self, now):
        self.polls += 1
        self.log.append(self.name)
        if self.ready:
            self.finish(self.name)


def _waiter(op, out):
    async def coro():
        out.append(await op)
    return coro()


def test_an_op_that_is_not_polled_each_tick_is_polled_only_when_woken():
    s, log, out = Scheduler(), [], []
    op = Counted(log, "quiet", polled=False)
    task = s.spawn(_waiter(op, out), "t", 0)
    for now in range(1, 6):
        s.poll(now)
    assert op.polls == 1  # the poll right after start, none since
    s.wake(task)
    s.poll(6)
    assert op.polls == 2 and out == []
    op.ready = True
    s.poll(7)
    assert op.polls == 2 and out == []  # ready, but nobody woke it
    s.wake(task)
    s.poll(8)
    assert out == ["quiet"] and not s.tasks


def test_an_op_finished_from_outside_resumes_its_task_at_the_next_poll():
    s, out = Scheduler(), []
    op = Counted([], "quiet", polled=False)
    s.spawn(_waiter(op, out), "t", 0)
    op.finish("done")
    assert out == []
    s.poll(1)
    assert out == ["done"]


def test_woken_and_polled_ops_run_in_task_order_and_a_wake_during_a_poll_counts_for_later_tasks():
    s, log, out = Scheduler(), [], []
    first = Counted(log, "first")
    quiet = Counted(log, "quiet", polled=False)
    last = Counted(log, "last")
    s.spawn(_waiter(first, out), "a", 0)
    quiet_task = s.spawn(_waiter(quiet, out), "b", 0)
    s.spawn(_waiter(last, out), "c", 0)
    log.clear()
    s.wake(quiet_task)
    s.poll(1)
    assert log == ["first", "quiet", "last"]
    log.clear()

    def wake_it(now):  # the first task's poll wakes the quiet one: polled in this same poll, in its place
        Counted.poll(first, now)
        s.wake(quiet_task)
    first.poll = wake_it
    s.poll(2)
    assert log == ["first", "quiet", "last"]


def test_a_polled_op_put_in_place_of_a_quiet_one_is_polled_every_tick():
    s, log, out = Scheduler(), [], []
    task = s.spawn(_waiter(Counted(log, "quiet", polled=False), out), "t", 0)
    stand_in = Counted(log, "stand-in")
    task.op = stand_in  # as the station features do when they take a script's bridge over
    s.poll(1)
    s.poll(2)
    assert stand_in.polls == 2


def test_a_bridge_is_not_polled_while_its_legs_talk_and_ends_in_the_tick_a_leg_ends(monkeypatch):
    polls, ended = [], []
    real = B.Bridged.poll

    def counting(self, now):
        polls.append(now)
        return real(self, now)
    monkeypatch.setattr(B.Bridged, "poll", counting)
    eng, ends = analog_engine()

    async def script(call):
        d = await call.dial("channel/2", timeout=20)
        if d.outcome == "answered":
            await call.bridge(d.leg)
            ended.append(eng.now)

    eng.router = lambda leg: script
    ends["alice"].off_hook()
    eng.run(seconds=1.0)
    ends["bob"].off_hook()
    eng.run(seconds=0.5)
    assert len(polls) == 1  # when it started
    eng.run(seconds=2.0)
    assert len(polls) == 1
    bob = next(l for l in eng.legs.values() if l.channel == 2)
    ends["bob"].on_hook()
    eng.run(seconds=2.0)
    assert not bob.active and len(polls) == 2
    assert ended == [bob.ended_at]  # the script went on in the tick Bob's leg ended
