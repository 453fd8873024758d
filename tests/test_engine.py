"""The call engine on the emulated board: IVR verbs over analog and PRI legs, bridging, errors, determinism."""
import numpy as np
import pytest

from engine_rig import analog_engine, hang_up, pri_engine
from pycallcenter.drivers import EventKind
from pycallcenter.dsp import SAMPLE_RATE, g711
from pycallcenter.dsp.tones import generate
from pycallcenter.engine import call as C


def _tone(freq, seconds, amp=8000):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _dominant_hz(codes):
    x = g711.ulaw_decode(codes).astype(float)
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return np.argmax(spec) * SAMPLE_RATE / x.size


def test_extension_off_hook_gets_dial_tone_then_the_script_collects_digits():
    eng, ends = analog_engine()
    got = []

    async def script(call):
        r = await call.collect(max_digits=5, terminator="#")
        got.append(r)
        await call.hangup()

    eng.router = lambda leg: script
    alice = ends["alice"]
    alice.off_hook()
    eng.run(seconds=1.0)
    heard = alice.read_audio()
    assert 340 < _dominant_hz(heard[-4000:]) < 450  # US dial tone is 350 + 440 Hz
    alice.dial("123#")
    eng.run(seconds=2.0)
    assert got == [("123", "terminator")]
    assert "ended cause=16 leg=L1" in " ".join(eng.log_lines).replace("  ", " ")


@pytest.mark.parametrize(
    "kwargs, typed, expected",
    [
        (dict(max_digits=3, terminator=""), "4567", ("456", "max_digits")),
        (dict(max_digits=9, first_timeout=1.0), "", ("", "first_digit_timeout")),
        (dict(max_digits=9, inter_timeout=1.0), "78", ("78", "inter_digit_timeout")),
        (dict(max_digits=9, terminator="", first_timeout=None, inter_timeout=None, total_timeout=2.0), "9", ("9", "total_timeout")),
        (dict(max_digits=9, first_timeout=None, silence_timeout=1.5), "", ("", "silence")),
    ],
)
def test_collect_reports_the_condition_that_ended_it(kwargs, typed, expected):
    eng, ends = analog_engine()
    got = []

    async def script(call):
        got.append(tuple(await call.collect(**kwargs)))

    eng.router = lambda leg: script
    ends["alice"].off_hook()
    eng.run(seconds=0.5)
    if typed:
        ends["alice"].dial(typed)
    eng.run(seconds=5.0)
    assert got == [expected]


def test_play_with_barge_in_stops_the_prompt_and_keeps_the_digit():
    eng, ends = analog_engine()
    got = []

    async def script(call):
        call.flush_digits()
        digit = await call.play(_tone(1000, 10.0), barge_in="12")
        got.append((digit, call.now))
        got.append(tuple(await call.collect(max_digits=1, terminator="")))

    eng.router = lambda leg: script
    ends["alice"].off_hook()
    eng.run(seconds=0.6)
    ends["alice"].dial("2")
    eng.run(seconds=1.5)
    assert got[0][0] == "2" and got[0][1] < 1.5  # well before the 10 s prompt ended
    assert got[1] == ("2", "max_digits")


def test_pstn_call_with_caller_id_is_answered_and_cleared():
    eng, ends = analog_engine()
    seen = []

    async def script(call):
        seen.append((call.caller, call.caller_name))
        await call.answer()
        await call.play(_tone(600, 1.0))
        await call.hangup()

    eng.router = lambda leg: script
    pstn = ends["pstn3"]
    pstn.call("2025550123", "JANE DOE")
    eng.run(seconds=12.0)
    assert seen == [("2025550123", "JANE DOE")]
    kinds = pstn.event_kinds()
    assert EventKind.OFF_HOOK in kinds and EventKind.ON_HOOK in kinds
    assert kinds.index(EventKind.OFF_HOOK) < kinds.index(EventKind.ON_HOOK)


def test_caller_hanging_up_mid_prompt_ends_the_script_and_the_call():
    eng, ends = analog_engine()
    state = []

    async def script(call):
        try:
            await call.play(_tone(500, 30.0))
        finally:
            state.append(call.leg.state)

    eng.router = lambda leg: script
    ends["alice"].off_hook()
    eng.run(seconds=1.0)
    ends["alice"].on_hook()
    eng.run(seconds=2.0)  # on hook longer than the flash window (1.25 s) is a hang-up
    assert state == [C.ENDED]
    assert not eng.calls and not eng.scheduler.tasks and not eng.media.players


def test_dial_an_extension_rings_it_with_caller_id_and_bridges_audio_both_ways():
    eng, ends = analog_engine()
    result = []

    async def script(call):
        r = await call.dial("channel/2", timeout=20)
        result.append(r.outcome)
        if r.outcome == "answered":
            await call.bridge(r.leg)

    eng.router = lambda leg: script
    alice, bob = ends["alice"], ends["bob"]
    alice.off_hook()
    eng.run(seconds=0.5)
    eng.run(seconds=7.0)
    assert bob.rings >= 1
    bob.off_hook()
    eng.run(seconds=0.5)
    assert result == ["answered"]
    bob.read_audio()
    alice.read_audio()
    alice.write_audio(_tone(700, 1.0))
    bob.write_audio(_tone(1300, 1.0))
    eng.run(seconds=1.0)
    assert abs(_dominant_hz(bob.read_audio()[-4000:]) - 700) < 10
    assert abs(_dominant_hz(alice.read_audio()[-4000:]) - 1300) < 10
    bob.on_hook()
    eng.run(seconds=2.0)  # past the 1.25 s flash window
    assert not any(l.channel == 2 for l in eng.legs.values())


def test_extension_caller_id_between_rings_decodes_at_the_phone():
    from pycallcenter.dsp.callerid import decode_callerid

    eng, ends = analog_engine()
    eng.router = lambda leg: None
    leg = eng.originate("channel/2", caller="5551212", caller_name="FRONT DESK")
    eng.run(seconds=7.0)
    audio = g711.ulaw_decode(ends["bob"].read_audio())
    ids = decode_callerid(audio, "bell202")
    assert [(c.number, c.name) for c in ids] == [("5551212", "FRONT DESK")]
    leg.hangup()
    eng.run(seconds=0.2)
    assert not ends["bob"].ringing


def test_a_script_that_raises_goes_to_the_fallback_and_the_engine_keeps_running():
    eng, ends = analog_engine()
    fallback_ran = []

    async def broken(call):
        await call.wait(0.2)
        raise RuntimeError("bug in the script")

    async def fallback(call):
        fallback_ran.append(call.id)
        await call.play(_tone(440, 0.5))
        await call.hangup()

    eng.router = lambda leg: broken
    eng.fallback = fallback
    ends["alice"].off_hook()
    ends["bob"].off_hook()
    eng.run(seconds=2.0)
    assert fallback_ran == ["C1", "C2"]
    assert [cid for cid, _ in eng.errors] == ["C1", "C2"]
    assert "RuntimeError: bug in the script" in eng.errors[0][1]
    assert "script_error call=C1 error=RuntimeError" in "\n".join(eng.log_lines)


def test_pri_incoming_call_answered_by_script_and_cleared_by_us():
    eng, net = pri_engine()
    seen = []

    async def script(call):
        seen.append((call.caller, call.called, call.leg.channel))
        await call.answer()
        await call.wait(1.0)
        await call.hangup(16)

    eng.router = lambda leg: script
    eng.run(seconds=1.0)
    assert net.kinds() == ["DChannelUp"]
    net.iface.setup(eng.now / SAMPLE_RATE, called="5000", calling="2025550100", channel=5)
    eng.run(seconds=3.0)
    assert seen == [("2025550100", "5000", 5)]
    assert net.kinds() == ["DChannelUp", "Proceeding", "Answered", "Disconnected", "CallEnded"]
    assert net.events[-1].cause == 16


def test_pri_outgoing_calls_report_busy_then_answered():
    from pycallcenter.isdn import call as q

    eng, net = pri_engine()
    eng.run(seconds=1.0)
    answers = iter([("busy", 17), ("answer", None)])

    def network_answers(start):
        s = eng.now / SAMPLE_RATE
        for ev in net.events[start:]:
            if isinstance(ev, q.IncomingCall):
                how, cause = next(answers)
                net.events += net.iface.hangup(ev.call, s, cause) if how == "busy" else net.iface.answer(ev.call, s)

    outcomes = []

    async def script(call):
        for _ in range(2):
            r = await call.dial("pri1/5551234", timeout=10)
            outcomes.append((r.outcome, r.cause))
            if r.outcome == "answered":
                await call.wait(0.5)
                r.leg.hangup()

    # a PSTN caller on the span runs the script, which dials out twice on other B-channels
    eng.router = lambda leg: script
    mark = len(net.events)
    net.iface.setup(eng.now / SAMPLE_RATE, called="5000", calling="2025550100", channel=1)
    for _ in range(300):
        before = len(net.events)
        eng.run(ticks=2)
        if len(net.events) > before:
            network_answers(before)
        if len(outcomes) == 2:
            break
    assert outcomes == [("busy", 17), ("answered", None)]
    eng.run(seconds=1.0)
    # both outgoing calls cleared, and the caller's own when the script returned (it did not hang up)
    assert sum(isinstance(e, q.CallEnded) for e in net.events[mark:]) == 3
    assert not eng.legs and not eng.calls


def _scenario(seed):
    eng, ends = analog_engine(seed)

    async def script(call):
        await call.play(_tone(900, 0.5))
        r = await call.collect(max_digits=4, terminator="#")
        call.set("account", r.digits)
        d = await call.dial("channel/2", timeout=8)
        if d.outcome == "answered":
            await call.bridge(d.leg)

    eng.router = lambda leg: script
    ends["alice"].off_hook()
    eng.run(seconds=0.7)
    ends["alice"].dial("4321")
    eng.run(seconds=8.0)
    ends["bob"].off_hook()
    eng.run(seconds=1.0)
    ends["alice"].on_hook()
    eng.run(seconds=1.0)
    ends["pstn3"].call("2025550199", "SEED TEST")
    eng.run(seconds=12.0)
    return "\n".join(eng.log_lines)


def test_same_config_seed_and_inputs_give_the_same_event_log_byte_for_byte():
    first, second = _scenario(3), _scenario(3)
    assert first == second
    for kind in ("offered", "dtmf", "set", "originate", "bridged", "ended"):
        assert f" {kind} " in first, kind
    assert "caller=2025550199" in first  # caller ID from FSK between rings reached the offered leg


def test_a_per_tick_source_hears_the_row_and_sends_audio():
    eng, ends = analog_engine()
    heard = []

    class Echo:
        def tick(self, rx):
            heard.append(int(np.abs(rx.astype(int)).max()))
            return rx.copy()  # send back what we heard

    async def script(call):
        eng.media.stop_tone(call.leg.row)
        eng.media.attach(call.leg.row, Echo())
        await call.wait(2.0)

    eng.router = lambda leg: script
    alice = ends["alice"]
    alice.off_hook()
    eng.run(seconds=0.3)
    alice.read_audio()
    alice.write_audio(_tone(1100, 1.0))
    eng.run(seconds=1.0)
    assert max(heard) > 5000
    assert abs(_dominant_hz(alice.read_audio()[-4000:]) - 1100) < 10
    alice.on_hook()
    eng.run(seconds=2.0)
    assert not eng.media.sources  # detached when the leg ended


@pytest.mark.parametrize("outage, survives", [(3.0, True), (95.0, False)])
def test_pri_active_call_rides_out_a_short_cable_pull_but_not_one_past_t309(outage, survives):
    eng, net = pri_engine()

    async def script(call):
        await call.answer()
        await call.wait(300)

    eng.router = lambda leg: script
    eng.run(seconds=1.0)
    net.iface.setup(eng.now / SAMPLE_RATE, called="5000", calling="2025550100", channel=3)
    eng.run(seconds=1.0)
    (leg,) = eng.legs.values()
    assert leg.state == C.ANSWERED
    emu = eng.board.emulator
    emu.pull_cable(1)
    eng.run(seconds=outage)
    emu.reconnect(1)
    eng.run(seconds=3.0)
    log = "\n".join(eng.log_lines)
    dchannel = [line.split()[-1] for line in log.splitlines() if " dchannel " in line]
    assert "up=False" in dchannel and dchannel[-1] == "up=True"  # down on the pull, up again after
    assert (leg.state == C.ANSWERED) is survives
    if not survives:
        assert leg.cause == 27  # T309 expired: destination out of order (Q.931 5.8.9)
    for call in list(net.iface.calls.values()):  # the caller hangs up the call that survived
        net.events += net.iface.hangup(call, eng.now / SAMPLE_RATE)
    eng.run(seconds=1.0)
    assert not eng.legs and not eng.calls  # and the script, waiting on it, is over


def _bridged_pair(eng, ends):
    """Alice (extension 1) calls Bob (extension 2) through a script; return the two legs once talking."""
    async def script(call):
        d = await call.dial("channel/2", timeout=20)
        if d.outcome == "answered":
            await call.bridge(d.leg)

    eng.router = lambda leg: script
    ends["alice"].off_hook()
    eng.run(seconds=1.0)
    ends["bob"].off_hook()
    eng.run(seconds=0.5)
    by_channel = {l.channel: l for l in eng.legs.values()}
    return by_channel[1], by_channel[2]


def _level(codes):
    return float(np.sqrt(np.mean(g711.ulaw_decode(codes).astype(float) ** 2))) if codes.size else 0.0


def test_hold_plays_music_and_retrieve_restores_the_talk_path():
    eng, ends = analog_engine()
    a, b = _bridged_pair(eng, ends)
    alice, bob = ends["alice"], ends["bob"]
    eng.hold(a, music=_tone(523, 2.0))
    bob.read_audio()
    alice.read_audio()
    bob.write_audio(_tone(1300, 1.0))
    eng.run(seconds=1.0)
    assert abs(_dominant_hz(alice.read_audio()[-4000:]) - 523) < 10  # the held party hears music, not Bob
    alice.write_audio(_tone(700, 1.0))
    eng.run(seconds=1.0)
    assert _level(bob.read_audio()[-4000:]) < 50  # Bob no longer hears Alice
    eng.retrieve(a)
    alice.write_audio(_tone(700, 1.0))
    eng.run(seconds=1.0)
    assert abs(_dominant_hz(bob.read_audio()[-4000:]) - 700) < 10
    hang_up(eng, alice)


def test_supervisor_listen_whisper_and_barge():
    eng, ends = analog_engine()
    a, b = _bridged_pair(eng, ends)  # a: caller (alice), b: agent (bob)
    sup = eng.originate("pstn2/5550000", caller="")  # the supervisor on an outside line
    eng.run(seconds=1.0)
    ends["pstn3"].answer()
    eng.run(seconds=0.5)
    sup_end = ends["pstn3"]
    alice, bob = ends["alice"], ends["bob"]

    def heard(mode_setup):
        for end in (alice, bob, sup_end):
            end.read_audio()
        mode_setup()
        sup_end.write_audio(_tone(1900, 1.0))
        alice.write_audio(_tone(600, 1.0))
        eng.run(seconds=1.0)
        return {name: end.read_audio()[-3000:] for name, end in (("alice", alice), ("bob", bob), ("sup", sup_end))}

    listen = heard(lambda: eng.monitor(sup, b, "listen"))
    assert abs(_dominant_hz(listen["sup"]) - 600) < 10  # hears the caller
    assert abs(_dominant_hz(listen["bob"]) - 600) < 10 and abs(_dominant_hz(listen["alice"]) - 1900) > 100
    whisper = heard(lambda: eng.monitor(sup, b, "whisper"))
    spec = np.abs(np.fft.rfft(g711.ulaw_decode(whisper["bob"]).astype(float)))
    assert spec[int(1900 * 3000 / 8000)] > 10 * np.median(spec)  # the agent hears the supervisor
    assert abs(_dominant_hz(whisper["alice"]) - 1900) > 100  # the caller does not
    barge = heard(lambda: eng.monitor(sup, b, "barge"))
    spec = np.abs(np.fft.rfft(g711.ulaw_decode(barge["alice"]).astype(float)))
    assert spec[int(1900 * 3000 / 8000)] > 10 * np.median(spec)  # now the caller hears the supervisor too
    with pytest.raises(ValueError):
        eng.monitor(sup, b, "shout")
    hang_up(eng, alice, sup_end)


def test_three_party_conference_everyone_hears_the_others():
    eng, ends = analog_engine()
    a, b = _bridged_pair(eng, ends)
    third = eng.originate("pstn2/5551111")
    eng.run(seconds=1.0)
    ends["pstn3"].answer()
    eng.run(seconds=0.5)
    eng.conference([a, b, third])
    for end in ends.values():
        end.read_audio()
    ends["pstn3"].write_audio(_tone(1700, 1.0))
    eng.run(seconds=1.0)
    assert abs(_dominant_hz(ends["alice"].read_audio()[-3000:]) - 1700) < 10
    assert abs(_dominant_hz(ends["bob"].read_audio()[-3000:]) - 1700) < 10
    hang_up(eng, ends["alice"], ends["pstn3"])


def test_a_verb_that_fails_to_start_raises_in_its_script_not_in_the_engine():
    eng, ends = analog_engine()
    caught = []

    async def script(call):
        try:
            await call.dial("channel/99")
        except ValueError as exc:
            caught.append(str(exc))
        await call.dial("nowhere/123")  # not caught: the script fails, the engine goes on

    eng.router = lambda leg: script
    ends["alice"].off_hook()
    eng.run(seconds=0.5)
    ends["bob"].off_hook()
    eng.run(seconds=0.5)
    assert caught == ["channel 99 belongs to no trunk or extension group"] * 2
    assert [cid for cid, _ in eng.errors] == ["C1", "C2"]
    assert "no trunk or extension group named 'nowhere'" in eng.errors[0][1]


def test_answering_an_extension_stops_its_dial_tone():
    eng, ends = analog_engine()

    async def script(call):
        await call.answer()
        await call.wait(2.0)

    eng.router = lambda leg: script
    ends["alice"].off_hook()
    eng.run(seconds=1.0)
    assert _level(ends["alice"].read_audio()[-2000:]) < 50  # silence, not 350 + 440 Hz
    hang_up(eng, ends["alice"])


def test_a_looping_player_starts_its_prompts_again():
    from pycallcenter.engine.media import Player

    player = Player([np.arange(100, dtype=np.int16)], loop=True)
    out = np.zeros(250, np.int32)
    assert player.fill(out) is False  # never done
    assert list(out[:3]) == [0, 1, 2] and list(out[100:103]) == [0, 1, 2] and out[249] == 49
    once = Player([np.arange(100, dtype=np.int16)])
    assert once.fill(np.zeros(250, np.int32)) is True
