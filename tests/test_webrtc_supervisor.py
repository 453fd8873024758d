"""A supervisor barges into a call through their browser phone: on a centre built by the composition root,
a PRI caller reaches agent1's browser phone through the ACD; the supervisor (users file contact
"webrtc/boss") asks the CTI to barge, their own browser phone rings, they answer and hear the caller's tone.
The browsers are aiortc peers (tests/test_webrtc.py's FakePage); the engine is paced in real time."""
import time

import numpy as np
import pytest

from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once
from pycallcenter.cti.client import CtiClient
from pycallcenter.engine.media import Player
from pycallcenter.sim.pstn import Caller
from test_packet_media import peak_hz
from test_webrtc import FakePage
from test_webrtc_browser import Pacer, webrtc_centre

USERS = {"agent1": ("agent", "agent1-password", None), "boss": ("supervisor", "boss-password", "webrtc/boss")}


@pytest.fixture
def centre(tmp_path):
    c, sim = webrtc_centre(tmp_path, USERS)
    yield c, sim
    sim.close()


def until(pace, test, seconds):
    end = time.monotonic() + seconds
    while not test() and time.monotonic() < end:
        pace()
    return test()


def test_a_supervisor_barges_in_through_their_browser_phone(centre):
    c, sim = centre
    pace = Pacer(sim)
    server = c.webrtc.server
    agent = FakePage(server, "agent1", freq=1000)
    boss = FakePage(server, "boss", freq=1500)
    cti = CtiClient("127.0.0.1", c.cti.port)
    try:
        assert until(pace, lambda: {"agent1", "boss"} <= set(c.webrtc.phones), 10)
        sim.pstn.add(Caller("2025550123", "5000", arrival=c.engine.now / 8000 + 0.5, digits="1", digit_delay=3.0,
                            talk=600.0, patience=600.0))
        assert until(pace, lambda: any(m["event"] == "ring" for m in agent.messages), 60)
        agent.send(cmd="answer")
        assert until(pace, lambda: c.acd.agents["agent1"].activity == "talking", 10)
        caller = sim.pstn.by_number["2025550123"]
        off = next(call.channel for call, who in sim.pstn.active.items() if who is caller)
        t = np.arange(8000 * 20)
        sim.pstn.audio[off] = Player([(6000 * np.sin(2 * np.pi * 600 * t / 8000)).astype(np.int16)])

        replies = []
        cti.send({"cmd": "auth", "user": "boss", "password": "boss-password", "id": 1})
        assert until(pace, lambda: replies.extend(cti.receive()) or any(r.get("id") == 1 for r in replies), 10)
        cti.send({"cmd": "monitor", "agent": "agent1", "mode": "barge", "id": 2})
        assert until(pace, lambda: replies.extend(cti.receive()) or any(r.get("id") == 2 for r in replies), 10)
        assert next(r for r in replies if r.get("id") == 2)["type"] == "reply"
        assert until(pace, lambda: any(m["event"] == "ring" for m in boss.messages), 10)
        boss.send(cmd="answer")
        assert until(pace, lambda: replies.extend(cti.receive()) or any(
            "monitoring" in (r.get("type"), r.get("event")) for r in replies), 10)
        start = len(boss.heard)
        until(pace, lambda: False, 2.0)
        heard = np.concatenate(boss.heard[start:])[-4000:]
        # barged in: the supervisor hears both the caller (600 Hz) and the agent (1 kHz)
        spectrum = np.abs(np.fft.rfft(heard.astype(np.float64) * np.hanning(heard.size)))
        level = {f: spectrum[int(f * heard.size / 8000) - 2:int(f * heard.size / 8000) + 3].max() for f in (600, 1000)}
        assert min(level.values()) > 20 * np.median(spectrum), (level, np.median(spectrum))
        assert peak_hz(heard) in (600.0, 1000.0)
    finally:
        cti.close()
        for page in (agent, boss):
            page.close()
    assert until(pace, lambda: not c.webrtc.phones, 15)
