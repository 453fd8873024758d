"""SRTP on SIP legs ([sip] srtp): SDES keys (RFC 4568) in the offer and answer, the packet row opened with the
far end's key, plain RTP refused with 488 when SRTP is required. Judged by our own user agent over loopback,
which decrypts what it hears with the key the engine's answer gave it (so audio heard proves the keys)."""
import pytest

from engine_sip_rig import Phone, dial_and_talk, offer_of, run, secure_offer_of
from pycallcenter.errors import ConfigError
from test_sip_engine import _tone, rig  # noqa: F401 - the fixture is shared


def _audio_m(events, kind):
    ev = next(e for e in events if type(e).__name__ == kind)
    sd = ev.answer if kind == "CallAnswered" else ev.offer
    return next(m for m in sd.media if m.media == "audio")


def _prompt_and_digits(eng):
    seen = {}

    async def script(call):
        await call.answer()
        await call.play(_tone())
        got = await call.collect(max_digits=1, terminator="", first_timeout=5.0)
        seen["digits"] = got.digits
        await call.wait(30.0)

    eng.router = lambda leg: script
    return seen


@pytest.mark.parametrize("proto_policy", ["require", "offer"])
def test_an_srtp_caller_is_answered_with_our_key_hears_the_prompt_and_its_digits_arrive(rig, proto_policy):
    build, keep = rig
    eng, trunk = build(srtp="offer")
    seen = _prompt_and_digits(eng)
    phone = Phone("2025550100")
    keep(phone)
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000, sdp=secure_offer_of(phone, proto_policy))
    assert run(eng, 3.0, phone, until=lambda: "CallAnswered" in phone.kinds())
    m = _audio_m(phone.events, "CallAnswered")
    assert m.proto == ("RTP/SAVP" if proto_policy == "require" else "RTP/AVP")
    assert len(m.crypto) == 1 and m.crypto[0].tag == 1 and m.crypto[0].suite == "AES_CM_128_HMAC_SHA1_80"
    assert phone.srtp is not None
    run(eng, 1.2, phone)
    assert phone.loud_ms() >= 800  # the prompt, decrypted with the key of the engine's answer
    leg = next(iter(eng.legs.values()))
    assert eng.packet.stats(leg.row)["srtp"] == "AES_CM_128_HMAC_SHA1_80"
    phone.press("5")  # RFC 4733 events inside SRTP
    run(eng, 1.5, phone, until=lambda: "digits" in seen)
    assert seen["digits"] == "5"
    assert eng.packet.stats(leg.row)["srtp_failed"] == 0
    assert trunk.status()["srtp_calls"] == 1
    phone.hang_up(eng.now / 8000)
    run(eng, 1.0, phone, until=lambda: not eng.legs)
    assert not eng.legs and eng.leaks() == []


def test_a_plain_caller_is_answered_plainly_under_offer(rig):
    build, keep = rig
    eng, trunk = build(srtp="offer")
    _prompt_and_digits(eng)
    phone = Phone("2025550100")
    keep(phone)
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000, sdp=offer_of(phone))
    assert run(eng, 3.0, phone, until=lambda: "CallAnswered" in phone.kinds())
    m = _audio_m(phone.events, "CallAnswered")
    assert m.proto == "RTP/AVP" and m.crypto == []
    run(eng, 1.2, phone)
    assert phone.loud_ms() >= 800
    assert trunk.status()["srtp_calls"] == 0
    phone.hang_up(eng.now / 8000)
    run(eng, 1.0, phone, until=lambda: not eng.legs)
    assert not eng.legs and eng.leaks() == []


@pytest.mark.parametrize("policy, secure", [("require", False), ("off", True)])
def test_an_offer_the_policy_refuses_is_488_and_makes_no_leg(rig, policy, secure):
    build, keep = rig
    eng, trunk = build(srtp=policy)
    _prompt_and_digits(eng)
    phone = Phone("2025550100")
    keep(phone)
    sdp = secure_offer_of(phone) if secure else offer_of(phone)
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000, sdp=sdp)
    assert run(eng, 2.0, phone, until=lambda: "CallFailed" in phone.kinds())
    failed = next(e for e in phone.events if type(e).__name__ == "CallFailed")
    assert failed.status == 488
    assert not eng.legs and eng.leaks() == []


def _dial_phone(eng, trunk, phone):
    phone.register(trunk.address, eng.now / 8000)
    assert run(eng, 2.0, phone, until=lambda: "Registered" in phone.kinds())
    outcome = {}
    dial_and_talk(eng, "sip/agent1", phone, outcome)
    run(eng, 3.0, phone, until=lambda: "dial" in outcome)
    run(eng, 3.0, phone, until=lambda: not eng.legs)
    return outcome


def test_the_engine_calls_a_phone_with_srtp_required_and_talks_both_ways_encrypted(rig):
    build, keep = rig
    eng, trunk = build(accounts={"agent1": "s3cret"}, guests=False, srtp="require")
    phone = Phone("agent1", auth=("agent1", "s3cret"), srtp="offer")
    keep(phone)
    outcome = _dial_phone(eng, trunk, phone)
    assert outcome["dial"] == "answered" and outcome["srtp"] == "AES_CM_128_HMAC_SHA1_80"
    offer = _audio_m(phone.events, "IncomingCall")
    assert offer.proto == "RTP/SAVP" and len(offer.crypto) == 1
    assert phone.loud_ms() >= 600 and outcome["level"] > 2000  # both ways, through both keys
    assert not eng.legs and eng.leaks() == []


def test_a_best_effort_offer_to_a_plain_phone_falls_back_to_rtp(rig):
    build, keep = rig
    eng, trunk = build(accounts={"agent1": "s3cret"}, guests=False, srtp="offer")
    phone = Phone("agent1", auth=("agent1", "s3cret"))
    keep(phone)
    outcome = _dial_phone(eng, trunk, phone)
    offer = _audio_m(phone.events, "IncomingCall")
    assert offer.proto == "RTP/AVP" and len(offer.crypto) == 1  # our key offered, the answer declined it
    assert outcome["dial"] == "answered" and outcome["srtp"] is None
    assert phone.loud_ms() >= 600 and outcome["level"] > 2000


def test_a_required_call_whose_answer_has_no_key_is_cleared(rig):
    build, keep = rig
    eng, trunk = build(accounts={"agent1": "s3cret"}, guests=False, srtp="require")
    phone = Phone("agent1", auth=("agent1", "s3cret"))
    phone.ua.srtp = "offer"  # takes our RTP/SAVP offer but (a broken phone) answers without its key
    keep(phone)
    outcome = _dial_phone(eng, trunk, phone)
    assert outcome.get("dial") != "answered"
    assert not eng.legs and eng.leaks() == []


def test_an_unknown_policy_is_a_config_error(rig):
    build, _ = rig
    with pytest.raises(ConfigError, match="sip.srtp"):
        build(srtp="maybe")
