"""Deterministic coroutine scheduling on the board clock.

IVR scripts are ``async def`` coroutines, but they do not run on asyncio: every ``await`` on an engine
verb yields an :class:`Op` to the engine, which resumes the coroutine at a fixed point of a later tick
when the op completes. Same inputs, same ticks, same order: the same run, byte for byte.
"""
import bisect
import heapq
from typing import Any, Callable, Optional

from pycallcenter.causes import Cause


class CallHangup(Exception):
    """Raised inside a script when its call's leg hangs up while the script waits on it."""

    def __init__(self, cause=Cause.NORMAL_CALL_CLEARING):
        self.cause = cause
        super().__init__(f"the caller hung up (cause {cause})")


class Op:
    """Something a task waits for. The engine calls ``poll(now)`` each tick until it returns done.

    An op with ``polled = False`` is polled only when woken (``Scheduler.wake``, or its own finish/fail):
    for ops that change only on an event, such as a bridge that waits for a leg to end, so that a thousand
    of them cost nothing on the ticks where nothing happens. Such an op says in ``start`` what wakes it:
    ``wake_at(when)`` for a deadline (the scheduler's timer heap) and ``wake_on(key)`` for an event that
    whoever causes it signals (``Scheduler.signal``: a leg's events, a task's end, a detector's result).
    It must be woken by everything that can change what its ``poll`` decides; a wake too many costs one
    poll, never a different result."""

    task: Optional["Task"] = None
    done = False
    polled = True
    result: Any = None
    error: Optional[BaseException] = None

    def __await__(self):
        return (yield self)

    def start(self, now):
        """Called once when the task starts waiting on this op."""

    def poll(self, now):
        """Check for completion; call ``self.finish(result)`` or ``self.fail(exc)`` when over."""

    def cancel(self):
        """Called when the op is abandoned (the task ends or is failed from outside)."""

    def wake_at(self, when):
        """Have this op polled at the first poll at or after board time ``when``; returns None."""
        task = self.task
        if task is not None and task.scheduler is not None:
            task.scheduler.wake_at(task, when)

    def wake_on(self, key):
        """Have this op polled whenever ``key`` is signalled while its task waits on it; returns None."""
        task = self.task
        if task is not None and task.scheduler is not None:
            task.scheduler.watch(task, key)

    def finish(self, result=None):
        """Complete the op with a result."""
        if not self.done:
            self.done, self.result = True, result
            self._wake()

    def fail(self, error):
        """Complete the op by raising error inside the waiting task."""
        if not self.done:
            self.done, self.error = True, error
            self._wake()

    def _wake(self):
        # an op that is not polled each tick is still resumed at the next poll once it completes
        task = self.task
        if not self.polled and task is not None and task.scheduler is not None and task.op is self \
                and task.scheduler.running is not task:  # a running task sees it done at once
            task.scheduler.wake(task)


class Immediate(Op):
    """An op that is over as soon as it starts (for verbs that act at once)."""

    def __init__(self, result=None):
        self.finish(result)


class Task:
    """One running coroutine (a script on a call), with the op it waits on."""

    def __init__(self, task_id, coro, name, on_error: Optional[Callable] = None, on_done: Optional[Callable] = None):
        self.id = task_id
        self.coro = coro
        self.name = name
        self.scheduler = None
        self._op: Optional[Op] = None
        self.finished = False
        self.on_error = on_error
        self.on_done = on_done
        self.result = None
        self.scheduler: Optional["Scheduler"] = None  # set by the scheduler that runs it
        self.leg = None  # the leg of the op it waits on, if that op has one (kept by the scheduler's index)
        self.keys = None  # the keys its current op is woken by (Scheduler.watch), dropped when the op changes

    @property
    def op(self) -> Optional[Op]:
        """Return the op the task waits on (None while it runs or once it is over)."""
        return self._op

    @op.setter
    def op(self, op):
        # whoever sets it (the scheduler, or a feature standing in for a script's op) keeps the polled set right
        self._op = op
        if self.scheduler is not None:
            self.scheduler._waiting_changed(self)

    @property
    def ended_key(self):
        """Return the key the scheduler signals when this task ends (for ``Op.wake_on``)."""
        return ("ended", self.id)

    def __repr__(self):
        return f"<Task {self.id} {self.name}{' done' if self.finished else ''}>"


class Scheduler:
    """Runs tasks: steps each one until it waits on an op that is not done yet."""

    def __init__(self):
        self.tasks: dict[int, Task] = {}
        self._next_id = 1  # per scheduler, so two runs in one process number tasks alike
        self.running: Optional[Task] = None  # the task whose coroutine is executing right now
        self._polled: set = set()  # ids of the tasks whose op is polled every tick
        # id(leg) -> {task id: None} of the tasks whose op has that ``leg`` (a verb on one of a call's legs), so
        # a leg's end finds the scripts waiting on it without looking at every task
        self._on_leg: dict = {}
        self._woken: set = set()  # ids of the tasks whose not-polled op is to be polled at the next poll
        # (when, sequence, task id, op): deadlines of ops that are not polled each tick; an entry whose task
        # waits on another op by then is dropped when it comes due (an early finish costs no search)
        self._timers: list = []
        self._timer_seq = 0
        self._watchers: dict = {}  # key -> {task id: None} of the tasks whose current op a signal of key wakes
        # while a poll runs: the ids to poll (sorted; those before _pos are done), those queued this poll, the
        # id being polled and the last id that existed when the poll began (tasks spawned during a poll wait
        # for the next one)
        self._due: Optional[list] = None
        self._pos = 0
        self._queued: set = set()
        self._cursor = 0
        self._last = 0

    def spawn(self, coro, name, now, on_error=None, on_done=None) -> Task:
        """Start a coroutine now; return its Task."""
        task = Task(self._next_id, coro, name, on_error, on_done)
        task.scheduler = self
        self._next_id += 1
        self.tasks[task.id] = task
        self._advance(task, now, None, None)
        return task

    def wake(self, task):
        """Have a task's op polled at the next poll (this one, if it has not reached the task yet); returns None."""
        if task.finished or (self._due is not None and task.id == self._cursor):
            return  # over, or being polled right now (its poll looks at done next)
        if not self._enqueue(task.id):
            self._woken.add(task.id)

    def wake_at(self, task, when):
        """Wake a task at the first poll at or after board time ``when``, if it still waits on its current
        op then; returns None."""
        self._timer_seq += 1
        heapq.heappush(self._timers, (when, self._timer_seq, task.id, task.op))

    def watch(self, task, key):
        """Wake a task whenever ``key`` is signalled, for as long as it waits on its current op; returns None."""
        self._watchers.setdefault(key, {})[task.id] = None
        if task.keys is None:
            task.keys = [key]
        else:
            task.keys.append(key)

    def signal(self, key):
        """Wake the tasks watching ``key`` (something they wait for may have changed); returns None."""
        ids = self._watchers.get(key)
        if ids:
            tasks = self.tasks
            for task_id in list(ids):
                task = tasks.get(task_id)
                if task is not None:
                    self.wake(task)

    def waiting_on(self, leg):
        """Yield, in task order, the tasks whose op has ``leg`` as its leg at the moment each is reached (as a
        walk over every task that existed at the start would find them)."""
        last, done = self._next_id - 1, 0
        while True:
            ids = self._on_leg.get(id(leg))
            nxt = min((i for i in ids if done < i <= last), default=None) if ids else None
            if nxt is None:
                return
            done = nxt
            task = self.tasks.get(nxt)
            if task is not None:
                yield task

    def _waiting_changed(self, task):
        op = task.op
        if task.keys is not None:  # the old op's wake-ups go with it
            watchers = self._watchers
            for key in task.keys:
                ids = watchers.get(key)
                if ids is not None:
                    ids.pop(task.id, None)
                    if not ids:
                        del watchers[key]
            task.keys = None
        leg = getattr(op, "leg", None) if op is not None and not task.finished else None
        if leg is not task.leg:
            if task.leg is not None:
                ids = self._on_leg.get(id(task.leg))
                if ids is not None:
                    ids.pop(task.id, None)
                    if not ids:
                        del self._on_leg[id(task.leg)]
            if leg is not None:
                self._on_leg.setdefault(id(leg), {})[task.id] = None
            task.leg = leg
        if op is None or task.finished or not op.polled:
            self._polled.discard(task.id)
        else:
            self._polled.add(task.id)
            self._enqueue(task.id)

    def _enqueue(self, task_id):
        """Queue a task into the poll that is running when task order has not passed it; return True if queued."""
        if self._due is None or not self._cursor < task_id <= self._last:
            return False
        if task_id not in self._queued:  # after the cursor: into the part still to poll, in task order
            self._queued.add(task_id)
            bisect.insort(self._due, task_id, lo=self._pos)
        return True

    def poll(self, now):
        """Poll every waiting op in task order (ops that are not polled each tick only when woken) and resume the
        tasks whose op completed."""
        timers = self._timers
        if timers and timers[0][0] <= now:
            tasks, woken = self.tasks, self._woken
            while timers and timers[0][0] <= now:
                task_id, op = heapq.heappop(timers)[2:]
                task = tasks.get(task_id)
                if task is not None and task.op is op:
                    woken.add(task_id)
        due = self._polled | self._woken if self._woken else set(self._polled)
        self._woken = set()
        if not due:
            return
        self._due, self._queued, self._cursor, self._last = sorted(due), due, 0, self._next_id - 1
        self._pos = 0
        tasks = self.tasks
        try:
            # a walk along a sorted list (a wake during the poll inserts after the cursor), not a heap: most
            # polls queue nothing, and a pop per task cost more than the checks it orders
            while self._pos < len(self._due):
                self._cursor = task_id = self._due[self._pos]
                self._pos += 1
                task = tasks.get(task_id)
                if task is None or task.finished:
                    continue
                op = task.op
                if op is None:
                    continue
                if not op.done:
                    try:
                        op.poll(now)
                    except Exception as exc:  # a verb's own failure goes to its script, never up the tick
                        op.fail(exc)
                if op.done:
                    self._advance(task, now, op.result, op.error)
        finally:
            self._due = None

    def throw(self, task, exc, now):
        """Raise exc inside a waiting task at once (e.g. its call hung up). A task that is running (it
        hung up its own call) is left alone: its next verb on the ended leg raises instead."""
        if task.finished or task is self.running:
            return
        if task.op is not None:
            task.op.cancel()
        self._advance(task, now, None, exc)

    def kill(self, task):
        """Stop a task without resuming it (engine shutdown)."""
        if not task.finished:
            if task.op is not None:
                task.op.cancel()
            task.coro.close()
            self._finish(task)

    def _advance(self, task, now, value, error):
        outer, self.running = self.running, task
        try:
            self._step(task, now, value, error)
        finally:
            self.running = outer

    def _step(self, task, now, value, error):
        while True:
            try:
                op = task.coro.throw(error) if error is not None else task.coro.send(value)
            except StopIteration as stop:
                task.result = stop.value
                self._finish(task)
                if task.on_done:
                    task.on_done(task)
                return
            except CallHangup:
                self._finish(task)
                if task.on_done:
                    task.on_done(task)
                return
            except Exception as exc:  # a broken script must not stop the engine
                self._finish(task)
                if task.on_error:
                    task.on_error(task, exc)
                return
            if not isinstance(op, Op):
                error, value = TypeError(f"scripts may only await engine verbs, not {op!r}"), None
                continue
            op.task = task
            task.op = op
            try:
                op.start(now)
                if not op.done:
                    op.poll(now)
            except Exception as exc:  # e.g. dial() to a channel that does not exist: the script sees it
                op.fail(exc)
            if not op.done:
                return
            value, error = op.result, op.error

    def _finish(self, task):
        task.finished = True
        task.op = None
        self.tasks.pop(task.id, None)
        if ("ended", task.id) in self._watchers:  # ops waiting for this task to end (Task.ended_key)
            self.signal(("ended", task.id))
