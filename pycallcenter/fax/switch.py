"""Switch any call to fax when a fax machine is heard: wrap a router's script with ``fax_aware``.

``engine.router = lambda leg: fax_aware(ivr_main, inbox=inbox)`` runs ``ivr_main`` as usual while a
listen-only FaxDetector hears the caller. On CNG, CED or V.21 flags a watcher task throws
:class:`FaxDetected` into the script at the verb it is waiting on (the verb is cancelled: a prompt
stops, a collect ends); unless the script catches it, the wrapper hands the call to the fax handler
(default: receive into the inbox). A script that starts a fax verb itself replaces the listener (a
row has one per-tick source), so its own fax is never interrupted.
"""
from __future__ import annotations

from typing import Awaitable, Callable, Optional

from pycallcenter.engine.scheduler import CallHangup, Op
from pycallcenter.engine.waits import wake_on_leg
from pycallcenter.fax.ivr import watch_for_fax


class FaxDetected(Exception):
    """Raised inside a script when a fax machine is heard on its call; ``kind`` is cng, ced or v21."""

    def __init__(self, kind):
        super().__init__(f"fax detected ({kind})")
        self.kind = kind


class _Heard(Op):
    """Wait until the detector hears a fax (result: its kind) or the watched task ends (result: None).
    Not polled each tick: the detector's result, the task's end and the leg's end wake it (a detector
    that cannot say when it hears, without ``on_detect``, is polled every tick)."""

    def __init__(self, leg, detector, target):
        self.leg, self.detector, self.target = leg, detector, target
        self.polled = not hasattr(detector, "on_detect")

    def start(self, now):
        if not self.polled:
            self.detector.on_detect = self._detected
            self.wake_on(self.target.ended_key)
            wake_on_leg(self, self.leg)

    def _detected(self):
        task = self.task
        if task is not None and task.op is self and task.scheduler is not None:
            task.scheduler.wake(task)

    def poll(self, now):
        if not self.leg.active:
            self.fail(CallHangup(self.leg.cause))
        elif self.target.finished:
            self.finish(None)
        elif self.detector.detected is not None:
            self.finish(self.detector.detected)


async def _watch(engine, leg, detector, target):
    kind = await _Heard(leg, detector, target)
    media = engine.media
    if media.sources.get(leg.row) is detector:
        media.detach(leg.row)
    detector.close()
    if kind is not None and not target.finished:
        engine.log("fax_detected", call=leg.call.id, signal=kind)
        engine.scheduler.throw(target, FaxDetected(kind), engine.now)


def _watch_failed(engine, call_id):
    def report(task, exc):
        engine.errors.append((call_id, repr(exc)))
        engine.log("script_error", call=call_id, error=type(exc).__name__)
    return report


def fax_aware(script: Callable, inbox=None, on_fax: Optional[Callable[..., Awaitable]] = None):
    """Return a script that runs ``script`` and switches the call to fax when one is heard: to
    ``on_fax(call, kind)`` when given, else into ``inbox`` (a FaxInbox)."""
    if inbox is None and on_fax is None:
        raise ValueError("fax_aware needs an inbox or an on_fax handler")

    async def wrapped(call):
        engine = call.engine
        detector = watch_for_fax(call)
        me = engine.scheduler.running
        engine.scheduler.spawn(_watch(engine, call.leg, detector, me), f"{call.id}:fax_watch", engine.now,
                               on_error=_watch_failed(engine, call.id))
        try:
            return await script(call)
        except FaxDetected as fax:
            if on_fax is not None:
                return await on_fax(call, fax.kind)
            # CNG: the caller's machine is the calling terminal and sends; CED or V.21: it answered in
            # receive mode, so we take the calling role (it polls us if it has nothing for us).
            return await inbox.receive(call, calling=fax.kind != "cng")

    wrapped.__name__ = getattr(script, "__name__", "script")
    return wrapped

