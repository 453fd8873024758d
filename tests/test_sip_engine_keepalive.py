"""Session timers and OPTIONS keepalive from config: [sip] session_expires puts an RFC 4028 timer on every
SIP call (a far end that vanishes is cleared with cause 102); a [[sip.trunk]] keepalive pings the trunk
with OPTIONS, logs it up and down, shows it in the status, and fails calls at once while it is down."""
from engine_sip_rig import Phone, run
from pycallcenter.engine import call as C
from pycallcenter.engine.sip import Peer
from test_sip_engine import rig  # noqa: F401 - the fixture is shared


def test_a_trunk_with_keepalive_is_up_while_it_answers_and_down_when_it_stops(rig):
    build, keep = rig
    carrier = Phone("carrier")
    keep(carrier)
    eng, trunk = build(peers=[Peer("carrier", "127.0.0.1", carrier.addr[1], keepalive=5)])
    assert trunk.status()["trunks"] == {"carrier": "unknown"}
    assert run(eng, 1.0, carrier, until=lambda: trunk.status()["trunks"]["carrier"] == "up")
    assert any(" sip_trunk_up " in line and "trunk=carrier" in line for line in eng.log_lines)
    before = carrier.ua.stats["options"]
    run(eng, 11.0, carrier)
    assert carrier.ua.stats["options"] - before >= 2  # pinged every 5 s
    carrier.close()  # the carrier goes away: the next ping times out (timer F, 32 s)
    assert run(eng, 45.0, until=lambda: trunk.status()["trunks"]["carrier"] == "down")
    assert any(" sip_trunk_down " in line for line in eng.log_lines)
    outcome = {}

    async def dialler():
        from pycallcenter import ivr
        got = await ivr.dial(eng, "sip/carrier/2001", timeout=10)
        outcome["cause"] = got.cause

    eng.scheduler.spawn(dialler(), "dialler", eng.now)
    assert run(eng, 0.2, until=lambda: "cause" in outcome)  # at once, not after timer B
    assert outcome["cause"] == C.NETWORK_OUT_OF_ORDER
    assert eng.leaks() == []


def test_session_expires_refreshes_a_live_call_and_clears_a_vanished_one_with_102(rig):
    build, keep = rig
    eng, trunk = build(session_expires=90)
    seen = {}

    async def script(call):
        await call.answer()
        await call.wait(600.0)

    eng.router = lambda leg: script
    phone = Phone("2025550100")
    keep(phone)
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 2.0, phone, until=lambda: "CallAnswered" in phone.kinds())
    timer, phone_refreshes = phone.ua.dialogs[phone.call_id].extra["session"]
    assert timer.interval == 90 and not phone_refreshes  # our 200 imposed the timer, we refresh
    leg = next(iter(eng.legs.values()))
    run(eng, 100.0, phone)  # past one interval: the phone's own timer would have ended an unrefreshed call
    assert leg.active and "CallEnded" not in phone.kinds()
    phone.close()  # the phone vanishes: no answer to the next refresh, and the session runs out
    seen["until"] = run(eng, 200.0, until=lambda: not eng.legs)
    assert seen["until"]
    assert leg.cause == C.RECOVERY_ON_TIMER_EXPIRY  # the unanswered refresh ended it (RFC 3398: 408 -> 102)
    assert eng.leaks() == []
