"""Entry script for incoming calls: open hours go to the main menu; after hours and on holidays the caller
hears why and may leave a message in the general mailbox."""
from pycallcenter.apps.centre_config import CLOSED, HOLIDAY, centre_of


async def main(call):
    centre = centre_of(call)
    status = centre.status()
    call.set("hours", status)
    if status not in (CLOSED, HOLIDAY):
        return await call.handoff("main_menu")
    await call.answer()
    await call.play(["welcome", "holiday" if status == HOLIDAY else "closed"])
    return await call.handoff("voicemail", mailbox=centre.general_mailbox)
