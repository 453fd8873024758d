"""IVR scripting: ``async def main(call)`` scripts get an :class:`IvrCall` whose verbs are awaited.

Verbs yield engine ops (pycallcenter.engine.scheduler.Op); the engine resumes the script on the
board's tick when the op completes, so scripts are deterministic and need no threads or asyncio.
When the caller hangs up during a verb, the verb raises :class:`CallHangup` (the engine ends the
script quietly if it does not catch it). A call lives as long as its script: when the script returns,
the engine clears every leg of its call still up (normal clearing); ``hand_off(leg)`` leaves a
bridged pair talking after the script returns.
"""
import os
from typing import NamedTuple, Optional

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.engine.amd import AmdDetector
from pycallcenter.engine.bridge import Bridged
from pycallcenter.engine.engine import use_call_factory
from pycallcenter.engine.scheduler import CallHangup, Immediate, Op
from pycallcenter.engine.waits import SilenceWatch, row_rms, wake_on_leg, wake_on_player
from pycallcenter.ivr import say

__all__ = ["IvrCall", "CallHangup", "CollectResult", "DialResult", "RecordResult", "dial", "wait"]


class CollectResult(NamedTuple):
    """Digits collected and the termination condition that ended collection."""

    digits: str
    reason: str  # max_digits, terminator, first_digit_timeout, inter_digit_timeout, total_timeout, silence


class RecordResult(NamedTuple):
    """A message recorded by record(): file, length in seconds, and what ended it."""

    path: str
    seconds: float
    reason: str  # terminator, silence, max_time, hangup (a caller ends a message by hanging up)


class DialResult(NamedTuple):
    """Outcome of an outgoing leg: answered, busy, no_answer, congestion, failed, no_line."""

    outcome: str
    leg: Optional[C.Leg]
    cause: Optional[int] = None


def _s(seconds):
    return None if seconds is None else int(round(seconds * SAMPLE_RATE))


class _LegOp(Op):
    """An op bound to a leg: fails with CallHangup when the leg ends."""

    def __init__(self, leg):
        self.leg = leg

    def poll(self, now):
        if not self.leg.active:
            self.fail(CallHangup(self.leg.cause))
        else:
            self.check(now)

    def check(self, now):
        """Subclasses: finish when their condition holds."""


class _Answer(_LegOp):
    polled = False  # the leg's answer (or end) wakes it

    def start(self, now):
        wake_on_leg(self, self.leg)
        if self.leg.active:
            self.leg.answer()

    def check(self, now):
        if self.leg.state == C.ANSWERED:
            self.finish(True)


class _Play(_LegOp):
    polled = False  # woken by the leg's digits and end and by its row's player ending or stopped

    def __init__(self, leg, samples, barge_in, names=()):
        super().__init__(leg)
        self.samples, self.barge_in, self.names = samples, barge_in, names

    def start(self, now):
        wake_on_leg(self, self.leg)
        wake_on_player(self, self.leg.engine, self.leg.row)
        if self.barge_in and any(d in self.barge_in for d in self.leg.digits):
            self.finish(next(d for d in self.leg.digits if d in self.barge_in))
            return
        # by name, so a transcript (`ivr try`) or a reader of the event log can tell what the caller heard
        self.leg.engine.log("play", leg=self.leg.id, prompts="+".join(self.names) or "-",
                            barge_in=self.barge_in or "-")
        self.leg.engine.media.play(self.leg.row, self.samples)

    def check(self, now):
        media = self.leg.engine.media
        if self.barge_in:
            hit = next((d for d in self.leg.digits if d in self.barge_in), None)
            if hit is not None:
                media.stop(self.leg.row)
                self.finish(hit)  # the digit stays buffered for the next collect (Dialogic style)
                return
        if self.leg.row not in media.players:
            self.finish(None)

    def cancel(self):
        self.leg.engine.media.stop(self.leg.row)


class _Collect(_LegOp):
    polled = False  # woken by the leg's digits and end, its deadlines and its row's silence

    def __init__(self, leg, max_digits, terminator, first_timeout, inter_timeout, total_timeout, silence_timeout,
                 silence_level):
        super().__init__(leg)
        self.max_digits, self.terminator = max_digits, terminator
        self.first, self.inter, self.total = _s(first_timeout), _s(inter_timeout), _s(total_timeout)
        self.silence, self.silence_level = _s(silence_timeout), silence_level
        self.got = ""
        self.quiet = None  # SilenceWatch handle: since = the later of the last loud tick and the last digit

    def start(self, now):
        self.t0 = self.last = now
        wake_on_leg(self, self.leg)
        for limit in (self.total, self.first):
            if limit is not None:
                self.wake_at(now + limit)
        if self.silence is not None:
            self.quiet = SilenceWatch.of(self.leg.engine).watch(self, self.leg.row, self.silence_level,
                                                                 self.silence, now)
        self.check(now)

    def check(self, now):
        leg = self.leg
        if leg.digits and self.inter is not None:
            self.wake_at(now + self.inter)
        while leg.digits:
            d, leg.digits = leg.digits[0], leg.digits[1:]
            self.last = now
            if self.quiet is not None:
                self.quiet.since = now
            if self.terminator and d in self.terminator:
                self.finish(CollectResult(self.got, "terminator"))
                return
            self.got += d
            if self.max_digits and len(self.got) >= self.max_digits:
                self.finish(CollectResult(self.got, "max_digits"))
                return
        if self.total is not None and now - self.t0 >= self.total:
            self.finish(CollectResult(self.got, "total_timeout"))
        elif not self.got and self.first is not None and now - self.t0 >= self.first:
            self.finish(CollectResult(self.got, "first_digit_timeout"))
        elif self.got and self.inter is not None and now - self.last >= self.inter:
            self.finish(CollectResult(self.got, "inter_digit_timeout"))
        elif self.silence is not None:
            if row_rms(leg.engine.media.rx, leg.row) > self.silence_level:
                self.quiet.since = now
            elif now - self.quiet.since >= self.silence:
                self.finish(CollectResult(self.got, "silence"))

    def finish(self, result=None):
        self._unwatch()
        super().finish(result)

    def fail(self, error):
        self._unwatch()
        super().fail(error)

    def cancel(self):
        self._unwatch()

    def _unwatch(self):
        if self.quiet is not None:
            self.quiet.close()


class _Record(_LegOp):
    """Record what the caller says until the terminator, trailing silence, the time limit or hang-up."""

    polled = False  # woken by the leg's digits and end, the time limit and its row's silence

    def __init__(self, leg, path, max_seconds, silence_stop, terminator, silence_level):
        super().__init__(leg)
        self.path, self.max, self.silence = path, _s(max_seconds), _s(silence_stop)
        self.terminator, self.level = terminator, silence_level
        self.rec = None
        self.quiet = None  # SilenceWatch handle: since = the last loud tick

    def start(self, now):
        self.t0 = now
        self.leg.digits = ""
        self.rec = self.leg.engine.start_recording(self.leg, self.path, caller_only=True)
        wake_on_leg(self, self.leg)
        if self.max is not None:
            self.wake_at(now + self.max)
        if self.silence is not None:
            self.quiet = SilenceWatch.of(self.leg.engine).watch(self, self.leg.row, self.level, self.silence, now)

    def poll(self, now):
        if not self.leg.active:  # hanging up is how most callers end a message: keep it
            self._done("hangup")
        else:
            self.check(now)

    def check(self, now):
        leg = self.leg
        if self.terminator and any(d in self.terminator for d in leg.digits):
            leg.digits = ""
            self._done("terminator")
        elif self.max is not None and now - self.t0 >= self.max:
            self._done("max_time")
        elif self.silence is not None:
            if row_rms(leg.engine.media.rx, leg.row) > self.level:
                self.quiet.since = now
            elif now - self.quiet.since >= self.silence:
                self._done("silence")

    def _done(self, reason):
        if self.quiet is not None:
            self.quiet.close()
        rec = self.rec
        if rec.closed:  # the engine already finished it when the leg ended
            stats = next((r for r in reversed(self.leg.engine.recordings) if r["path"] == rec.path), None)
            stats = stats or {"path": rec.path, "seconds": rec.samples / SAMPLE_RATE}
        else:
            stats = self.leg.engine.stop_recording(rec, trim=reason in ("silence", "hangup"))
        self.finish(RecordResult(stats["path"], stats["seconds"], reason))

    def fail(self, error):
        if self.quiet is not None:
            self.quiet.close()
        super().fail(error)

    def cancel(self):
        if self.quiet is not None:
            self.quiet.close()
        if self.rec is not None and not self.rec.closed:
            self.leg.engine.stop_recording(self.rec)


class _Amd(Op):
    """Listen to an answered outgoing leg until the answering-machine detector decides."""

    def __init__(self, leg, **params):
        self.leg = leg
        self.params = params

    def start(self, now):
        self.detector = AmdDetector(**self.params)

    def poll(self, now):
        if not self.leg.active:
            self.fail(CallHangup(self.leg.cause))
            return
        result = self.detector.feed(self.leg.engine.media.rx[self.leg.row])
        if result is not None:
            self.leg.amd = result
            self.leg.engine.log("amd", leg=self.leg.id, verdict=result.verdict)
            self.finish(result)


class _Wait(Op):
    polled = False  # woken at its deadline (and by its leg's end)

    def __init__(self, leg, samples):
        self.leg, self.samples = leg, samples

    def start(self, now):
        self.until = now + self.samples
        self.wake_at(self.until)
        if self.leg is not None:
            wake_on_leg(self, self.leg)

    def poll(self, now):
        if self.leg is not None and not self.leg.active:
            self.fail(CallHangup(self.leg.cause))
        elif now >= self.until:
            self.finish(None)


class _Dial(Op):
    """Place an outgoing leg and wait for its outcome; the calling leg hanging up cancels it."""

    OUTCOMES = {C.USER_BUSY: "busy", C.NO_ANSWER: "no_answer", C.NO_USER_RESPONSE: "no_answer",
                C.NO_CIRCUIT: "congestion", C.UNALLOCATED_NUMBER: "sit", C.NETWORK_OUT_OF_ORDER: "no_dial_tone"}

    polled = False  # woken by either leg's events and the timeout

    def __init__(self, engine, leg, target, timeout, caller, caller_name):
        self.engine, self.leg, self.target = engine, leg, target
        self.timeout, self.caller, self.caller_name = _s(timeout), caller, caller_name
        self.out = None

    def start(self, now):
        call = self.leg.call if self.leg is not None else None
        self.t0 = now
        self.out = self.engine.originate(self.target, self.caller, self.caller_name, call=call)
        if self.out is None:
            self.finish(DialResult("no_line", None))
            return
        wake_on_leg(self, self.out)
        if self.leg is not None:
            wake_on_leg(self, self.leg)
        if self.timeout is not None:
            self.wake_at(now + self.timeout)

    def poll(self, now):
        out = self.out
        if self.leg is not None and not self.leg.active:
            out.hangup(C.NORMAL_CLEARING)
            self.fail(CallHangup(self.leg.cause))
        elif out.state == C.ANSWERED:
            self.finish(DialResult("answered", out))
        elif not out.active:
            self.finish(DialResult(self.OUTCOMES.get(out.cause, "failed"), out, out.cause))
        elif self.timeout is not None and now - self.t0 >= self.timeout:
            out.hangup(C.NO_ANSWER)
            self.finish(DialResult("no_answer", out, C.NO_ANSWER))

    def cancel(self):
        if self.out is not None and self.out.active:
            self.out.hangup(C.NORMAL_CLEARING)


def dial(engine, target, timeout=30.0, caller="", caller_name="", leg=None):
    """Place an outgoing leg outside any script's call (diallers, callbacks): await it for a DialResult.
    With `leg`, the new leg joins that leg's call and is cleared if that leg hangs up."""
    return _Dial(engine, leg, target, timeout, caller, caller_name)


def wait(engine, seconds):
    """Wait on the board clock outside any call (await it)."""
    return _Wait(None, _s(seconds))


def localise(engine, prompt, lang):
    """Return the name of a prompt in a language: LANG/NAME when the prompt folders have it, else NAME
    (files, arrays and names that already carry a folder are left as they are)."""
    find = getattr(engine.prompts, "path", None)  # a library that cannot say where its files are has one language
    if not isinstance(prompt, str) or "/" in prompt or os.sep in prompt or find is None or not lang:
        return prompt
    try:
        find(f"{lang}/{prompt}")
    except FileNotFoundError:
        return prompt
    return f"{lang}/{prompt}"


def say_lang(lang):
    """Return the say() language for a call language (English where say() has no words for it)."""
    return lang if lang in say.LANGS else "en"


class IvrCall:
    """What a script sees of its call: the caller's leg and the verbs."""

    def __init__(self, engine, leg):
        self.engine = engine
        self.leg = leg

    # --- facts -----------------------------------------------------------------------------------
    @property
    def id(self):
        """Return the call id (as in CDRs and the event log)."""
        return self.leg.call.id

    @property
    def caller(self):
        """Return the caller's number ('' when unknown)."""
        return self.leg.caller

    @property
    def caller_name(self):
        """Return the caller's name ('' when unknown)."""
        return self.leg.caller_name

    @property
    def called(self):
        """Return the number the caller dialled (DNIS), '' on analog lines."""
        return self.leg.called

    @property
    def vars(self):
        """Return the call's variables (carried to CTI screen pops and CDRs)."""
        return self.leg.call.vars

    @property
    def now(self):
        """Return the board time in seconds."""
        return self.engine.now / SAMPLE_RATE

    @property
    def lang(self):
        """Return the call's language: chosen by the caller or its route (call variable 'lang'), else the
        centre's default."""
        call = self.leg.call
        chosen = call.vars.get("lang") if call is not None else None
        return chosen or getattr(getattr(self.engine, "centre", None), "lang", None) or "en"

    def set(self, name, value):
        """Set a call variable."""
        self.leg.call.vars[name] = value
        self.engine.log("set", call=self.id, name=name)

    def log(self, message):
        """Write a line to the engine's event log for this call."""
        self.engine.log("script", call=self.id, msg=str(message).replace(" ", "_"))

    # --- verbs -----------------------------------------------------------------------------------
    def answer(self):
        """Answer the call (await it)."""
        return _Answer(self.leg)

    def hangup(self, cause=C.NORMAL_CLEARING):
        """Hang up with a Q.850 cause (await it)."""
        self.leg.hangup(cause)
        return Immediate(None)

    def play(self, prompts, barge_in=""):
        """Play prompts (names, files, int16 arrays, or a list); return the barge-in digit or None."""
        if not isinstance(prompts, (list, tuple)):
            prompts = [prompts]
        prompts = [localise(self.engine, p, self.lang) for p in prompts]
        samples = [self.engine.prompts.get(p) if self.engine.prompts is not None and not isinstance(p, np.ndarray)
                   else np.asarray(p, np.int16) for p in prompts]
        names = [str(p).replace(" ", "_") if not isinstance(p, np.ndarray) else f"audio:{len(s) / SAMPLE_RATE:.2f}s"
                 for p, s in zip(prompts, samples)]
        return _Play(self.leg, samples, barge_in, names)

    def collect(self, max_digits=None, terminator="#", first_timeout=5.0, inter_timeout=3.0, total_timeout=None,
                silence_timeout=None, silence_level=300.0):
        """Collect DTMF digits until a termination condition; return a CollectResult naming it."""
        if not max_digits and not terminator and first_timeout is None and total_timeout is None:
            raise ValueError("collect() needs at least one termination condition")
        return _Collect(self.leg, max_digits, terminator, first_timeout, inter_timeout, total_timeout,
                        silence_timeout, silence_level)

    def echo_cancel(self, on=True):
        """Switch line echo cancellation on this call's channel on or off; return False if the channel has none."""
        return Immediate(self.engine.media.echo_enable(self.leg.row, on))

    def flush_digits(self):
        """Forget digits typed ahead."""
        self.leg.digits = ""

    def wait(self, seconds):
        """Wait on the board clock."""
        return _Wait(self.leg, _s(seconds))

    async def menu(self, prompt, choices, retries=3, invalid=None, timeout_prompt=None, timeout=5.0):
        """Play prompt, take one digit among choices; retry with the invalid/timeout prompts. Return the
        digit chosen, or None after the retries."""
        for _ in range(retries):
            self.flush_digits()
            await self.play(prompt, barge_in=choices)
            got = await self.collect(max_digits=1, terminator="", first_timeout=timeout)
            if got.digits and got.digits in choices:
                self.engine.log("menu", call=self.id, choice=got.digits)
                return got.digits
            extra = invalid if got.digits else timeout_prompt
            if extra is not None:
                await self.play(extra)
        return None

    def dial(self, target, timeout=30.0, caller=None, caller_name=None):
        """Place an outgoing leg in this call ('trunk/number' or 'channel/N'); return a DialResult."""
        return _Dial(self.engine, self.leg, target, timeout, self.caller if caller is None else caller,
                     self.caller_name if caller_name is None else caller_name)

    def detect_machine(self, leg=None, **params):
        """Run answering-machine detection on an answered leg (default: this call's leg); return AmdResult
        (verdict human, machine, silence or notsure)."""
        return _Amd(leg or self.leg, **params)

    def bridge(self, other):
        """Talk to another leg until either hangs up; return the other leg's cause when it ended first."""
        return Bridged(self.leg, other)

    def hand_off(self, other):
        """Bridge this call's leg to another and leave the pair to the engine (await it): the script may
        then return and the two go on talking; when either hangs up the other is cleared. Without it, a
        script that returns clears every leg of its call."""
        self.engine.hand_off(self.leg, other)
        return Immediate(None)

    async def record(self, path=None, max_seconds=60.0, silence_stop=3.0, beep=True, terminator="#",
                     silence_level=300.0):
        """Record a message from the caller (after a beep); return a RecordResult (reason 'hangup' when the
        caller ended it by hanging up: the message is kept)."""
        if beep:
            t = np.arange(int(0.25 * SAMPLE_RATE)) / SAMPLE_RATE
            await self.play((6000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16))
        return await _Record(self.leg, path, max_seconds, silence_stop, terminator, silence_level)

    def start_recording(self, path=None, stereo=False, fmt="wav", beep_every=None):
        """Record the whole call from now (caller and what they hear); return the Recorder."""
        return self.engine.start_recording(self.leg, path, stereo=stereo, fmt=fmt, beep_every=beep_every)

    def stop_recording(self, recorder, trim=False):
        """Stop a recording started with start_recording(); return its stats."""
        return self.engine.stop_recording(recorder, trim=trim)

    def say_digits(self, text, lang=None):
        """Read a digit string in the call's language unless lang is given (await it)."""
        return self.play(say.digits(text, say_lang(lang or self.lang)))

    def say_number(self, n, lang=None):
        """Read a whole number in the call's language unless lang is given (await it)."""
        return self.play(say.number(n, say_lang(lang or self.lang)))

    def say_money(self, amount, lang=None):
        """Read an amount of money in the call's language unless lang is given (await it)."""
        return self.play(say.money(amount, say_lang(lang or self.lang)))

    def say_date(self, d, lang=None):
        """Read a date with its weekday in the call's language unless lang is given (await it)."""
        return self.play(say.date(d, say_lang(lang or self.lang)))

    def say_time(self, t, lang=None):
        """Read a clock time in the call's language unless lang is given (await it)."""
        return self.play(say.time(t, say_lang(lang or self.lang)))

    def receive_fax(self, path, **options):
        """Receive a fax into path (TIFF); return a FaxResult (see pycallcenter.fax.ivr.receive_fax)."""
        from pycallcenter.fax import ivr as fax_ivr  # deliberate: loads spandsp, which only fax scripts need

        return fax_ivr.receive_fax(self, path, **options)

    def send_fax(self, tiff_path, **options):
        """Send a TIFF-F document; return a FaxResult (see pycallcenter.fax.ivr.send_fax)."""
        from pycallcenter.fax import ivr as fax_ivr  # deliberate: loads spandsp, which only fax scripts need

        return fax_ivr.send_fax(self, tiff_path, **options)

    def detect_fax(self, seconds=5.0):
        """Listen for a fax (CNG, CED or V.21) for up to seconds; return what was heard or None."""
        from pycallcenter.fax import ivr as fax_ivr  # deliberate: loads spandsp, which only fax scripts need

        return fax_ivr.detect_fax(self, seconds)

    async def handoff(self, script, *args, **kwargs):
        """Continue the call in another script (a name in the engine's script set, or a function); return
        what that script returns."""
        if isinstance(script, str):
            script = self.engine.scripts.get(script)
        self.engine.log("handoff", call=self.id, to=getattr(script, "__module__", "?").rsplit(".", 1)[-1])
        return await script(self, *args, **kwargs)

    async def transfer(self, target, timeout=30.0):
        """Blind transfer: dial target, connect the caller when it answers; return the DialResult."""
        result = await self.dial(target, timeout)
        if result.outcome == "answered":
            await self.bridge(result.leg)
        return result


use_call_factory(IvrCall)  # the engine gives every script it starts an IvrCall
