"""baresip called by the gateway: the shipped pri-sip-gateway example with baresip as the PBX on its SIP
trunk (auto-answer). A PSTN call on the emulated PRI reaches baresip, it answers on its own, tones cross
both ways, and the PSTN's clearing reaches baresip as a BYE. Real time, loopback only."""
import os

import numpy as np
import pytest
from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once

from engine_rig import Network
from engine_sip_rig import free_rtp_range
from test_sip_engine_baresip import BARESIP, Baresip, _power_at, _tone, realtime
from pycallcenter import bundled
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.settings import load_text
from pycallcenter.dsp import g711
from pycallcenter.isdn import call as q

pytestmark = pytest.mark.skipif(BARESIP is None, reason="baresip is not installed (Debian baresip-core, in the "
                                                       "Makefile's TEST_DEBS)")


def test_a_pstn_call_through_the_gateway_reaches_baresip_which_answers_and_talks(tmp_path, prompt_cache):
    (tmp_path / "data").mkdir()
    os.symlink(prompt_cache, tmp_path / "data" / "prompts")
    phone = Baresip(tmp_path, user="2001", answer=True)
    text = (bundled.examples_dir() / "pri-sip-gateway.toml").read_text()
    lo, hi = free_rtp_range()
    text = (text.replace('name = "pstn"', 'name = "net"').replace("port = 5062", "port = 0")
            .replace("port = 5070", f"port = {phone.port}")
            .replace("rtp_ports = [21000, 21999]", f"rtp_ports = [{lo}, {hi}]")
            .replace('data = "data"', f'data = "{tmp_path / "data"}"'))
    board_text, settings = load_text(text, file=str(tmp_path / "gateway.toml"))
    centre = Centre(board_text, settings)
    eng = centre.engine
    net = Network(centre.board)
    far = centre.board.emulator.far_ends["net"]
    pri_heard = []

    def tick():
        """centre.tick, keeping what the board sent the PSTN on B-channel 1."""
        centre.tick()
        got = far.read_audio()
        if got.shape[1]:
            pri_heard.append(g711.alaw_decode(np.ascontiguousarray(got[0])))

    def go(seconds, until=None):
        return realtime(eng, seconds, until=until, tick=tick)

    try:
        phone.start()
        go(1.0)
        net.iface.setup(eng.now / 8000, called="2001", calling="2025550100", channel=1)
        assert go(8.0, until=lambda: any(isinstance(e, q.Answered) for e in net.events)), \
            phone.text()[-2000:]
        far.write_audio(1, _tone(700, 2.0))
        mark = len(pri_heard)
        go(2.0)
        to_pstn = np.concatenate(pri_heard[mark:])
        call = next(e.call for e in reversed(net.events) if hasattr(e, "call"))
        net.events += net.iface.hangup(call, eng.now / 8000, 16)
        assert go(4.0, until=lambda: not eng.legs and "terminated" in phone.text())
        go(0.3)
    finally:
        phone.stop()
        centre.close()
    assert _power_at(to_pstn, 600) > 20 * _power_at(to_pstn, 1700)  # baresip's tone file reached the PSTN
    heard = phone.heard()
    assert _power_at(heard, 700) > 20 * _power_at(heard, 1700)  # the PSTN's tone reached baresip
    assert "2025550100" in phone.text()  # baresip showed the PSTN caller's number
