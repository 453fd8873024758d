"""Fax verbs for IVR scripts, the fax-on-demand flow and the retrying fax callback.

``await receive_fax(call, path)`` / ``await send_fax(call, tiff)`` run a :class:`FaxSession` on the
call's leg (as a per-tick media source) and return its :class:`FaxResult`. Unlike the voice verbs they
do not raise CallHangup when the far end drops mid-fax: the result says ``hangup=True`` so the caller
can log and retry. ``await detect_fax(call, seconds)`` listens for CNG, CED or V.21 flags.
"""
from __future__ import annotations

import logging
import os
from typing import Callable, Optional

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.engine.scheduler import CallHangup, Op
from pycallcenter.fax.detect import BatchedFaxWatcher, FaxDetector
from pycallcenter.fax.session import ERR_FILEERROR, FaxResult, FaxSession

log = logging.getLogger("pycallcenter.fax")

# T.30 gives up on its own well inside this; the guard frees a channel whose far end went silent.
DEFAULT_TIMEOUT = 30 * 60.0


class _FaxOp(Op):
    """Run a FaxSession on a leg until phase E, the leg ends or the timeout; result is a FaxResult.

    The leg is kept as ``fax_leg`` (not ``leg``) so the engine does not throw CallHangup into the
    script when the line drops: the op finishes with the session's result instead."""

    def __init__(self, leg, session: FaxSession, timeout: Optional[float]):
        self.fax_leg, self.session = leg, session
        self.timeout = None if timeout is None else int(timeout * SAMPLE_RATE)

    def start(self, now):
        media = self.fax_leg.engine.media
        self.t0 = now
        if not self.fax_leg.active:
            self.finish(self.session.hangup())
            return
        media.stop(self.fax_leg.row)
        media.stop_tone(self.fax_leg.row)
        media.attach(self.fax_leg.row, self.session)

    def poll(self, now):
        s = self.session
        if s.done:
            self._detach()
            s.close()
            self.finish(s.result)
        elif not self.fax_leg.active:
            self.finish(s.hangup())
        elif self.timeout is not None and now - self.t0 >= self.timeout:
            self._detach()
            result = s.hangup()
            result.text = "fax timed out"
            self.finish(result)

    def _detach(self):
        media = self.fax_leg.engine.media
        if media.sources.get(self.fax_leg.row) is self.session:
            media.detach(self.fax_leg.row)

    def cancel(self):
        self._detach()
        self.session.close()


def _log_result(call, what, result: FaxResult):
    fields = dict(call=call.id, ok=int(result.ok), code=result.code, pages=result.pages, rate=result.bit_rate,
                  remote=(result.remote_ident or "-").replace(" ", "_"), text=result.text.replace(" ", "_"))
    call.engine.log(what, **fields)
    call.set(what, int(result.ok))  # the CDR's outcome (fax_received, fax_sent or fax_failed)
    (log.info if result.ok else log.warning)("%s on call %s: %s (code %d), %d page(s), remote %r", what, call.id,
                                             result.text, result.code, result.pages, result.remote_ident)


def _part_name(path):
    d, base = os.path.split(os.path.abspath(path))
    return os.path.join(d, f".{base}.part")


async def receive_fax(call, path, *, calling=False, ecm=True, modems=None, max_rate=None, ident="", header="",
                      on_event=None, timeout=DEFAULT_TIMEOUT) -> FaxResult:
    """Receive a fax on the call into path (written as a temp name, renamed on success); return a FaxResult."""
    tmp = _part_name(path)
    session = FaxSession(calling=calling, receive=tmp, ecm=ecm, modems=modems, max_rate=max_rate, ident=ident,
                         header=header, on_event=on_event)
    result = await _FaxOp(call.leg, session, timeout)
    if result.ok and result.pages > 0 and os.path.exists(tmp):
        os.replace(tmp, path)
        result.path = path
    else:
        if os.path.exists(tmp):
            os.unlink(tmp)
        result.path = None
        result.ok = False
    _log_result(call, "fax_received", result)
    return result


async def send_fax(call, tiff_path, *, calling=True, ecm=True, modems=None, max_rate=None, ident="", header="",
                   on_event=None, timeout=DEFAULT_TIMEOUT) -> FaxResult:
    """Send a TIFF-F file on the call; return a FaxResult (a missing file is a failed result, not a raise)."""
    if not os.path.isfile(tiff_path):
        result = FaxResult(ok=False, code=ERR_FILEERROR, text=f"document {tiff_path} is missing", pages=0)
        _log_result(call, "fax_sent", result)
        return result
    session = FaxSession(calling=calling, send=tiff_path, ecm=ecm, modems=modems, max_rate=max_rate, ident=ident,
                         header=header, on_event=on_event)
    result = await _FaxOp(call.leg, session, timeout)
    _log_result(call, "fax_sent", result)
    return result


class _Detect(Op):
    """Listen to what the leg receives for fax signals; result 'cng'/'ced'/'v21' or None at the timeout."""

    def __init__(self, leg, samples, plan):
        self.leg, self.samples = leg, samples
        self.detector = FaxDetector(plan)

    def start(self, now):
        self.t0 = now

    def poll(self, now):
        if not self.leg.active:
            self.detector.close()
            self.fail(CallHangup(self.leg.cause))
            return
        hit = self.detector.process(self.leg.engine.media.rx[self.leg.row])
        if hit is not None or now - self.t0 >= self.samples:
            self.detector.close()
            self.finish(hit)

    def cancel(self):
        self.detector.close()


def detect_fax(call, seconds=5.0):
    """Listen for a fax (await it); return 'cng', 'ced', 'v21' or None when seconds passed without one."""
    return _Detect(call.leg, int(seconds * SAMPLE_RATE), call.engine.tone_plan)


def watch_for_fax(call):
    """Watch the leg for a fax while its script runs (prompts keep playing); return the watch (check
    ``.detected``, ``close()`` it). All watched legs share one batched detector (BatchedFaxWatcher)."""
    return BatchedFaxWatcher.of(call.engine).watch(call.leg.row)


# --- fax-on-demand ---------------------------------------------------------------------------------------
def _beep(freq, ms=150, level=6000):
    t = np.arange(int(SAMPLE_RATE * ms / 1000)) / SAMPLE_RATE
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.int16)


# Default prompts are tone signatures, so the flow runs with no recorded audio: rising = "enter",
# two high = "confirm", low = "error", three rising = "press start", chord = "goodbye". Real
# deployments pass recorded prompts (names in engine.prompts, files or int16 arrays).
TONE_PROMPTS = {
    "fod_welcome": np.concatenate([_beep(600), _beep(800), _beep(1000)]),
    "fod_enter_document": np.concatenate([_beep(700), _beep(900)]),
    "fod_confirm": np.concatenate([_beep(1200), np.zeros(400, np.int16), _beep(1200)]),
    "fod_unknown_document": _beep(300, 400),
    "fod_more_or_done": np.concatenate([_beep(900), _beep(700)]),
    "fod_delivery_choice": np.concatenate([_beep(500), _beep(1000)]),
    "fod_press_start": np.concatenate([_beep(500), _beep(700), _beep(900), _beep(1100)]),
    "fod_enter_number": np.concatenate([_beep(800), _beep(800), _beep(800)]),
    "fod_callback_booked": _beep(1000, 400),
    "fod_failed": np.concatenate([_beep(400, 300), _beep(300, 300)]),
    "fod_goodbye": np.concatenate([_beep(800), _beep(600), _beep(400)]),
}


def _prompt(prompts, name):
    p = (prompts or {}).get(name)
    return p if p is not None else TONE_PROMPTS[name]


async def fax_on_demand(call, library, *, callback: Optional[Callable] = None, prompts=None, max_documents=5,
                        ecm=True, ident="", header="", timeout=DEFAULT_TIMEOUT):
    """The fax-on-demand IVR: pick documents by number (confirmed with 1), then 1 = send on this call
    (press start), 2 = leave a fax number for a callback. Return a dict describing what happened."""
    outcome = {"documents": [], "delivery": None, "result": None, "callback": None}
    await call.answer()
    await call.play(_prompt(prompts, "fod_welcome"))
    while len(outcome["documents"]) < max_documents:
        call.flush_digits()
        await call.play(_prompt(prompts, "fod_enter_document"), barge_in="0123456789")
        got = await call.collect(max_digits=6, terminator="#", first_timeout=8.0)
        if not got.digits:
            break
        doc = library.get(got.digits)
        if doc is None:
            call.log(f"fax-on-demand unknown document {got.digits}")
            await call.play(_prompt(prompts, "fod_unknown_document"))
            continue
        try:
            library.tiff(got.digits)
        except Exception as exc:  # corrupt, encrypted or oversized source: tell the caller, keep going
            log.warning("fax-on-demand document %s cannot be prepared: %s", got.digits, exc)
            call.log(f"fax-on-demand document {got.digits} unusable")
            await call.play(_prompt(prompts, "fod_unknown_document"))
            continue
        choice = await call.menu(_prompt(prompts, "fod_confirm"), "12", retries=2)
        if choice == "1":
            outcome["documents"].append(got.digits)
            call.log(f"fax-on-demand selected {got.digits}")
        more = await call.menu(_prompt(prompts, "fod_more_or_done"), "12", retries=2)
        if more != "1":
            break
    if not outcome["documents"]:
        await call.play(_prompt(prompts, "fod_goodbye"))
        await call.hangup()
        return outcome
    tiff = library.bundle(outcome["documents"])
    # No answer to the delivery menu counts as "this call": a caller on a fax machine's handset may have
    # nothing else to press but start.
    delivery = await call.menu(_prompt(prompts, "fod_delivery_choice"), "12" if callback else "1", retries=2)
    if delivery == "2" and callback is not None:
        await call.play(_prompt(prompts, "fod_enter_number"))
        got = await call.collect(max_digits=20, terminator="#", first_timeout=10.0, inter_timeout=5.0)
        if got.digits:
            outcome["delivery"] = "callback"
            outcome["callback"] = got.digits
            callback(got.digits, list(outcome["documents"]), tiff)
            await call.play(_prompt(prompts, "fod_callback_booked"))
            await call.play(_prompt(prompts, "fod_goodbye"))
            await call.hangup()
            return outcome
    outcome["delivery"] = "same_call"
    await call.play(_prompt(prompts, "fod_press_start"))
    # The caller's machine, put in receive by its start key, answers as the called terminal:
    # we are the T.30 calling side and transmit.
    result = await send_fax(call, tiff, calling=True, ecm=ecm, ident=ident, header=header, timeout=timeout)
    outcome["result"] = result
    if call.leg.active:
        if not result.ok:
            await call.play(_prompt(prompts, "fod_failed"))
        await call.hangup()
    return outcome
