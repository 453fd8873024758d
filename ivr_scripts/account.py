"""Account balance: the caller keys an account number (3 tries) and hears its balance."""
from pycallcenter.apps import accounts
from pycallcenter.apps.centre_config import centre_of


async def main(call):
    centre = centre_of(call)
    await call.answer()
    for _ in range(3):
        call.flush_digits()
        await call.play("enter_account", barge_in="0123456789")
        got = await call.collect(max_digits=12, terminator="#", first_timeout=6.0, inter_timeout=4.0)
        if not got.digits:
            await call.play("no_input")
            continue
        amount = accounts.balance(centre.path("account_db"), got.digits)
        if amount is None:
            call.log(f"account {got.digits} unknown")
            await call.play("account_unknown")
            continue
        call.set("account", got.digits)
        await call.play("your_balance_is")
        await call.say_money(amount, centre.lang)
        break
    await call.play("goodbye")
    await call.hangup()
