"""The browser phone on the shipped example, as `pycallcenter run pycallcenter/examples/centre.toml --simulate
--browser-phone frank` builds it (the same settings, the same `--browser-phone` binding, the composition
root's Centre and the `[simulate]` callers and agents), paced in real time: frank logs in to the desktop in
headless Chromium (fake microphone: a 1 kHz tone), registers the page's WebRTC phone and presses Ready; a
simulated PSTN caller who chose sales rings the page; the desktop's Answer answers; the caller's 600 Hz is
heard in the page (WebAudio analyser on the remote track) and the browser's 1 kHz reaches the emulated
caller's B-channel; the desktop's Hang up clears the call. Needs a non-loopback IPv4 address (aioice gathers
host candidates on one): skipped with that reason when the machine has none. Screenshots go to the test's
tmp dir."""
import argparse
import time

import pytest

from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.settings import load_settings
from pycallcenter.apps.simulation import Simulation
from pycallcenter.commands.run import _browser_phones
from test_demo_pages import EXAMPLE, demo_password
from test_desktop_phone import open_and_register
from test_webrtc_browser import Pacer, phone_browser, tones_cross


def test_frank_takes_a_live_call_from_the_emulated_pstn_in_the_example_desktop(tmp_path):
    pytest.importorskip("aiortc", reason="the browser phone needs the webrtc extra (aiortc); the check did not run")
    from aioice.ice import get_host_addresses

    if not get_host_addresses(use_ipv4=True, use_ipv6=False):
        pytest.skip("this machine has no non-loopback IPv4 address: aioice (the browser phone's ICE) gathers its "
                    "host candidates on one, so the page's WebRTC phone cannot connect; the check did not run")
    board_text, settings = load_settings(str(EXAMPLE))
    settings.centre.cti_port = 0  # as --cti-port 0
    settings.simulate.calls_per_hour = 1500  # as --calls-per-hour 1500: a sales caller for frank soon
    _browser_phones(argparse.Namespace(browser_phone=["frank"], config=str(EXAMPLE)), settings)
    c = Centre(board_text, settings, data=str(tmp_path / "data"))
    sim = Simulation(c, hours=1.0)
    b = phone_browser(tmp_path)
    pace = Pacer(sim)
    try:
        base = f"{c.cti.scheme}://127.0.0.1:{c.cti.port}"
        assert c.cti.scheme == "https"  # the example's self-signed certificate
        assert open_and_register(b, base, "frank", demo_password("frank"), pace) == "/agent"
        assert c.acd.agents["frank"].contact == "webrtc/frank"
        b.wait("document.querySelector('[data-k=state]').textContent === 'paused'", pace)  # the example: not ready
        b.evaluate("document.getElementById('ready').click();true")
        b.wait("PyccPhone.instance.state === 'ringing' && document.getElementById('callstate').textContent === "
               "'ringing'", pace, 180)
        number = b.evaluate("document.getElementById('caller').textContent")
        caller = sim.pstn.by_number[number]
        b.wait("document.getElementById('queue').textContent === 'sales'", pace, 10)
        b.screenshot(str(tmp_path / "example-desktop-ringing.png"))
        b.evaluate("document.getElementById('answer').click();true")
        b.wait("PyccPhone.instance.state === 'talking'", pace)
        end = time.monotonic() + 10
        while c.acd.agents["frank"].activity != "talking" and time.monotonic() < end:
            pace()
        assert c.acd.agents["frank"].activity == "talking" and caller.ended is None
        # the example whispers the queue's name to the agent first ([announce] whisper); then the two are joined
        call_id = c.acd.agents["frank"].call
        end = time.monotonic() + 15
        while call_id in c.binding.waiting and time.monotonic() < end:
            pace()
        assert call_id not in c.binding.waiting
        tones_cross(b, pace, caller)  # 600 Hz from the PRI caller to the page, 1 kHz from the page to the caller
        b.screenshot(str(tmp_path / "example-desktop-talking.png"))
        b.evaluate("document.getElementById('hangup').click();true")
        end = time.monotonic() + 15
        while caller.ended is None and time.monotonic() < end:
            pace()
        assert caller.ended is not None
        b.wait("PyccPhone.instance.state === 'idle' && document.getElementById('callstate').textContent === 'ended'",
               pace)
        assert b.evaluate("document.body.getAttribute('data-error')") is None
    finally:
        b.close()
        sim.close()
