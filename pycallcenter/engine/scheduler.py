"""Deterministic coroutine scheduling on the board clock.

IVR scripts are ``async def`` coroutines, but they do not run on asyncio: every ``await`` on an engine
verb yields an :class:`Op` to the engine, which resumes the coroutine at a fixed point of a later tick
when the op completes. Same inputs, same ticks, same order: the same run, byte for byte.
"""
from typing import Any, Callable, Optional

from pycallcenter.causes import Cause


class CallHangup(Exception):
    """Raised inside a script when its call's leg hangs up while the script waits on it."""

    def __init__(self, cause=Cause.NORMAL_CALL_CLEARING):
        self.cause = cause
        super().__init__(f"the caller hung up (cause {cause})")


class Op:
    """Something a task waits for. The engine calls ``poll(now)`` each tick until it returns done."""

    task: Optional["Task"] = None
    done = False
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

    def finish(self, result=None):
        """Complete the op with a result."""
        if not self.done:
            self.done, self.result = True, result

    def fail(self, error):
        """Complete the op by raising error inside the waiting task."""
        if not self.done:
            self.done, self.error = True, error


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
        self.op: Optional[Op] = None
        self.finished = False
        self.on_error = on_error
        self.on_done = on_done
        self.result = None

    def __repr__(self):
        return f"<Task {self.id} {self.name}{' done' if self.finished else ''}>"


class Scheduler:
    """Runs tasks: steps each one until it waits on an op that is not done yet."""

    def __init__(self):
        self.tasks: dict[int, Task] = {}
        self._next_id = 1  # per scheduler, so two runs in one process number tasks alike
        self.running: Optional[Task] = None  # the task whose coroutine is executing right now

    def spawn(self, coro, name, now, on_error=None, on_done=None) -> Task:
        """Start a coroutine now; return its Task."""
        task = Task(self._next_id, coro, name, on_error, on_done)
        self._next_id += 1
        self.tasks[task.id] = task
        self._advance(task, now, None, None)
        return task

    def poll(self, now):
        """Poll every waiting op in task order and resume the tasks whose op completed."""
        for task in list(self.tasks.values()):
            op = task.op
            if op is None or task.finished:
                continue
            if not op.done:
                try:
                    op.poll(now)
                except Exception as exc:  # a verb's own failure goes to its script, never up the tick
                    op.fail(exc)
            if op.done:
                self._advance(task, now, op.result, op.error)

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
