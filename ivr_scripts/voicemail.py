"""Leave a message: in the given mailbox, or the one the caller keys in (3 tries). * during the greeting
logs the owner in to hear their messages instead."""
from pycallcenter.apps.centre_config import centre_of
from pycallcenter.apps.voicemail_ivr import deposit


async def main(call, mailbox=None):
    vm = centre_of(call).voicemail()
    await call.answer()
    tries = 0
    while mailbox is None or vm.mailbox(mailbox) is None:
        if mailbox is not None:
            await call.play("vm_unknown_mailbox")
        if tries == 3:
            await call.play("goodbye")
            await call.hangup()
            return None
        tries += 1
        call.flush_digits()
        await call.play("vm_enter_mailbox", barge_in="0123456789")
        mailbox = (await call.collect(max_digits=10, terminator="#", first_timeout=6.0)).digits or None
    msg_id = await deposit(call, vm, mailbox)  # a caller hanging up after the message gets voicemail_id
    if msg_id is not None:
        call.set("outcome", "voicemail")
    await call.play("goodbye")
    await call.hangup()
    return msg_id
