"""Put the caller in an ACD queue with pycallcenter.acd's ``queue_call(call, name)`` when the ACD is
running on this engine (``engine.acd_binding``): an overflow to 'voicemail' or 'callback' continues in
those scripts, a caller leaving the queue (closed, no agents, timeout) goes to the general mailbox.
Without the ACD the caller hears technical_difficulty and may leave a message there."""
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
    # a VIP caller (the centre's caller lists) may go to a dedicated queue, and waits with a priority
    queue = call.vars.get("vip_queue") or queue
    call.set("queue", queue)
    await call.answer()
    queue_call = _queue_call()
    if queue_call is not None and getattr(call.engine, "acd_binding", None) is not None:
        result = await queue_call(call, queue, priority=int(call.vars.get("priority") or 0))
        call.set("queue_outcome", result.outcome)
        if result.outcome == "overflow" and result.target == "callback":
            return await call.handoff("callback", queue)
        if result.outcome == "callback" and call.leg.active:  # pressed the callback key ([callbacks] key)
            return await call.handoff("callback", queue, kept=call.engine.acd_binding.callback_keeps_place)
        if result.outcome in ("overflow", "leave") and call.leg.active:
            return await call.handoff("voicemail", mailbox=centre_of(call).general_mailbox)
        return result
    call.log(f"no ACD on this engine: queue {queue} goes to voicemail")
    await call.play("technical_difficulty")
    return await call.handoff("voicemail", mailbox=centre_of(call).general_mailbox)
