"""Hear your messages: on an extension with a mailbox only the PIN is asked; from elsewhere the mailbox
number first."""
from pycallcenter.apps.centre_config import centre_of
from pycallcenter.apps.voicemail_ivr import retrieve


async def main(call, mailbox=None):
    centre = centre_of(call)
    vm = centre.voicemail()
    if mailbox is None and call.leg.tech == "fxs":
        own = vm.mailbox_of_extension(call.leg.channel)
        mailbox = own.number if own is not None else None
    return await retrieve(call, vm, mailbox, lang=centre.lang)
