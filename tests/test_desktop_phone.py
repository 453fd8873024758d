"""The browser phone inside the agent desktop, in headless Chromium (fake microphone: a 1 kHz tone WAV), on
a centre built by the composition root with [webrtc] enabled: agent1 logs in and lands on /agent, whose
page mounts the phone (its /phone.js is served); the agent registers it, a PRI caller presses 1 and the
ACD rings webrtc:agent1; the desktop's pop shows the caller and rings; the desktop's own Answer button
answers the browser phone; the caller's 600 Hz tone reaches the page and the browser's 1 kHz tone reaches
the PRI side; the desktop's Hang up clears the call and nothing is left behind. On the supervisor console,
a listen-in rings the console's own browser phone (contact "webrtc/boss"), which answers and hears the
call. Screenshots go to the test's tmp dir."""
import json
import time

import numpy as np

import pytest

from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once
from pycallcenter.engine.media import Player
from pycallcenter.sim.pstn import Caller
from test_webrtc import FakePage
from test_webrtc_browser import CALLER, PASSWORD, Pacer, phone_browser, tones_cross, webrtc_centre
from test_webrtc_supervisor import until

BOSS_PASSWORD = "supervisor-password"


@pytest.fixture
def centre(tmp_path):
    c, sim = webrtc_centre(tmp_path, {"agent1": ("agent", PASSWORD, None),
                                      "boss": ("supervisor", BOSS_PASSWORD, "webrtc/boss")})
    yield c, sim
    sim.close()


def open_and_register(b, base, name, password, pace):
    """Log in, check the landing page mounted the browser phone, register it; return the page's path."""
    path = b.log_in(base, name, password, pace)
    b.wait("document.body.getAttribute('data-ready') === 'yes' && document.body.getAttribute('data-phone')", pace)
    assert b.evaluate("document.body.getAttribute('data-phone')") == "yes"
    assert b.evaluate("document.getElementById('phonebox').hidden") is False
    b.evaluate("document.getElementById('pycc-phone-register').click();true")
    b.wait("PyccPhone.instance.state === 'idle'", pace, 30)
    return path


def test_the_desktop_rings_answers_and_hangs_up_the_browser_phone(centre, tmp_path):
    c, sim = centre
    base = f"http://127.0.0.1:{c.cti.port}"
    b = phone_browser(tmp_path)
    pace = Pacer(sim)
    try:
        assert open_and_register(b, base, "agent1", PASSWORD, pace) == "/agent"
        pace.sim.pstn.add(Caller(CALLER, "5000", arrival=c.engine.now / 8000 + 0.5, digits="1", digit_delay=3.0,
                                 talk=600.0, patience=600.0))
        # the desktop's pop shows the caller and rings, as does the widget
        b.wait("PyccPhone.instance.state === 'ringing' && document.getElementById('callstate').textContent === "
               "'ringing'", pace, 60)
        assert b.evaluate("document.getElementById('caller').textContent") == CALLER
        assert b.evaluate("document.getElementById('call').classList.contains('ringing')") is True
        b.wait("document.getElementById('queue').textContent === 'sales'", pace, 10)  # the ACD's screen pop
        b.screenshot(str(tmp_path / "desktop-ringing.png"))
        # the desktop's Answer (not the widget's) answers the browser phone
        b.evaluate("document.getElementById('answer').click();true")
        b.wait("PyccPhone.instance.state === 'talking'", pace)
        end = time.monotonic() + 10
        while c.acd.agents["agent1"].activity != "talking" and time.monotonic() < end:
            pace()
        assert c.acd.agents["agent1"].activity == "talking"
        b.wait("document.getElementById('callstate').textContent === 'talking'", pace)
        assert b.evaluate("document.getElementById('call').classList.contains('ringing')") is False
        caller = sim.pstn.by_number[CALLER]
        tones_cross(b, pace, caller)  # 600 Hz from the PRI caller to the page, 1 kHz from the page to the caller
        b.screenshot(str(tmp_path / "desktop-talking.png"))
        # the desktop's Hang up: the caller is cleared, the phone is idle again, nothing is left behind
        b.evaluate("document.getElementById('hangup').click();true")
        end = time.monotonic() + 15
        while (c.engine.calls or c.engine.leaks() or caller.ended is None) and time.monotonic() < end:
            pace()
        assert not c.engine.calls and c.engine.leaks() == [] and caller.ended is not None
        b.wait("PyccPhone.instance.state === 'idle' && document.getElementById('callstate').textContent === 'ended'",
               pace)
        c.publish()  # the status file: the phone is still registered (it outlives the call) and in no call
        status = json.loads(open(c.status_path).read())["webrtc"]
        assert status["phones"] == ["agent1"] and status["in_call"] == []
        assert b.evaluate("document.body.getAttribute('data-error')") is None
    finally:
        b.close()


def test_a_listen_in_from_the_console_rings_and_is_answered_on_its_browser_phone(centre, tmp_path):
    c, sim = centre
    base = f"http://127.0.0.1:{c.cti.port}"
    b = phone_browser(tmp_path)
    pace = Pacer(sim)
    agent = FakePage(c.webrtc.server, "agent1", freq=1500)  # agent1's own browser phone: an aiortc peer
    try:
        assert open_and_register(b, base, "boss", BOSS_PASSWORD, pace) == "/console"
        assert until(pace, lambda: {"agent1", "boss"} <= set(c.webrtc.phones), 10)
        sim.pstn.add(Caller(CALLER, "5000", arrival=c.engine.now / 8000 + 0.5, digits="1", digit_delay=3.0,
                            talk=600.0, patience=600.0))
        assert until(pace, lambda: any(m["event"] == "ring" for m in agent.messages), 60)
        agent.send(cmd="answer")
        assert until(pace, lambda: c.acd.agents["agent1"].activity == "talking", 10)
        caller = sim.pstn.by_number[CALLER]
        off = next(call.channel for call, who in sim.pstn.active.items() if who is caller)
        t = np.arange(8000 * 30)
        sim.pstn.audio[off] = Player([(6000 * np.sin(2 * np.pi * 600 * t / 8000)).astype(np.int16)])
        # listen from agent1's row: the console's phone rings and its box is outlined
        b.wait("!!document.querySelector('#agents tr[data-agent=\"agent1\"] button[data-act=listen]')", pace)
        b.evaluate("document.querySelector('#agents tr[data-agent=\"agent1\"] button[data-act=listen]').click();true")
        b.wait("PyccPhone.instance.state === 'ringing'", pace, 15)
        assert b.evaluate("document.getElementById('phonebox').classList.contains('ringing')") is True
        b.screenshot(str(tmp_path / "console-ringing.png"))
        b.evaluate("document.getElementById('pycc-phone-answer').click();true")
        b.wait("PyccPhone.instance.state === 'talking'", pace)
        assert b.evaluate("document.getElementById('phonebox').classList.contains('ringing')") is False
        # the supervisor hears the call: the caller's 600 Hz or agent1's 1.5 kHz, never their own 1 kHz
        heard = b.wait("(function(){var f=PyccPhone.instance.peakHz();"
                       "return Math.abs(f-600)<30||Math.abs(f-1500)<30?f:0})()", pace, 15)
        assert abs(heard - 600) < 30 or abs(heard - 1500) < 30
        b.screenshot(str(tmp_path / "console-listening.png"))
        assert b.evaluate("document.body.getAttribute('data-error')") is None
    finally:
        b.close()
        agent.close()
