"""The PRI <-> SIP gateway end to end: the shipped pri-sip-gateway example (ports moved to free ones, the
emulated network's cable named for the test rig) with our network-side Q.931 stack as the PSTN and our
own user agent as the PBX on the SIP trunk. Calls cross both ways with the caller's number, ringing,
answer, audio, DTMF (RFC 4733 <-> in-band) and clearing; refusals keep their meaning (RFC 3398)."""
import os

import numpy as np
import pytest
from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once

from engine_rig import Network
from engine_sip_rig import Phone, free_rtp_range, power_at as _power_at, run, tone as _tone
from pycallcenter import bundled
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.settings import load_text
from pycallcenter.dsp import g711
from pycallcenter.dsp.dtmf import DtmfDetector
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.isdn import call as q
from pycallcenter.sip import ua as U




class Gateway:
    """The example gateway, the PSTN (network side of the PRI) and the PBX (a SIP phone on the trunk)."""

    def __init__(self, tmp_path, prompts):
        (tmp_path / "data").mkdir()
        os.symlink(prompts, tmp_path / "data" / "prompts")
        self.pbx = Phone("pbx", answer_after=None)
        text = (bundled.examples_dir() / "pri-sip-gateway.toml").read_text()
        lo, hi = free_rtp_range()
        text = (text.replace('name = "pstn"', 'name = "net"').replace("port = 5062", "port = 0")
                .replace("port = 5070", f"port = {self.pbx.addr[1]}")
                .replace("rtp_ports = [21000, 21999]", f"rtp_ports = [{lo}, {hi}]")
                .replace('data = "data"', f'data = "{tmp_path / "data"}"'))
        path = tmp_path / "gateway.toml"
        path.write_text(text)
        board_text, settings = load_text(text, file=str(path))
        self.centre = Centre(board_text, settings)
        self.centre.engine.log_lines = []
        self.eng = self.centre.engine
        self.net = Network(self.centre.board)
        self.pri_audio = []  # what the board sent on B-channel 1, decoded, tick by tick
        self.go(1.0)  # the D-channel comes up

    def now(self):
        return self.eng.now / 8000

    def go(self, seconds, until=None):
        def tick():
            self.centre.tick()
            got = self.centre.board.emulator.far_ends["net"].read_audio()
            if got.shape[1]:
                self.pri_audio.append(g711.alaw_decode(np.ascontiguousarray(got[0])))

        return run(self.eng, seconds, self.pbx, until=until, tick=tick)

    def net_events(self, kind):
        return [e for e in self.net.events if isinstance(e, kind)]

    def close(self):
        self.centre.close()
        self.pbx.close()


@pytest.fixture
def gw(tmp_path, prompt_cache):
    g = Gateway(tmp_path, prompt_cache)
    yield g
    g.close()


def test_a_pstn_call_reaches_the_pbx_rings_talks_both_ways_with_dtmf_and_clears_with_its_cause(gw):
    pbx, net = gw.pbx, gw.net
    net.iface.setup(gw.now(), called="2001", calling="2025550100", channel=1)
    assert gw.go(2.0, until=lambda: "IncomingCall" in pbx.kinds())
    invite = pbx.events[-1].request
    assert invite.uri.user == "2001"
    assert invite.from_.uri.user == "2025550100"
    assert "2025550100" in invite.headers.get("P-Asserted-Identity")
    pbx._run(pbx.ua.ring(pbx.call_id, gw.now()))
    assert gw.go(1.0, until=lambda: gw.net_events(q.Alerting))  # the PBX's 180 reached the PSTN as ALERTING
    pbx._run(pbx.ua.answer(pbx.call_id, gw.now(), port=pbx.rtp.getsockname()[1]))
    assert gw.go(1.0, until=lambda: gw.net_events(q.Answered))
    # audio both ways: the PBX says 1100 Hz, the PSTN says 700 Hz on B-channel 1
    mark_pri, mark_sip = len(gw.pri_audio), len(pbx.heard)
    pbx.say(_tone(1100, 1.5))
    gw.centre.board.emulator.far_ends["net"].write_audio(1, _tone(700, 1.5))
    gw.go(2.0)
    to_pstn = np.concatenate(gw.pri_audio[mark_pri:])
    to_pbx = np.concatenate(pbx.heard[mark_sip:])
    assert _power_at(to_pstn, 1100) > 10 * _power_at(to_pstn, 700)
    assert _power_at(to_pbx, 700) > 10 * _power_at(to_pbx, 1100)
    # DTMF: an RFC 4733 digit from the PBX is a tone on the PRI; a tone from the PSTN an event to the PBX
    mark_pri = len(gw.pri_audio)
    pbx.press("5")
    gw.go(1.0)
    heard = np.concatenate(gw.pri_audio[mark_pri:])
    assert [e.digit for e in DtmfDetector(1).process(heard[: heard.size // 160 * 160]) if e.kind == "begin"] == ["5"]
    gw.centre.board.emulator.far_ends["net"].write_audio(1, dtmf_signal("8", on_ms=100.0, off_ms=100.0))
    assert gw.go(1.5, until=lambda: "8" in pbx.events_heard)
    # the PBX hangs up: the PSTN hears DISCONNECT with the cause its Reason header carried
    pbx.hang_up(gw.now(), reason="Q.850;cause=16")
    assert gw.go(2.0, until=lambda: gw.net_events(q.CallEnded) and not gw.eng.legs)
    assert gw.net_events(q.Disconnected)[-1].cause == 16
    assert gw.centre.leaks() == []


def test_pbx_refusals_reach_the_pstn_as_their_q850_causes(gw):
    pbx = gw.pbx
    for i, (status, cause) in enumerate([(486, 17), (404, 1), (480, 18), (503, 41), (603, 21)]):
        ended = len(gw.net_events(q.CallEnded))
        gw.net.iface.setup(gw.now(), called="2002", calling="2025550101", channel=2 + i)
        assert gw.go(2.0, until=lambda: pbx.kinds().count("IncomingCall") == i + 1)
        pbx._run(pbx.ua.reject(pbx.call_id, status, gw.now()))
        assert gw.go(2.0, until=lambda: len(gw.net_events(q.CallEnded)) > ended and not gw.eng.legs)
        assert gw.net_events(q.Disconnected)[-1].cause == cause, status


def _answer_setups(gw, how):
    """Answer each SETUP the PSTN receives: how(event) returns 'answer' or a cause to clear with."""
    def handler(far, now):
        before = len(gw.net.events)
        Network._tick(gw.net, far, now)
        for ev in gw.net.events[before:]:
            if isinstance(ev, q.IncomingCall):
                what = how(ev)
                s = now / 8000
                gw.net.events += (gw.net.iface.answer(ev.call, s) if what == "answer"
                                  else gw.net.iface.hangup(ev.call, s, what))
    gw.centre.board.emulator.far_ends["net"].handler = handler


def test_a_pbx_call_goes_out_on_the_pri_and_the_pstn_causes_come_back_as_sip_statuses(gw):
    pbx = gw.pbx
    answers = iter([17, 1, "answer"])
    _answer_setups(gw, lambda ev: next(answers))
    for status in (486, 404):
        pbx.call("sip:05551234@127.0.0.1", gw.centre.sip.address, gw.now())
        assert gw.go(3.0, until=lambda: isinstance(pbx.events[-1], U.CallFailed))
        assert pbx.events[-1].status == status
        setup = gw.net_events(q.IncomingCall)[-1]
        assert setup.called == "5551234"  # the route took the 0 off
        assert setup.calling == "pbx"
    pbx.call("sip:05551234@127.0.0.1", gw.centre.sip.address, gw.now())
    assert gw.go(3.0, until=lambda: "CallAnswered" in pbx.kinds())
    gw.go(0.5)
    # the PSTN clears: the PBX gets a BYE carrying cause 16
    call = gw.net_events(q.IncomingCall)[-1].call
    gw.net.events += gw.net.iface.hangup(call, gw.now(), 16)
    assert gw.go(2.0, until=lambda: "CallEnded" in pbx.kinds() and not gw.eng.legs)
    ended = pbx.events[-1] if isinstance(pbx.events[-1], U.CallEnded) else next(
        e for e in pbx.events if isinstance(e, U.CallEnded))
    assert ended.by == "remote" and "cause=16" in (ended.reason or "")
    assert gw.centre.leaks() == []


def test_a_withheld_number_stays_withheld_both_ways(gw):
    pbx = gw.pbx
    # PSTN -> PBX: presentation restricted becomes an anonymous From, the number asserted, Privacy: id
    gw.net.iface.setup(gw.now(), called="2003", calling="2025550102", channel=1, presentation=1)
    assert gw.go(2.0, until=lambda: "IncomingCall" in pbx.kinds())
    invite = pbx.events[-1].request
    assert invite.from_.uri.user == "anonymous"
    assert "2025550102" in invite.headers.get("P-Asserted-Identity")
    assert invite.headers.get("Privacy") == "id"
    pbx._run(pbx.ua.reject(pbx.call_id, 486, gw.now()))
    assert gw.go(2.0, until=lambda: not gw.eng.legs)
    # PBX -> PSTN: Privacy: id with an asserted number becomes a restricted calling number on the PRI
    _answer_setups(gw, lambda ev: 16)
    pbx.call("sip:05559876@127.0.0.1", gw.centre.sip.address, gw.now(), from_user="anonymous",
             headers=[("P-Asserted-Identity", "<sip:2025550103@127.0.0.1>"), ("Privacy", "id")])
    assert gw.go(3.0, until=lambda: gw.net_events(q.IncomingCall))
    setup = gw.net_events(q.IncomingCall)[-1]
    assert (setup.calling, setup.presentation) == ("2025550103", 1)
    assert gw.go(2.0, until=lambda: "CallFailed" in pbx.kinds() and not gw.eng.legs)
