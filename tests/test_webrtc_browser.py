"""The browser phone in headless Chromium (fake microphone: a 1 kHz tone WAV), on a centre built by the
composition root from a configuration with [webrtc] enabled: agent1 logs in, registers the page's phone,
a PRI caller presses 1 in the main menu and the ACD rings webrtc:agent1; the page rings and answers; the
caller's 600 Hz tone reaches the page (WebAudio AnalyserNode, read over DevTools) and the browser's 1 kHz
tone reaches the PRI side; the page hangs up and nothing is left behind; closing the tab unregisters the
phone. The engine is paced in real time (the browser's audio is). Screenshots go to the test's tmp dir."""
import json
import time
import wave

import numpy as np
import pytest

from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.demo import board_config
from pycallcenter.apps.settings import load_text
from pycallcenter.apps.simulation import Simulation
from pycallcenter.cti.auth import hash_password
from pycallcenter.dsp import g711
from pycallcenter.engine.media import Player
from pycallcenter.sim.pstn import Caller
from web_browser import Browser, chromium

CALLER = "2025550199"
PASSWORD = "agent1-password"

CONFIG = """
[centre]
data = "{data}"
tone_plan = "etsi"
station_features = false
start = "2026-01-05T10:00:00"
cti_port = 0
cti_users = "users.toml"

[fax]
detect = false

[webrtc]
enabled = true
channels = 4
ring_seconds = 60

[[queue]]
name = "sales"
ring_timeout = 60

[[agent]]
name = "agent1"
phone = "webrtc:agent1"
queues = {{ sales = 0 }}

[simulate]
calls_per_hour = 0
agents = []
"""


def tone_wav(path, freq, seconds=10, rate=48000):
    """Write a mono 16-bit WAV of one tone (Chromium loops it as the microphone)."""
    t = np.arange(seconds * rate)
    pcm = (8000 * np.sin(2 * np.pi * freq * t / rate)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def peak_hz(x, rate=8000):
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(x.size)))
    return np.argmax(spectrum) * rate / x.size


def webrtc_centre(tmp_path, users):
    """Return (Centre, Simulation) of CONFIG with CTI users: name -> (role, password, contact or None)."""
    lines = []
    for name, (role, password, contact) in users.items():
        lines.append(f'[[user]]\nname = "{name}"\nrole = "{role}"\n'
                     f'password_hash = "{hash_password(password, n=1024)}"\n'
                     + (f'contact = "{contact}"\n' if contact else ""))
    (tmp_path / "users.toml").write_text("\n".join(lines))
    path = tmp_path / "centre.toml"
    path.write_text(board_config(1, 1) + CONFIG.format(data=tmp_path / "data"))
    board_text, settings = load_text(path.read_text(), file=str(path))
    c = Centre(board_text, settings)
    return c, Simulation(c, hours=0)


def phone_browser(tmp_path):
    """Return a headless Chromium whose microphone is a 1 kHz tone (the test is skipped without Chromium)."""
    if chromium() is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); the browser check did not run")
    wav = tone_wav(tmp_path / "mic-1000hz.wav", 1000)
    return Browser(str(tmp_path / "profile"), args=("--use-fake-device-for-media-stream",
                                                    "--use-fake-ui-for-media-stream",
                                                    f"--use-file-for-fake-audio-capture={wav}",
                                                    "--autoplay-policy=no-user-gesture-required"))


def tones_cross(b, pace, caller):
    """Check the PRI caller's 600 Hz reaches the page's phone and the page's 1 kHz microphone reaches the PRI
    side; return the caller's PRI channel."""
    sim = pace.sim
    off = next(call.channel for call, who in sim.pstn.active.items() if who is caller)
    # the PRI caller sends 600 Hz; the page hears it through its AnalyserNode
    t = np.arange(8000 * 8)
    sim.pstn.audio[off] = Player([(6000 * np.sin(2 * np.pi * 600 * t / 8000)).astype(np.int16)])
    heard = b.wait("(function(){var f=PyccPhone.instance.peakHz();return Math.abs(f-600)<30?f:0})()", pace, 15)
    assert abs(heard - 600) < 30
    # the browser's microphone (1 kHz) reaches the PRI side
    pace.listen_on = off
    end = time.monotonic() + 3
    while time.monotonic() < end:
        pace()
    got = np.concatenate(pace.heard[-50:])
    assert abs(peak_hz(got) - 1000) < 20 and np.sqrt(np.mean(got.astype(np.float64) ** 2)) > 300
    return off


@pytest.fixture
def centre(tmp_path):
    c, sim = webrtc_centre(tmp_path, {"agent1": ("agent", PASSWORD, None)})
    yield c, sim
    sim.close()


class Pacer:
    """Ticks the simulation at the board's real rate (20 ms a tick) whenever called; records what the PRI
    far end hears on one channel while asked to."""

    def __init__(self, sim):
        self.sim, self.start, self.ticks = sim, time.monotonic(), 0
        self.listen_on, self.heard = None, []

    def __call__(self):
        due = int((time.monotonic() - self.start) / 0.02)
        while self.ticks < due:
            self.sim.tick()
            self.ticks += 1
            far = self.sim.pstn.far
            if self.listen_on is not None and far.last_rx is not None:
                self.heard.append(g711.alaw_decode(far.last_rx[self.listen_on - 1]))
        time.sleep(0.002)


def test_a_pri_caller_reaches_the_browser_phone_and_tones_cross_both_ways(centre, tmp_path):
    c, sim = centre
    base = f"http://127.0.0.1:{c.cti.port}"
    b = phone_browser(tmp_path)
    pace = Pacer(sim)
    try:
        b.log_in(base, "agent1", PASSWORD, pace)
        b.navigate(base + "/phone", pace)
        b.evaluate("document.getElementById('pycc-phone-register').click();true")
        b.wait("PyccPhone.instance.state === 'idle'", pace, 30)
        pace.sim.pstn.add(Caller(CALLER, "5000", arrival=c.engine.now / 8000 + 0.5, digits="1", digit_delay=3.0,
                                 talk=600.0, patience=600.0))
        b.wait("PyccPhone.instance.state === 'ringing'", pace, 60)
        assert CALLER in b.evaluate("PyccPhone.instance.status.textContent")
        b.screenshot(str(tmp_path / "phone-ringing.png"))
        b.evaluate("document.getElementById('pycc-phone-answer').click();true")
        caller = sim.pstn.by_number[CALLER]
        b.wait("PyccPhone.instance.state === 'talking'", pace)
        end = time.monotonic() + 10
        while c.acd.agents["agent1"].activity != "talking" and time.monotonic() < end:
            pace()
        assert c.acd.agents["agent1"].activity == "talking"
        c.publish()  # the status file shows the browser phone in its call
        status = json.loads(open(c.status_path).read())["webrtc"]
        assert status["phones"] == ["agent1"] and status["in_call"] == ["agent1"]
        assert status["counters"]["calls_in"] == 1
        tones_cross(b, pace, caller)
        b.screenshot(str(tmp_path / "phone-talking.png"))
        # a key of the page's pad is heard as its DTMF tones on the agent's leg (aiortc sends no RFC 4733)
        phone_leg = next(leg for leg in c.engine.legs.values() if leg.tech == "webrtc")
        b.evaluate("document.querySelector('.pycc-phone-key[data-digit=\"5\"]').click();true")
        end = time.monotonic() + 5
        while "5" not in phone_leg.digits and time.monotonic() < end:
            pace()
        assert phone_leg.digits == "5"
        # the page hangs up: the caller is cleared, nothing is left behind
        b.evaluate("document.getElementById('pycc-phone-hangup').click();true")
        end = time.monotonic() + 15
        while (c.engine.calls or c.engine.leaks() or caller.ended is None) and time.monotonic() < end:
            pace()
        assert not c.engine.calls and c.engine.leaks() == [] and caller.ended is not None
        assert b.evaluate("PyccPhone.instance.state") == "idle"
        # closing the tab ends the registration
        b.call("Page.navigate", pace, url="about:blank")
        end = time.monotonic() + 40
        while "agent1" in c.webrtc.phones and time.monotonic() < end:
            pace()
        assert "agent1" not in c.webrtc.phones
    finally:
        b.close()
