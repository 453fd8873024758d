"""Hear your messages: on an extension with a mailbox only the PIN is asked; from elsewhere the mailbox
number first."""
from pycallcenter.apps.centre_config import centre_of
from pycallcenter.apps.voicemail_ivr import own_mailbox, retrieve


async def main(call, mailbox=None):
    centre = centre_of(call)
    vm = centre.voicemail()
    return await retrieve(call, vm, own_mailbox(call, vm, mailbox), lang=centre.lang)
