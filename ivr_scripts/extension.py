"""Dial plan for extensions (route FXS legs here): *98 hear your messages, *97 record your greeting,
0 the main menu (try the IVR from a desk phone); anything else is not a valid number."""

CODES = {"*98": "voicemail_retrieve", "*97": "voicemail_greeting", "0": "main_menu"}


async def main(call):
    got = await call.collect(max_digits=3, terminator="#", first_timeout=10.0, inter_timeout=3.0)
    script = CODES.get(got.digits)
    call.set("dialled", got.digits or "-")
    if script is not None:
        return await call.handoff(script)
    if got.digits:
        await call.play("invalid")
    await call.hangup()
