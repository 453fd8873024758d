"""SRTP on SIP legs ([sip] srtp): SDES keys (RFC 4568) in the offer and answer, the packet row opened with the
far end's key, plain RTP refused with 488 when SRTP is required. Judged by our own user agent over loopback,
which decrypts what it hears with the key the engine's answer gave it (so audio heard proves the keys)."""
import pytest

from engine_sip_rig import Phone, dial_and_talk, offer_of, prompt_and_digits, run, secure_offer_of
from pycallcenter.errors import ConfigError
from test_sip_engine import rig  # noqa: F401 - the fixture is shared


def _audio_m(events, kind):
    ev = next(e for e in events if type(e).__name__ == kind)
    sd = ev.answer if kind == "CallAnswered" else ev.offer
    return next(m for m in sd.media if m.media == "audio")


@pytest.mark.parametrize("proto_policy", ["require", "offer"])
def test_an_srtp_caller_is_answered_with_our_key_hears_the_prompt_and_its_digits_arrive(rig, proto_policy):
    build, keep = rig
    eng, trunk = build(srtp="offer")
    seen = prompt_and_digits(eng)
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
    prompt_and_digits(eng)
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
    prompt_and_digits(eng)
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


def _late_caller(rig, policy, phone_policy="off", user="2025550100"):
    """Return (engine, trunk, what the script saw, phone) after the phone placed a call without SDP to an
    engine under policy; a phone with its own SRTP policy keys the answer its ACK carries."""
    build, keep = rig
    eng, trunk = build(srtp=policy)
    seen = prompt_and_digits(eng)
    phone = Phone(user, srtp=phone_policy)
    keep(phone)
    call_id = phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000, late_offer=True)
    if phone_policy != "off":
        phone.ua.dialogs[call_id].extra["crypto"] = phone.crypto
    return eng, trunk, seen, phone


@pytest.mark.parametrize("policy, proto", [("require", "RTP/SAVP"), ("offer", "RTP/AVP")])
def test_a_late_offer_gets_our_keyed_offer_in_the_200_and_the_acks_answer_keys_the_row(rig, policy, proto):
    """An INVITE without SDP (RFC 3261 13.2.1): our 200 offers with our key (RTP/SAVP under "require", a keyed
    RTP/AVP under "offer"); the phone's answer rides on its ACK with its key, which keys the row: the prompt
    is heard decrypted and the phone's digit arrives through SRTP."""
    eng, trunk, seen, phone = _late_caller(rig, policy, policy)
    assert run(eng, 3.0, phone, until=lambda: "CallConfirmed" in phone.kinds() or "CallAnswered" in phone.kinds())
    offer = next(e for e in phone.events if type(e).__name__ == "CallAnswered").answer  # the 200's offer
    m = next(m for m in offer.media if m.media == "audio")
    assert m.proto == proto and len(m.crypto) == 1 and m.crypto[0].suite == "AES_CM_128_HMAC_SHA1_80"
    run(eng, 1.2, phone)
    assert phone.srtp is not None and phone.loud_ms() >= 800  # the prompt, decrypted with the 200's key
    leg = next(iter(eng.legs.values()))
    assert eng.packet.stats(leg.row)["srtp"] == "AES_CM_128_HMAC_SHA1_80"
    phone.press("6")  # RFC 4733 inside SRTP under the key of the ACK's answer
    run(eng, 1.5, phone, until=lambda: "digits" in seen)
    assert seen["digits"] == "6" and eng.packet.stats(leg.row)["srtp_failed"] == 0
    assert trunk.status()["srtp_calls"] == 1
    phone.hang_up(eng.now / 8000)
    run(eng, 1.0, phone, until=lambda: not eng.legs)
    assert not eng.legs and eng.leaks() == []


def test_a_late_offer_answered_without_a_key_is_cleared_under_require_and_plain_under_offer(rig):
    """A plain phone answers our keyed late offer: under "require" its ACK's answer (which refuses the SAVP
    stream) ends the call with BYE and Reason cause 65; under "offer" (a keyed RTP/AVP offer) it answers
    plain RTP and the prompt is heard in the clear."""
    eng, trunk, _, phone = _late_caller(rig, "require")
    assert run(eng, 3.0, phone, until=lambda: "CallEnded" in phone.kinds())
    ended = phone.events[-1]
    assert ended.by == "remote" and "cause=65" in (ended.reason or "")
    assert run(eng, 1.0, phone, until=lambda: not eng.legs)
    assert any(" sip_late_answer_refused " in line for line in eng.log_lines) and eng.leaks() == []

    eng, trunk, _, plain = _late_caller(rig, "offer", user="2025550101")
    assert run(eng, 3.0, plain, until=lambda: "CallAnswered" in plain.kinds())
    run(eng, 1.2, plain)
    assert plain.srtp is None and plain.loud_ms() >= 800  # plain RTP, as the answer chose
    leg = next(iter(eng.legs.values()))
    assert eng.packet.stats(leg.row)["srtp"] is None and trunk.status()["srtp_calls"] == 0
    plain.hang_up(eng.now / 8000)
    assert run(eng, 1.0, plain, until=lambda: not eng.legs) and eng.leaks() == []
