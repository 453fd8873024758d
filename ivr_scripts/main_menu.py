"""Main menu: 1 sales queue, 2 support queue, 3 documents by fax, 9 voicemail, 0 operator."""
from pycallcenter.apps.centre_config import centre_of


async def main(call):
    centre = centre_of(call)
    await call.answer()
    await call.play("welcome")
    choice = await call.menu("main_menu", "12390", retries=3, invalid="invalid", timeout_prompt="no_input")
    call.set("menu", choice or "none")
    if choice == "1":
        return await call.handoff("queue", "sales")
    if choice == "2":
        return await call.handoff("queue", "support")
    if choice == "3":
        return await call.handoff("fax")
    if choice == "9":  # a message for the centre: the general mailbox (mailbox owners dial in through extension)
        return await call.handoff("voicemail", mailbox=centre.general_mailbox)
    if choice == "0":
        if centre.operator is not None:
            await call.play("transferring")
            result = await call.transfer(centre.operator, timeout=centre.operator_timeout)
            if result.outcome == "answered":
                return result
        await call.play("operator_unavailable")
        return await call.handoff("voicemail", mailbox=centre.general_mailbox)
    await call.play("goodbye")
    await call.hangup()
