"""Leave a message: in the given mailbox, or the one the caller keys in. * during the greeting logs the
owner in to hear their messages instead."""
from pycallcenter.apps.centre_config import centre_of
from pycallcenter.apps.voicemail_ivr import deposit


async def main(call, mailbox=None):
    vm = centre_of(call).voicemail()
    await call.answer()
    for _ in range(3):
        if mailbox is not None and vm.mailbox(mailbox) is not None:
            break
        if mailbox is not None:
            await call.play("vm_unknown_mailbox")
        call.flush_digits()
        await call.play("vm_enter_mailbox", barge_in="0123456789")
        mailbox = (await call.collect(max_digits=10, terminator="#", first_timeout=6.0)).digits or None
    else:
        await call.play("goodbye")
        await call.hangup()
        return None
    msg_id = await deposit(call, vm, mailbox)
    await call.play("goodbye")
    await call.hangup()
    return msg_id
