"""SIP legs in the engine: a SipTrunk on packet rows, judged by our own user agent over loopback sockets.

A phone calls in and a script runs on the leg like on any other: it hears the prompt (energy on its RTP),
its RFC 4733 and in-band digits reach the script, and BYE (either way) ends the leg with the right cause.
The engine places calls to registered phones and to trunks; statuses and causes map both ways."""
import numpy as np
import pytest

from engine_rig import PRI
from engine_sip_rig import Phone, dial_and_talk, free_rtp_range, power_at, run, tone
from pycallcenter import ivr
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.engine import call as C
from pycallcenter.engine.engine import Engine
from pycallcenter.engine.sip import Peer, SipTrunk
from pycallcenter.sip import ua as U


_tone = tone


@pytest.fixture
def rig():
    """An engine on an emulated E1 board with 4 packet rows and a SipTrunk on loopback; closed afterwards."""
    made = []

    def build(**kw):
        board = open_board(parse_config(PRI.format(seed=1)))
        eng = Engine(board, tone_plan="etsi", packet_rows=4, rtp_ports=free_rtp_range())
        kw.setdefault("guests", True)
        trunk = eng.add(SipTrunk(eng, listen=("127.0.0.1", 0), **kw))
        made.append((eng, trunk))
        return eng, trunk

    phones = []
    yield build, phones.append
    for eng, trunk in made:
        eng.shutdown()
        trunk.close()
    for p in phones:
        p.close()


def test_a_sip_caller_reaches_the_script_hears_the_prompt_and_its_digits_drive_it(rig):
    build, keep = rig
    eng, trunk = build()
    seen = {}

    async def script(call):
        seen["who"] = (call.caller, call.called, call.leg.tech)
        await call.answer()
        await call.play(_tone())
        got = await call.collect(max_digits=2, terminator="", first_timeout=5.0)
        seen["digits"] = got.digits
        await call.wait(30.0)

    eng.router = lambda leg: script
    phone = Phone("2025550100")
    keep(phone)
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 3.0, phone, until=lambda: "CallAnswered" in phone.kinds())
    assert seen["who"] == ("2025550100", "100", "sip")
    run(eng, 1.2, phone)
    assert phone.loud_ms() >= 800  # the prompt came back over RTP
    phone.press("4")  # RFC 4733
    run(eng, 0.6, phone)
    phone.press("7", inband=True)
    run(eng, 1.0, phone, until=lambda: "digits" in seen)
    assert seen["digits"] == "47"
    leg = next(iter(eng.legs.values()))
    phone.hang_up(eng.now / 8000, reason="Q.850;cause=16")
    run(eng, 1.0, phone, until=lambda: not eng.legs)
    assert not eng.legs and not eng.calls
    assert leg.cause == C.NORMAL_CLEARING
    assert "CallEnded" in phone.kinds()
    assert sum(1 for line in eng.log_lines if " call_ended " in line) == 1
    assert eng.leaks() == []


def test_the_script_hanging_up_sends_bye_with_the_cause_and_a_refusal_maps_to_a_status(rig):
    build, keep = rig
    eng, trunk = build()

    async def answer_then_busy(call):
        await call.answer()
        await call.wait(0.5)
        await call.hangup(C.NORMAL_CLEARING)

    async def refuse(call):
        await call.hangup(C.USER_BUSY)

    scripts = iter([answer_then_busy, refuse])
    eng.router = lambda leg: next(scripts)
    a, b = Phone("a"), Phone("b")
    keep(a), keep(b)
    a.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    run(eng, 2.0, a, until=lambda: "CallEnded" in a.kinds())
    assert a.kinds()[-1] == "CallEnded" and a.events[-1].by == "remote"
    assert "cause=16" in (a.events[-1].reason or "")
    b.call("sip:200@127.0.0.1", trunk.address, eng.now / 8000)
    run(eng, 2.0, b, until=lambda: "CallFailed" in b.kinds())
    failed = b.events[-1]
    assert isinstance(failed, U.CallFailed) and failed.status == 486  # 17 user busy -> 486 (RFC 3398)
    assert "cause=17" in (failed.reason or "")
    assert not eng.legs and trunk.sessions == {}


def test_no_free_row_is_503_and_the_caller_cancelling_ends_the_leg(rig):
    build, keep = rig
    eng, trunk = build()

    async def ring_forever(call):
        await call.wait(60.0)

    eng.router = lambda leg: ring_forever
    phones = [Phone(f"p{i}") for i in range(5)]
    for p in phones:
        keep(p)
        p.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    run(eng, 1.0, *phones, until=lambda: any("CallFailed" in p.kinds() for p in phones))
    refused = [p for p in phones if "CallFailed" in p.kinds()]
    assert len(refused) == 1 and refused[0].events[-1].status == 503
    assert len(eng.legs) == 4
    ringing = [p for p in phones if p is not refused[0]]
    for p in ringing:
        p.hang_up(eng.now / 8000)  # CANCEL while the centre has not answered
    run(eng, 2.0, *phones, until=lambda: not eng.legs)
    assert not eng.legs
    assert all("CallFailed" in p.kinds() and p.events[-1].status == 487 for p in ringing)
    assert eng.packet.leaks() == []


def test_a_call_refused_by_overload_control_gets_503_with_retry_after(rig):
    from pycallcenter.engine.admission import Admission

    build, keep = rig
    eng, trunk = build()
    eng.admission = Admission(max_calls=0)  # every incoming call is beyond capacity: cause 34
    eng.router = lambda leg: pytest.fail("a refused call reached the router")
    phone = Phone("p")
    keep(phone)
    heard = []
    receive = phone.ua.receive
    phone.ua.receive = lambda data, *a, **kw: (heard.append(bytes(data)), receive(data, *a, **kw))[1]
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    run(eng, 1.0, phone, until=lambda: "CallFailed" in phone.kinds())
    assert phone.events[-1].status == 503 and "cause=34" in (phone.events[-1].reason or "")
    final = next(m for m in heard if m.startswith(b"SIP/2.0 503"))
    assert b"\r\nRetry-After: 5\r\n" in final
    assert eng.admission.refused["capacity"] == 1 and not eng.legs


def test_the_engine_calls_a_registered_phone_which_answers_and_talks_both_ways(rig):
    build, keep = rig
    eng, trunk = build(accounts={"agent1": "s3cret"}, guests=False)
    phone = Phone("agent1", auth=("agent1", "s3cret"))
    keep(phone)
    phone.register(trunk.address, eng.now / 8000)
    assert run(eng, 2.0, phone, until=lambda: "Registered" in phone.kinds())
    outcome = {}
    dial_and_talk(eng, "sip/agent1", phone, outcome)
    assert run(eng, 3.0, phone, until=lambda: "dial" in outcome)
    assert outcome["dial"] == "answered"
    run(eng, 3.0, phone, until=lambda: not eng.legs)
    assert outcome["leg"] == ("sip", "agent1", "out")
    assert phone.loud_ms() >= 600  # the engine's tone reached the phone
    assert outcome["level"] > 2000  # and the phone's tone reached the engine
    assert "CallEnded" in phone.kinds() and not eng.legs


def test_an_unregistered_phone_and_an_unknown_trunk_fail_with_their_causes(rig):
    build, _ = rig
    eng, trunk = build(accounts={"agent2": "x"})
    results = {}

    async def dialler():
        results["phone"] = await ivr.dial(eng, "sip/agent2", timeout=5)
        results["trunk"] = await ivr.dial(eng, "sip/nowhere/123", timeout=5)

    _start(eng, dialler)
    eng.run(seconds=0.5)
    assert results["phone"].cause == 20  # subscriber absent: a known account with no registration
    assert results["trunk"].cause == C.UNALLOCATED_NUMBER
    assert eng.packet.leaks() == []


def test_a_trunk_call_out_maps_the_far_end_status_to_the_cause(rig):
    build, keep = rig
    far = Phone("carrier", answer_after=None)
    keep(far)
    eng, trunk = build(peers=[Peer("carrier", "127.0.0.1", far.addr[1], prefix="9", strip=1)])
    results = []

    async def dialler():
        for _ in range(2):
            results.append(await ivr.dial(eng, "sip/carrier/05551234", timeout=5))

    _start(eng, dialler)
    run(eng, 1.0, far, until=lambda: "IncomingCall" in far.kinds())
    invite = far.events[-1].request
    assert invite.uri.user == "95551234"  # strip 1, then prefix 9
    far._run(far.ua.reject(far.call_id, 486, eng.now / 8000))
    run(eng, 1.0, far, until=lambda: results)
    assert results[0].cause == C.USER_BUSY
    run(eng, 1.0, far, until=lambda: far.kinds().count("IncomingCall") == 2)
    far._run(far.ua.reject(far.call_id, 404, eng.now / 8000, reason="Q.850;cause=1"))
    run(eng, 1.0, far, until=lambda: len(results) == 2)
    assert results[1].cause == C.UNALLOCATED_NUMBER


def _start(eng, script):
    """Run a coroutine outside any call, as a dialler does; it dials with pycallcenter.ivr.dial."""
    return eng.scheduler.spawn(script(), "dialler", eng.now)


def test_hold_and_resume_by_re_invite_stop_and_restart_our_audio(rig):
    build, keep = rig
    eng, trunk = build()

    async def music(call):
        await call.answer()
        await call.play(_tone(500, 30.0))

    eng.router = lambda leg: music
    phone = Phone("a")
    keep(phone)
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 2.0, phone, until=lambda: "CallAnswered" in phone.kinds())
    run(eng, 0.5, phone)
    row = next(iter(trunk.sessions.values())).row
    phone._run(phone.ua.hold(phone.call_id, eng.now / 8000))  # sendonly: we must stop sending
    run(eng, 0.5, phone)
    sent = eng.packet.stats(row)["packets_out"]
    run(eng, 1.0, phone)
    assert eng.packet.stats(row)["packets_out"] == sent
    assert any(" sip_reinvite " in line and "direction=recvonly" in line for line in eng.log_lines)
    phone._run(phone.ua.resume(phone.call_id, eng.now / 8000))
    run(eng, 1.0, phone)
    assert eng.packet.stats(row)["packets_out"] >= sent + 40
    phone.hang_up(eng.now / 8000)
    assert run(eng, 1.0, phone, until=lambda: not eng.legs)


def test_a_trunk_with_register_registers_to_its_carrier(rig):
    build, keep = rig
    carrier = Phone("carrier")
    keep(carrier)
    carrier.ua = U.UserAgent(carrier.addr, user="carrier", credentials={"centre": "pw"}.get, realm="carrier")
    eng, trunk = build(peers=[Peer("carrier", "127.0.0.1", carrier.addr[1], username="centre", password="pw",
                                   register=True, register_expires=600)])
    assert run(eng, 2.0, carrier, until=lambda: any(" sip_registered " in line for line in eng.log_lines))
    assert carrier.ua.registrar.lookup("centre")  # after a digest challenge answered with the trunk's password
    assert carrier.ua.stats["auth_failed"] == 0


def test_a_call_ringing_past_ring_seconds_is_cancelled_with_no_answer(rig):
    build, keep = rig
    far = Phone("desk", answer_after=None)
    keep(far)
    eng, trunk = build(peers=[Peer("desk", "127.0.0.1", far.addr[1])], ring_seconds=1.0)
    results = []

    async def dialler():
        results.append(await ivr.dial(eng, "sip/desk/2001", timeout=10))

    _start(eng, dialler)
    assert run(eng, 1.0, far, until=lambda: "IncomingCall" in far.kinds())
    far._run(far.ua.ring(far.call_id, eng.now / 8000))
    assert run(eng, 3.0, far, until=lambda: results)
    assert results[0].cause == C.NO_ANSWER
    run(eng, 0.5, far)
    assert "CallCancelled" in far.kinds()  # the INVITE was cancelled, answered 487
    assert not eng.legs and trunk.sessions == {}


def test_key_presses_sent_by_info_reach_the_script(rig):
    build, keep = rig
    eng, trunk = build()
    seen = {}

    async def script(call):
        await call.answer()
        got = await call.collect(max_digits=2, terminator="", first_timeout=5.0)
        seen["digits"] = got.digits

    eng.router = lambda leg: script
    phone = Phone("a")
    keep(phone)
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 2.0, phone, until=lambda: "CallAnswered" in phone.kinds())
    run(eng, 0.2, phone)
    phone._run(phone.ua.info(phone.call_id, "application/dtmf-relay", b"Signal=9\r\nDuration=160\r\n", eng.now / 8000))
    run(eng, 0.2, phone)
    phone._run(phone.ua.info(phone.call_id, "application/dtmf", b"3", eng.now / 8000))
    phone._run(phone.ua.info(phone.call_id, "text/plain", b"Signal=1", eng.now / 8000))  # not a key press
    assert run(eng, 2.0, phone, until=lambda: "digits" in seen)
    assert seen["digits"] == "93"
    assert run(eng, 2.0, phone, until=lambda: not eng.legs)


def test_garbage_and_malformed_requests_get_an_answer_or_a_drop_never_a_leg_or_a_crash(rig):
    import socket

    build, keep = rig
    eng, trunk = build()
    eng.router = lambda leg: pytest.fail("no call should reach the router")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2.0)
    try:
        for junk in (b"", b"\x00\xff" * 700, b"INVITE\r\n\r\n", b"SIP/2.0 200 OK\r\n\r\n"):
            s.sendto(junk, trunk.address)
        bad_sdp = (b"INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKx1\r\n"
                   b"Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:100@127.0.0.1>\r\n"
                   b"Call-ID: bad-sdp\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1>\r\n"
                   b"Content-Type: application/sdp\r\nContent-Length: 8\r\n\r\nv=0\r\nxyz" % s.getsockname()[1])
        s.sendto(bad_sdp, trunk.address)
        run(eng, 0.5)
        replies = []
        s.setblocking(False)
        while True:
            try:
                replies.append(s.recv(65535).split(b"\r\n", 1)[0])
            except BlockingIOError:
                break
    finally:
        s.close()
    assert b"SIP/2.0 400 Bad SDP" in replies  # the INVITE with a broken offer is refused
    assert not eng.legs and trunk.sessions == {} and eng.packet.leaks() == []
    assert trunk.stats["datagrams"] == 5


def test_without_guests_or_accounts_only_a_trunks_address_may_call(rig):
    build, keep = rig
    eng, trunk = build(guests=False)
    eng.router = lambda leg: pytest.fail("no call should reach the router")
    phone = Phone("stranger")
    keep(phone)
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 2.0, phone, until=lambda: "CallFailed" in phone.kinds())
    assert phone.events[-1].status == 403 and "cause=21" in (phone.events[-1].reason or "")
    assert not eng.legs and eng.packet.leaks() == []



HEARS, SILENT = 1e12, 1e11  # one-bin power: a tone heard at about its level is ~1.4e15; G.711 residue stays under 1e11


def _heard(phone, start, freq):
    """Return the power at freq in what the phone heard since its heard-list index start."""
    return power_at(np.concatenate(phone.heard[start:]), freq) if len(phone.heard) > start else 0.0


def test_conference_and_listen_whisper_barge_work_on_sip_legs_unchanged(rig):
    """Three SIP phones in the engine: a conference lets each hear the other two; a supervisor on a SIP phone
    listens (hears caller and agent, heard by nobody), whispers (heard by the agent only) and barges (heard by
    both) through the same media-plane links as board rows."""
    build, keep = rig
    eng, trunk = build()

    async def hold_on(call):
        await call.answer()
        await call.wait(60.0)

    eng.router = lambda leg: hold_on
    freqs = {"caller": 700.0, "agent": 1100.0, "boss": 1500.0}
    phones = {}
    for name in freqs:
        phones[name] = p = Phone(name)
        keep(p)
        p.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
        assert run(eng, 3.0, p, until=lambda: "CallAnswered" in p.kinds())
    legs = {leg.caller: leg for leg in eng.legs.values()}

    def talk(seconds=1.2):
        """Every phone says its tone; return {listener: {talker: power heard}}."""
        start = {n: len(p.heard) for n, p in phones.items()}
        for n, p in phones.items():
            p.say(tone(freqs[n], seconds))
        run(eng, seconds + 0.4, *phones.values())
        return {n: {t: _heard(p, start[n], f) for t, f in freqs.items() if t != n} for n, p in phones.items()}

    got = talk(0.6)  # not joined yet: nobody hears anybody
    assert all(v < SILENT for heard in got.values() for v in heard.values()), got

    eng.conference([legs["caller"], legs["agent"], legs["boss"]])
    got = talk()
    assert all(v > HEARS for heard in got.values() for v in heard.values()), got  # each hears both others
    for leg in legs.values():  # undo the conference
        eng.media.isolate(leg.row)

    eng.bridge(legs["caller"], legs["agent"])
    for mode, boss_heard_by in (("listen", set()), ("whisper", {"agent"}), ("barge", {"agent", "caller"})):
        eng.monitor(legs["boss"], legs["agent"], mode)
        got = talk()
        assert got["boss"]["caller"] > HEARS and got["boss"]["agent"] > HEARS, (mode, got)
        assert got["caller"]["agent"] > HEARS and got["agent"]["caller"] > HEARS, (mode, got)
        for who in ("caller", "agent"):
            heard = got[who]["boss"]
            assert heard > HEARS if who in boss_heard_by else heard < SILENT, (mode, who, got)
        eng.media.isolate(legs["boss"].row)
    for p in phones.values():
        p.hang_up(eng.now / 8000)
    assert run(eng, 2.0, *phones.values(), until=lambda: not eng.legs)
    assert eng.leaks() == []
