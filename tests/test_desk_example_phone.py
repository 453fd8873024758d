"""The browser phone on the shipped example, as `pycallcenter run pycallcenter/examples/centre.toml --simulate
--browser-phone frank` builds it (the same settings, the same `--browser-phone` binding, the composition
root's Centre and the `[simulate]` callers and agents), paced in real time: frank logs in to the desktop in
headless Chromium (fake microphone: a 1 kHz tone), registers the page's WebRTC phone and presses Ready; a
simulated PSTN caller who chose sales rings the page; the desktop's Answer answers; the caller's 600 Hz is
heard in the page (WebAudio analyser on the remote track) and the browser's 1 kHz reaches the emulated
caller's B-channel; a number typed in the phone's own field gets the desktop's "Transfer to the number": the
caller is joined to that PSTN subscriber and frank's phone is free. Needs a non-loopback IPv4 address (aioice gathers
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
from pycallcenter.sim.pstn import Callee
from test_demo_pages import EXAMPLE, demo_password
from test_desk_transfer_outside import OUTSIDE, joined
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
        # a number typed in the browser phone's own field: the desktop's "Transfer to the number" hands the
        # caller to it (the example's default dial policy, its first trunk); frank's phone call ends
        callee = Callee(OUTSIDE, answer_after=1.0, patience=8.0)
        sim.pstn.add_callee(callee)
        b.evaluate(f"PyccPhone.instance.number.value='{OUTSIDE}';document.getElementById('padxfer').click();true")
        b.wait(f"document.getElementById('callstate').textContent === 'transferred to {OUTSIDE}'", pace)
        b.wait("PyccPhone.instance.state === 'idle' && document.querySelector('[data-k=state]').textContent === "
               "'wrapup'", pace)
        end = time.monotonic() + 10
        while callee.answered is None and time.monotonic() < end:
            pace()
        assert callee.answered is not None and caller.ended is None
        joined(sim, caller, callee)  # the PRI caller and the outside party hear each other
        b.screenshot(str(tmp_path / "example-desktop-transferred.png"))
        end = time.monotonic() + 30
        while caller.ended is None and time.monotonic() < end:  # the outside party hangs up after 8 s
            pace()
        assert caller.ended is not None
        assert b.evaluate("document.body.getAttribute('data-error')") is None
    finally:
        b.close()
        sim.close()
