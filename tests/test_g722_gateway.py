"""A gateway call PRI <-> SIP with G.722 on the SIP side: the shipped pri-sip-gateway example with
[sip] codecs = ["G722", "PCMA"] and a wideband PBX that takes only G.722. A PSTN call reaches the PBX, and
tones cross both ways between the B-channel (A-law) and the G.722 stream."""
import numpy as np
import pytest
from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once

import test_sip_gateway
from engine_sip_rig import tone
from g722_phone import G722Phone, power_at, wide_tone
from pycallcenter.isdn import call as q
from pycallcenter.media import g722
from pycallcenter.sip import sdp as S

pytestmark = pytest.mark.skipif(not g722.AVAILABLE, reason="the g722 extra (G722 package) is not installed")


@pytest.fixture
def gw(tmp_path, prompt_cache, monkeypatch):  # noqa: F811 - prompt_cache is the fixture imported above
    """The example gateway (test_sip_gateway.Gateway) with G.722 preferred on its SIP side and a G.722 PBX."""
    load = test_sip_gateway.load_text
    monkeypatch.setattr(test_sip_gateway, "Phone", G722Phone)
    monkeypatch.setattr(test_sip_gateway, "load_text", lambda text, **kw: load(
        text.replace("[sip]\n", '[sip]\ncodecs = ["G722", "PCMA"]\n', 1), **kw))
    g = test_sip_gateway.Gateway(tmp_path, prompt_cache)
    yield g
    g.close()


def test_a_pstn_call_reaches_a_g722_pbx_and_tones_cross_both_ways(gw):
    pbx, net = gw.pbx, gw.net
    assert gw.centre.settings.sip.codecs == ["G722", "PCMA"]
    net.iface.setup(gw.now(), called="2001", calling="2025550100", channel=1)
    assert gw.go(2.0, until=lambda: "IncomingCall" in pbx.kinds())
    assert S.negotiated(pbx.events[-1].offer) == (9, "G722")  # the gateway offered G.722 first
    pbx._run(pbx.ua.answer(pbx.call_id, gw.now(), port=pbx.rtp.getsockname()[1]))
    assert gw.go(1.0, until=lambda: gw.net_events(q.Answered))
    mark_pri = len(gw.pri_audio)
    pbx.say_wide(wide_tone(1100, 1.5))
    gw.centre.board.emulator.far_ends["net"].write_audio(1, tone(700, 1.5))
    gw.go(2.0)
    to_pstn = np.concatenate(gw.pri_audio[mark_pri:])
    to_pbx = pbx.wide_audio()
    assert power_at(to_pstn, 1100, 8000) > 10 * power_at(to_pstn, 700, 8000)
    assert power_at(to_pbx, 700) > 10 * power_at(to_pbx, 1100)
    assert pbx.payload_types == {9}  # the SIP side carried G.722 only
    pbx.hang_up(gw.now(), reason="Q.850;cause=16")
    assert gw.go(2.0, until=lambda: gw.net_events(q.CallEnded) and not gw.eng.legs)
    assert gw.centre.leaks() == []
