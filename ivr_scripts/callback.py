"""Callback request: the caller keys the number to be called back on (default: their caller ID with #
alone) and, if they like, the time to be called at (four digits, HHMM; # alone for as soon as
possible), hears both read back, and the request is saved in the callbacks table, where the
centre's callback dialler (pycallcenter.apps.outbound, [callbacks]) finds it.

A caller who pressed the callback key while waiting in a queue and keeps their place (``kept``) is not
asked anything: the queue calls them back on their caller ID when their turn comes; the request is
saved too, so the dialler calls them back if the queue loses the place (a restart, a queue timeout)."""
import datetime as _dt

from pycallcenter.apps.centre_config import centre_of


def at_time(digits, now):
    """Return the next datetime at or after now whose clock time is HHMM (digits), or None if not a time."""
    if len(digits) != 4 or not digits.isdigit():
        return None
    hour, minute = int(digits[:2]), int(digits[2:])
    if hour > 23 or minute > 59:
        return None
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at >= now else at + _dt.timedelta(days=1)


async def _ask_number(call):
    for _ in range(3):
        call.flush_digits()
        await call.play("callback_enter", barge_in="0123456789#")
        got = await call.collect(max_digits=15, terminator="#", first_timeout=8.0, inter_timeout=4.0)
        number = got.digits or (call.caller if got.reason == "terminator" else "")
        if number.isdigit() and 3 <= len(number) <= 15:
            return number
        await call.play("callback_not_valid" if got.digits else "no_input")
    return None


async def _ask_time(call, now):
    for _ in range(2):
        call.flush_digits()
        await call.play("callback_when", barge_in="0123456789#")
        got = await call.collect(max_digits=4, terminator="#", first_timeout=6.0, inter_timeout=4.0)
        if not got.digits:
            return None  # as soon as possible
        at = at_time(got.digits, now)
        if at is not None:
            return at
        await call.play("callback_time_not_valid")
    return None


async def main(call, queue="sales", kept=False):
    centre = centre_of(call)
    await call.answer()
    at = None
    if kept and call.caller:
        number = call.caller
    else:
        number = await _ask_number(call)
        if number is None:
            await call.play("goodbye")
            await call.hangup()
            return None
        at = await _ask_time(call, centre.clock())
    callback_id = centre.callbacks().request(number, queue, centre.clock(), caller=call.caller, call_id=call.id,
                                             at=at, held_by=call.id if kept else "")
    call.set("callback_id", callback_id)
    call.set("outcome", "callback")
    await call.play("callback_confirm")
    await call.say_digits(number, centre.lang)
    if at is not None:
        await call.play("callback_at")
        await call.say_time(at, centre.lang)
    await call.play(["callback_thanks", "callback_place_kept", "goodbye"] if kept else ["callback_thanks", "goodbye"])
    await call.hangup()
    return callback_id
