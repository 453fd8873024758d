"""G.722 on SIP legs: [sip] codecs (typed, checked against what is installed), offers in its order, answers
per RFC 3264, and calls both ways between the engine and a wideband phone that offers only G.722."""
import numpy as np
import pytest

from engine_rig import PRI
from engine_sip_rig import free_rtp_range, run, tone
from g722_phone import G722Phone, power_at, wide_tone
from test_sip_engine import rig  # noqa: F401 - the SIP engine tests' rig: (engine, SipTrunk) with guests
from pycallcenter import ivr
from pycallcenter.apps.settings import load_text
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.engine.engine import Engine
from pycallcenter.engine.sip import SipTrunk
from pycallcenter.errors import ConfigError
from pycallcenter.media import g722
from pycallcenter.sip import sdp as S

needs_g722 = pytest.mark.skipif(not g722.AVAILABLE, reason="the g722 extra (G722 package) is not installed")


# ---- the key -------------------------------------------------------------------------------------------

def _centre(codecs_line):
    return load_text(f"[sip]\nchannels = 2\n{codecs_line}\n", file="c.toml")[1]


def test_codecs_default_to_g711_and_take_g722_when_installed(monkeypatch):
    assert _centre("").sip.codecs == ["PCMU", "PCMA"]
    monkeypatch.setattr(g722, "AVAILABLE", True)
    assert _centre('codecs = ["G722", "PCMU"]').sip.codecs == ["G722", "PCMU"]


@pytest.mark.parametrize("line, where", [
    ('codecs = ["G729"]', "c.toml:3: sip.codecs[1]: must be one of 'PCMU', 'PCMA', 'G722'"),
    ('codecs = []', "c.toml:3: sip.codecs: must name each of PCMU, PCMA, G722 at most once, and at least one"),
    ('codecs = ["PCMU", "PCMU"]', "c.toml:3: sip.codecs: must name each"),
    ('codecs = ["PCMU", "G722"]', "c.toml:3: sip.codecs: G.722 needs the G722 package: install the g722 extra"),
])
def test_a_wrong_codecs_value_is_one_line_naming_the_key(monkeypatch, line, where):
    monkeypatch.setattr(g722, "AVAILABLE", False)  # as on a machine without the extra
    with pytest.raises(ConfigError) as err:
        _centre(line)
    assert where in str(err.value) and "\n" not in str(err.value)


def test_the_adapter_refuses_g722_without_the_package_naming_the_key(monkeypatch):
    board = open_board(parse_config(PRI.format(seed=1)))
    eng = Engine(board, packet_rows=1, rtp_ports=free_rtp_range())
    monkeypatch.setattr(g722, "AVAILABLE", False)
    with pytest.raises(ConfigError, match=r"^sip\.codecs: G\.722 needs the G722 package"):
        SipTrunk(eng, listen=("127.0.0.1", 0), codecs=["G722"])
    with pytest.raises(ConfigError, match=r"^sip\.codecs: G729: name one or more of PCMU, PCMA, G722"):
        SipTrunk(eng, listen=("127.0.0.1", 0), codecs=["G729"])
    eng.shutdown()


# ---- offer and answer ----------------------------------------------------------------------------------

def test_offers_follow_the_preference_and_g722_keeps_an_8000_clock():
    offer = S.parse_sdp(S.make_offer("192.0.2.1", 5004, S.codecs_named(["G722", "PCMU"])).encode())
    m = offer.media[0]
    assert m.formats == ["9", "0", "101", "13"]
    assert m.rtpmap[9] == ("G722", 8000)  # RFC 3551 4.5.2: 8000 although G.722 samples at 16 kHz
    assert S.negotiated(offer) == (9, "G722")


def test_answers_keep_the_offerers_order_among_the_codecs_we_take():
    offer = S.make_offer("192.0.2.1", 5004, S.codecs_named(["G722", "PCMA", "PCMU"]))
    ours = S.codecs_named(["PCMU", "G722"])
    ans = S.answer(offer, "192.0.2.9", 7000, ours)
    assert ans.media[0].formats == ["9", "0", "101", "13"]  # RFC 3264 6.1: the offer's order, PCMA left out
    assert S.negotiated(ans) == (9, "G722")
    g711_only = S.answer(offer, "192.0.2.9", 7000, S.codecs_named(["PCMU"]))
    assert S.negotiated(g711_only) == (0, "PCMU")
    # what a row opens with for an offer: its first codec among those we take, the one our answer puts first
    assert S.negotiated(offer, frozenset({"PCMU"})) == (0, "PCMU")
    g722_only = S.make_offer("192.0.2.1", 5004, S.codecs_named(["G722"]))
    assert S.answer(g722_only, "192.0.2.9", 7000, S.codecs_named(["PCMU", "PCMA"])).media[0].port == 0


# ---- calls ---------------------------------------------------------------------------------------------

@needs_g722
def test_a_g722_only_phone_calls_in_hears_the_prompt_and_is_heard_and_its_digit_drives_the_script(rig):
    build, keep = rig
    eng, trunk = build(codecs=["PCMU", "PCMA", "G722"])
    seen = {}

    async def script(call):
        await call.answer()
        seen["law"] = eng.packet._rows[call.leg.row].law
        await call.play(tone(600, 1.5))
        heard = []
        for _ in range(40):
            await call.wait(0.02)
            heard.append(eng.media.rx[call.leg.row].copy())
        seen["heard"] = np.concatenate(heard)
        got = await call.collect(max_digits=1, terminator="", first_timeout=5.0)
        seen["digits"] = got.digits
        await call.hangup()

    eng.router = lambda leg: script
    phone = G722Phone("2025550100")
    keep(phone)
    phone.say_wide(wide_tone(1100, 4.0) + wide_tone(5500, 4.0, amp=4000))  # 5.5 kHz: the band an 8 kHz engine drops
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 3.0, phone, until=lambda: "CallAnswered" in phone.kinds())
    answer = next(e for e in phone.events if type(e).__name__ == "CallAnswered").answer
    assert answer.media[0].formats[0] == "9" and S.negotiated(answer) == (9, "G722")
    assert run(eng, 3.0, phone, until=lambda: "heard" in seen)
    assert seen["law"] == "g722"
    by_engine = seen["heard"]
    assert power_at(by_engine, 1100, 8000) > 100 * power_at(by_engine, 600, 8000)  # the phone's tone, not ours
    by_phone = phone.wide_audio()
    assert power_at(by_phone, 600) > 100 * power_at(by_phone, 1700)  # the prompt, decoded at 16 kHz
    assert power_at(by_phone, 600) > 100 * power_at(by_phone, 4500)  # our upper band is empty
    assert phone.payload_types <= {9, 101}
    phone.press("6")
    assert run(eng, 3.0, phone, until=lambda: not eng.legs)
    assert seen["digits"] == "6"
    assert eng.leaks() == []


@needs_g722
def test_the_engine_calls_a_g722_only_phone_registered_here_and_tones_cross(rig):
    build, keep = rig
    eng, trunk = build(codecs=["G722", "PCMU"], accounts={"desk": "pw"})
    phone = G722Phone("desk", auth=("desk", "pw"), answer_after=0.0)
    keep(phone)
    phone.register(trunk.address, eng.now / 8000)
    assert run(eng, 2.0, phone, until=lambda: bool(trunk.ua.registrar.lookup("desk")))
    phone.say_wide(wide_tone(1300, 5.0))
    outcome = {}

    async def dialler():
        got = await ivr.dial(eng, "sip/desk", timeout=5)
        outcome["dial"] = got.outcome
        if got.outcome == "answered":
            outcome["law"] = eng.packet._rows[got.leg.row].law
            eng.media.play(got.leg.row, [tone(800, 1.0)])
            heard = []
            for _ in range(50):
                await ivr.wait(eng, 0.02)
                heard.append(eng.media.rx[got.leg.row].copy())
            outcome["heard"] = np.concatenate(heard)
            got.leg.hangup()

    eng.scheduler.spawn(dialler(), "dialler", eng.now)
    assert run(eng, 5.0, phone, until=lambda: "heard" in outcome and not eng.legs)
    invite = next(e for e in phone.events if type(e).__name__ == "IncomingCall")
    assert invite.offer.media[0].formats[:2] == ["9", "0"]  # our preference, G.722 first
    assert outcome["dial"] == "answered" and outcome["law"] == "g722"
    assert power_at(outcome["heard"], 1300, 8000) > 100 * power_at(outcome["heard"], 800, 8000)
    by_phone = phone.wide_audio()
    assert power_at(by_phone, 800) > 100 * power_at(by_phone, 1700)


@needs_g722
def test_a_g722_only_offer_to_a_g711_centre_is_refused_with_488(rig):
    build, keep = rig
    eng, trunk = build()
    phone = G722Phone("2025550100")
    keep(phone)
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 2.0, phone, until=lambda: "CallFailed" in phone.kinds())
    assert next(e for e in phone.events if type(e).__name__ == "CallFailed").status == 488
    assert not eng.legs and eng.leaks() == []


def _talking(rig, codecs, phone_codecs, says):
    """Return (engine, phone, row) of a call the phone (offering phone_codecs, saying says at 16 kHz) placed
    to a centre with codecs whose script answers and plays 600 Hz; answered."""
    build, keep = rig
    eng, trunk = build(codecs=codecs)
    seen = {}

    async def script(call):
        await call.answer()
        seen["row"] = call.leg.row
        await call.play(tone(600, 30.0))

    eng.router = lambda leg: script
    phone = G722Phone("2025550100", codecs=phone_codecs)
    keep(phone)
    phone.say_wide(says)
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 3.0, phone, until=lambda: "CallAnswered" in phone.kinds())
    return eng, phone, eng.packet._rows[seen["row"]]


@needs_g722
def test_a_phone_moving_its_call_from_g711_to_g722_by_update_is_heard_in_g722(rig):
    """A call taken in PCMU (the caller's first codec) moves to G.722 when the phone's UPDATE offers only
    G.722: the row's codec follows, and both ways carry G.722 from then on."""
    eng, phone, row = _talking(rig, ["PCMU", "G722"], ("PCMU", "G722"), wide_tone(1100, 10.0))
    assert row.law == "ulaw" and row.pt == 0
    offer = S.make_offer("127.0.0.1", phone.rtp.getsockname()[1], S.codecs_named(["G722"]), version=2)
    phone._run(phone.ua.update(phone.call_id, eng.now / 8000, sdp=offer))
    assert run(eng, 2.0, phone, until=lambda: row.law == "g722")
    mark = len(phone.heard_wide)
    heard = []
    for _ in range(60):
        run(eng, 0.02, phone)
        heard.append(eng.media.rx[row.row].copy())
    by_engine = np.concatenate(heard[20:])
    assert row.pt == 9 and power_at(by_engine, 1100, 8000) > 100 * power_at(by_engine, 600, 8000)
    by_phone = np.concatenate(phone.heard_wide[mark + 5:])
    assert power_at(by_phone, 600) > 100 * power_at(by_phone, 1700)
    phone.hang_up(eng.now / 8000)
    assert run(eng, 1.0, phone, until=lambda: not eng.legs)


@needs_g722
def test_a_call_held_and_resumed_by_the_phones_update_decodes_afresh_without_a_burst(rig):
    """The phone holds the call with an inactive UPDATE and sends nothing, then resumes it with sendrecv and
    sends again from a restarted encoder (same SSRC): the row's decoder starts afresh with it, so the first
    audio after the hold is the phone's new tone at its level, with no burst from the state before the hold
    (the kept decoder peaks near full scale here)."""
    from G722 import G722

    eng, phone, row = _talking(rig, ["G722"], ("G722",), wide_tone(400, 30.0, amp=12000))
    run(eng, 0.5, phone)
    port = phone.rtp.getsockname()[1]
    hold = S.make_offer("127.0.0.1", port, S.codecs_named(["G722"]), direction="inactive", version=2)
    phone._run(phone.ua.update(phone.call_id, eng.now / 8000, sdp=hold))
    phone._send_frame = lambda: None  # held: the phone sends nothing
    assert run(eng, 2.0, phone, until=lambda: row.direction == "inactive")
    run(eng, 0.3, phone)
    resume = S.make_offer("127.0.0.1", port, S.codecs_named(["G722"]), version=3)
    phone._run(phone.ua.update(phone.call_id, eng.now / 8000, sdp=resume))
    assert run(eng, 2.0, phone, until=lambda: row.direction == "sendrecv")
    del phone._send_frame  # resumed: it sends again, from a restarted encoder (same SSRC)
    phone._enc = G722(16000, 64000)
    phone._wide = wide_tone(1100, 10.0)
    heard = []
    for _ in range(50):  # 1 s from the resume on
        run(eng, 0.02, phone)
        heard.append(eng.media.rx[row.row].copy())
    after = np.concatenate(heard)
    assert power_at(after, 1100, 8000) > 100 * power_at(after, 400, 8000)  # the new stream, not the old one
    assert np.abs(after).max() < 1.5 * 8000  # no burst above the tone's level
    phone.hang_up(eng.now / 8000)
    assert run(eng, 1.0, phone, until=lambda: not eng.legs)
