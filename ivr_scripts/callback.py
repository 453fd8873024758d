"""Callback request: the caller keys the number to be called back on (default: their caller ID with #
alone), hears it read back and it is queued in the callbacks table for the outbound dialler."""
from pycallcenter.apps.centre_config import centre_of


async def main(call, queue="sales"):
    centre = centre_of(call)
    await call.answer()
    for _ in range(3):
        call.flush_digits()
        await call.play("callback_enter", barge_in="0123456789#")
        got = await call.collect(max_digits=15, terminator="#", first_timeout=8.0, inter_timeout=4.0)
        number = got.digits or (call.caller if got.reason == "terminator" else "")
        if number.isdigit() and 3 <= len(number) <= 15:
            break
        await call.play("callback_not_valid" if got.digits else "no_input")
    else:
        await call.play("goodbye")
        await call.hangup()
        return None
    callback_id = centre.callbacks().request(number, queue, centre.clock(), caller=call.caller, call_id=call.id)
    call.set("callback_id", callback_id)
    await call.play("callback_confirm")
    await call.say_digits(number, centre.lang)
    await call.play(["callback_thanks", "goodbye"])
    await call.hangup()
    return callback_id
