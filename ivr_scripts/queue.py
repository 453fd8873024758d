"""Put the caller in an ACD queue. Until pycallcenter.acd provides ``queue_call(call, name)`` (work in
progress), the caller hears technical_difficulty and may leave a message in the general mailbox."""
from pycallcenter.apps.centre_config import centre_of


async def main(call, queue="sales"):
    call.set("queue", queue)
    await call.answer()
    try:
        from pycallcenter.acd import queue_call
    except ImportError:
        queue_call = None
    if queue_call is not None:
        return await queue_call(call, queue)
    call.log(f"no ACD binding: queue {queue} goes to voicemail")
    await call.play("technical_difficulty")
    return await call.handoff("voicemail", mailbox=centre_of(call).general_mailbox)
