"""Waiting ops that are not polled every tick: deadlines through the scheduler's timer heap, leg events and a
task's end through signals, trailing silence through one batched media tap. Each wakes its op in the tick
the old every-tick poll would have seen the change, so a run is the same, line for line."""
import numpy as np
import pytest

from engine_rig import analog_engine, hang_up
from pycallcenter import ivr as I
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine.scheduler import Op, Scheduler
from pycallcenter.engine.waits import SilenceWatch, row_rms


class Deadline(Op):
    """Over at board time ``until``; counts its polls."""

    polled = False

    def __init__(self, until, key=None):
        self.until, self.key, self.polls = until, key, []

    def start(self, now):
        self.wake_at(self.until)
        if self.key is not None:
            self.wake_on(self.key)

    def poll(self, now):
        self.polls.append(now)
        if now >= self.until:
            self.finish(now)


def _waiter(op, out):
    async def coro():
        out.append(await op)
    return coro()


def test_a_deadline_wakes_its_op_at_the_first_poll_at_or_after_it_and_not_before():
    s, out = Scheduler(), []
    op = Deadline(35)
    s.spawn(_waiter(op, out), "t", 0)
    for now in range(10, 60, 10):
        s.poll(now)
    assert op.polls == [0, 40] and out == [40]


def test_a_deadline_of_an_op_that_ended_early_wakes_nothing():
    s, out = Scheduler(), []
    first = Deadline(100)
    later = Deadline(10 ** 6)

    async def coro():
        first.finish("early")
        out.append(await first)
        out.append(await later)

    s.spawn(coro(), "t", 0)
    s.poll(100)  # the first op's deadline comes due while the task waits on the second
    assert later.polls == [0] and out == ["early"]
    assert [t[0] for t in s._timers] == [10 ** 6]


def test_a_signal_wakes_the_ops_watching_its_key_while_they_wait_on_it():
    s, out = Scheduler(), []
    op = Deadline(10 ** 6, key=("leg", "L1"))
    task = s.spawn(_waiter(op, out), "t", 0)
    s.poll(1)
    s.signal(("leg", "L2"))
    s.poll(2)
    assert op.polls == [0]
    s.signal(("leg", "L1"))
    s.poll(3)
    assert op.polls == [0, 3]
    s.kill(task)
    assert not s._watchers  # the task's keys went with its op


def test_a_task_ending_wakes_the_ops_waiting_for_it():
    s, out = Scheduler(), []
    gate = Deadline(10 ** 6)
    target = s.spawn(_waiter(gate, out), "target", 0)
    watcher = Deadline(10 ** 6, key=target.ended_key)
    s.spawn(_waiter(watcher, out), "watcher", 0)
    s.poll(1)
    assert watcher.polls == [0]
    gate.finish("over")
    s.poll(2)  # the target resumes and ends in this poll; the watcher comes later in task order: same poll
    assert out == ["over"] and watcher.polls == [0, 2]


def test_the_silence_watch_measures_every_row_as_the_per_row_test_does():
    rng = np.random.default_rng(5)
    for _ in range(50):
        rx = (rng.standard_normal((12, 640)) * rng.choice([0, 30, 300, 3000, 32767])).clip(-32768, 32767)
        rx = rx.astype(np.int16)
        rows = rng.choice(12, size=6, replace=False)
        levels = rng.uniform(0, 600, 6)

        class _Media:
            taps = []

        class _Engine:
            media, now = _Media(), 1000

        watch = SilenceWatch(_Engine())
        quiet = [watch.watch(Op(), int(r), lv, 0, 0) for r, lv in zip(rows, levels)]
        watch.tap(rx)
        for q, r, lv in zip(quiet, rows, levels):
            assert (q.since == 1000) == (row_rms(rx, r) > lv)


def _voice(seconds, seed=1):
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    return (rng.standard_normal(n) * 3000 * (1 + np.sin(np.arange(n) / 200))).astype(np.int16)


def _run_script(folder, polled_every_tick, monkeypatch):
    """Run one call through every event-driven verb; return (what the script saw, the event log, polls)."""
    polls = []
    for cls in (I._Answer, I._Play, I._Collect, I._Record, I._Wait, I._Dial):
        if polled_every_tick:
            monkeypatch.setattr(cls, "polled", True)
        real = cls.poll

        def counting(self, now, real=real):
            polls.append((type(self).__name__, now))
            return real(self, now)
        monkeypatch.setattr(cls, "poll", counting)
    eng, ends = analog_engine()
    seen = []

    async def script(call):
        await call.answer()
        await call.play(_voice(0.3, seed=3))
        seen.append(("played", call.now))
        seen.append(("collect", tuple(await call.collect(max_digits=4, inter_timeout=1.0)), call.now))
        seen.append(("silence", tuple(await call.collect(max_digits=9, first_timeout=None, silence_timeout=1.5)),
                     call.now))
        await call.wait(0.7)
        seen.append(("waited", call.now))
        r = await call.record(str(folder / "msg.wav"), max_seconds=30, silence_stop=2.0,
                              beep=False)
        seen.append(("record", r.reason, round(r.seconds, 3), call.now))
        d = await call.dial("channel/2", timeout=2.0)
        seen.append(("dial", d.outcome, call.now))
        r = await call.record(str(folder / "end.wav"), max_seconds=1.0, silence_stop=None,
                              beep=False)
        seen.append(("record", r.reason, call.now))
        await call.play(_voice(20.0, seed=4))  # stopped from outside (media.stop) before its end
        seen.append(("stopped", call.now))

    eng.router = lambda leg: script
    alice = ends["alice"]
    alice.off_hook()
    eng.run(seconds=0.5)
    alice.dial("12")
    eng.run(seconds=3.0)
    alice.write_audio(_voice(1.0, seed=2))  # loud for a second: the silence counts from its end
    eng.run(seconds=4.0)
    alice.write_audio(_voice(2.0))
    eng.run(seconds=12.0)
    (leg,) = eng.legs.values()
    eng.media.stop(leg.row)
    eng.run(seconds=0.5)
    hang_up(eng, alice)
    return seen, eng.log_lines, polls


def test_event_driven_verbs_run_exactly_as_when_polled_every_tick(tmp_path, monkeypatch):
    with monkeypatch.context() as m:
        old = _run_script(tmp_path, True, m)
    new = _run_script(tmp_path, False, monkeypatch)  # the same file names: the same log lines
    assert [s[0] for s in new[0]] == ["played", "collect", "silence", "waited", "record", "dial", "record", "stopped"]
    assert new[0][1][1] == ("12", "inter_digit_timeout") and new[0][2][1] == ("", "silence")
    assert new[0][4][1] == "silence" and new[0][5][1] == "no_answer" and new[0][6][1] == "max_time"
    assert new[0] == old[0]
    assert new[1] == old[1]  # the event log, line for line
    assert len(new[2]) * 20 < len(old[2])  # and a small fraction of the polls


def test_fax_watch_is_woken_by_its_calls_end_not_polled_each_tick(monkeypatch):
    pytest.importorskip("pycallcenter.fax._spandsp", reason="the spandsp binding is not built (libspandsp-dev)")
    from pycallcenter.fax import switch

    polls = []
    real = switch._Heard.poll
    monkeypatch.setattr(switch._Heard, "poll", lambda self, now: (polls.append(now), real(self, now)))
    eng, ends = analog_engine()
    done = []

    async def menu(call):
        await call.answer()
        await call.wait(5.0)
        done.append(call.now)

    eng.router = lambda leg: switch.fax_aware(menu, inbox=object())
    ends["alice"].off_hook()
    eng.run(seconds=6.0)
    # at its start, and at most once more when the menu ended (the call's end may throw into it first)
    assert done and 1 <= len(polls) <= 2 and polls[0] == 320
    assert not eng.scheduler.tasks
    hang_up(eng, ends["alice"])
