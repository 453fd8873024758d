"""Put the caller in an ACD queue with pycallcenter.acd's ``queue_call(call, name)`` when the ACD is
running on this engine (``engine.acd_binding``). Without it the caller hears technical_difficulty and
may leave a message in the general mailbox."""
from pycallcenter.apps.centre_config import centre_of


def _queue_call():
    try:
        from pycallcenter.acd import queue_call
    except ImportError:
        try:
            from pycallcenter.acd.engine_binding import queue_call
        except ImportError:
            return None
    return queue_call


async def main(call, queue="sales"):
    call.set("queue", queue)
    await call.answer()
    queue_call = _queue_call()
    if queue_call is not None and getattr(call.engine, "acd_binding", None) is not None:
        return await queue_call(call, queue)
    call.log(f"no ACD on this engine: queue {queue} goes to voicemail")
    await call.play("technical_difficulty")
    return await call.handoff("voicemail", mailbox=centre_of(call).general_mailbox)
