"""Record your mailbox greeting: PIN (mailbox number first when not on your own extension), then the
greeting after the tone; it is played back and used from the next caller on."""
from pycallcenter.apps.centre_config import centre_of
from pycallcenter.apps.voicemail_ivr import own_mailbox, record_greeting


async def main(call, mailbox=None):
    vm = centre_of(call).voicemail()
    return await record_greeting(call, vm, own_mailbox(call, vm, mailbox))
