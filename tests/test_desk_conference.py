"""The agent desktop's Conference button in headless Chromium, on a centre built by the composition root on
the emulator, with the audio checked on the emulated lines: a PRI caller reaches agent1, who consults agent2
(or an outside number on the emulated PSTN) and presses Conference, or presses it at once with agent2 typed
in. Each party sends its own tone (the caller 600 Hz, agent1 1 kHz, the third party 1.8 kHz) and each tone
is found, by its Goertzel amplitude, at the two other parties. agent1 then leaves (the page's Hang up, or the
phone put down): agent2 takes the call over and stays with the caller (an outside party stays joined to the
caller as an attended transfer to the number); or agent2 leaves first and agent1 keeps the caller. When the
last one hangs up the call has exactly one CDR and nothing is left behind. Screenshots go to the test's
tmp dir."""
import numpy as np
import pytest

from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once
from pycallcenter.dsp import g711
from pycallcenter.drivers.emulator import media
from pycallcenter.sim.pstn import Callee
from test_desk_transfer_outside import (OUTSIDE, browser, channel_of, desk_centre, ends_cleanly, talking_to_caller,
                                        tone, until)
from test_desktop import click, text

CALLER_HZ, AGENT_HZ, THIRD_HZ = 600, 1000, 1800
LOUD, QUIET = 300.0, 60.0  # a tone heard has at least LOUD amplitude (4,000 to 6,000 sent); one not heard under QUIET


def amplitude(x, freq):
    """Return the amplitude of freq in x (one Goertzel bin, scaled so a sine of amplitude A gives A)."""
    t = np.arange(x.size) / 8000
    return 2 * abs(np.dot(x.astype(np.float64), np.exp(-2j * np.pi * freq * t))) / max(x.size, 1)


def listen(sim, parties, ticks=60, keep=40):
    """Each party sends its tone for `ticks` engine ticks; return name -> what it heard over the last `keep`
    ticks (linear samples). parties: name -> (a PRI channel number or an emulated Phone, frequency)."""
    bs = 160
    for src, freq in parties.values():
        if isinstance(src, int):
            sim.pstn.audio[src] = tone(freq)
        else:
            src.clear_audio()
            src.read_audio()
            t = np.arange(ticks * bs + 8000)
            src.write_audio((4000 * np.sin(2 * np.pi * freq * t / 8000)).astype(np.int16))
    decode = g711.alaw_decode if sim.pstn.law.value == "alaw" else g711.ulaw_decode
    pri = {n: [] for n, (src, _) in parties.items() if isinstance(src, int)}
    for _ in range(ticks):
        sim.tick()
        for n in pri:
            pri[n].append(sim.pstn.far.last_rx[parties[n][0] - 1].copy())
    out = {}
    for n, (src, _) in parties.items():
        if isinstance(src, int):
            out[n] = decode(np.concatenate(pri[n][-keep:]))
            sim.pstn.audio.pop(src, None)
        else:
            codes = src.read_audio()
            assert codes.size >= keep * bs, f"{src} heard {codes.size} samples"
            out[n] = media.decode(codes[-keep * bs:], src.law)
            src.clear_audio()
    return out


def hears(heard, who, present, absent=()):
    """Check `who` heard the frequencies in present loudly and those in absent not at all."""
    got = heard[who]
    for f in present:
        assert amplitude(got, f) > LOUD, f"{who} does not hear {f} Hz: {amplitude(got, f):.0f}"
    for f in absent:
        assert amplitude(got, f) < QUIET, f"{who} hears {f} Hz: {amplitude(got, f):.0f}"


def all_hear(sim, parties):
    """Check each party hears every other party's tone."""
    heard = listen(sim, parties)
    for who in parties:
        hears(heard, who, [f for n, (_, f) in parties.items() if n != who])


def conference_with(agent, sim, target, answered, consult=True):
    """Consult target from the desktop, wait until answered() and press Conference (or, consult false,
    press Conference at once: the target is rung and joins when it answers); the page says so."""
    agent.evaluate(f"document.getElementById('xfer').value={target!r};true")
    if consult:
        click(agent, "#consult")
        agent.wait("document.getElementById('status').textContent === 'consult: ok'", sim.tick)
        assert until(sim, answered, 15)
        until(sim, lambda: False, 1.0)  # the consulted party's line settles (answer, hello)
    click(agent, "#conference")
    agent.wait("document.getElementById('status').textContent === 'conference: ok'", sim.tick)
    if not consult:
        assert until(sim, answered, 15)
    agent.wait("document.getElementById('callstate').textContent === 'conference (3 parties)'", sim.tick)


def agent_conference(c, sim, agent, tmp_path, consult=True):
    """agent1 (the page) answers a PRI caller, consults agent2 and presses Conference; check all three hear
    each other; return (call id, the Caller, the parties for listen())."""
    c.cti.hub.backend.login("agent2", ready=False)  # in, but only the consultation reaches them
    call_id, caller = talking_to_caller(agent, c, sim, f"http://127.0.0.1:{c.cti.port}")
    phone1, phone2 = c.board.emulator.far_ends["agent1"], c.board.emulator.far_ends["agent2"]

    def answered():
        if phone2.ringing:
            phone2.off_hook()
        conf = c.cti.hub.backend._conference.get("agent1")
        far = c.cti.hub.backend._consult.get("agent1") or (conf[0] if conf else None)
        return far is not None and far.answered_at is not None

    conference_with(agent, sim, "agent2", answered, consult)
    parties = {"caller": (channel_of(sim, caller), CALLER_HZ), "agent1": (phone1, AGENT_HZ),
               "agent2": (phone2, THIRD_HZ)}
    all_hear(sim, parties)
    assert c.acd.calls[call_id].hold_since is None  # nobody waits on hold in a conference
    agent.screenshot(str(tmp_path / "desktop-conference.png"))
    return call_id, caller, parties


@pytest.fixture
def conferenced(tmp_path, request):
    """agent1's page has the caller and agent2 in a conference (all three heard; agent2 consulted first
    unless the parameter is False); yield (Centre, Simulation, the page, call id, the Caller, the parties
    for listen())."""
    c, sim = desk_centre(tmp_path)
    agent = None
    try:
        agent = browser(tmp_path, "agent1")
        yield (c, sim, agent, *agent_conference(c, sim, agent, tmp_path, getattr(request, "param", True)))
        assert agent.evaluate("document.body.getAttribute('data-error')") is None
    finally:
        if agent is not None:
            agent.close()
        sim.close()


def leave(agent, phone, how):
    """agent1 leaves the conference: Hang up on the page, or the phone put down."""
    if how == "page":
        click(agent, "#hangup")
    else:
        phone.on_hook()


@pytest.mark.parametrize("how", ["page", "phone"])
def test_a_conference_with_another_agent_then_the_first_agent_leaves(conferenced, tmp_path, how):
    c, sim, agent, call_id, caller, parties = conferenced
    phone1, phone2 = parties["agent1"][0], parties["agent2"][0]
    # agent1 leaves: agent2 takes the call over (an attended transfer), with the caller
    leave(agent, phone1, how)
    agent.wait("document.getElementById('callstate').textContent === 'transferred to agent2'", sim.tick)
    agent.wait("document.querySelector('[data-k=state]').textContent === 'wrapup'", sim.tick)
    assert until(sim, lambda: c.acd.agents["agent2"].call == call_id
                 and c.acd.agents["agent2"].activity == "talking", 5)
    heard = listen(sim, parties)
    hears(heard, "caller", (THIRD_HZ,), (AGENT_HZ,))
    hears(heard, "agent2", (CALLER_HZ,), (AGENT_HZ,))
    hears(heard, "agent1", (), (CALLER_HZ, THIRD_HZ))
    agent.screenshot(str(tmp_path / f"desktop-conference-left-by-{how}.png"))
    assert text(agent, "wrap.call") == call_id
    phone1.on_hook()
    phone2.on_hook()  # agent2 ends the call
    row = ends_cleanly(c, sim, call_id, caller)
    assert row["caller"] == "2025550147" and row["agent"] == "agent2"


@pytest.mark.parametrize("how", ["page", "phone"])
def test_a_conference_with_an_outside_number_then_the_agent_leaves(tmp_path, how):
    c, sim = desk_centre(tmp_path)
    callee = Callee(OUTSIDE, answer_after=2.0, patience=40.0, talk=600.0)  # hangs up 40 s after answering
    sim.pstn.add_callee(callee)
    base = f"http://127.0.0.1:{c.cti.port}"
    agent = None
    try:
        agent = browser(tmp_path, "agent1")
        call_id, caller = talking_to_caller(agent, c, sim, base)
        phone1 = c.board.emulator.far_ends["agent1"]
        conference_with(agent, sim, OUTSIDE, lambda: callee.answered is not None)
        parties = {"caller": (channel_of(sim, caller), CALLER_HZ), "agent1": (phone1, AGENT_HZ),
                   "outside": (channel_of(sim, callee), THIRD_HZ)}
        all_hear(sim, parties)
        agent.screenshot(str(tmp_path / "desktop-conference-outside.png"))
        # the agent leaves: the caller and the outside party stay joined (the call goes on outside the ACD)
        leave(agent, phone1, how)
        agent.wait(f"document.getElementById('callstate').textContent === 'transferred to {OUTSIDE}'", sim.tick)
        agent.wait("document.querySelector('[data-k=state]').textContent === 'wrapup'", sim.tick)
        del parties["agent1"]
        heard = listen(sim, parties)
        hears(heard, "caller", (THIRD_HZ,), (AGENT_HZ,))
        hears(heard, "outside", (CALLER_HZ,), (AGENT_HZ,))
        phone1.on_hook()
        row = ends_cleanly(c, sim, call_id, caller)
        assert row["vars"]["transferred_to"] == OUTSIDE
        assert agent.evaluate("document.body.getAttribute('data-error')") is None
    finally:
        if agent is not None:
            agent.close()
        sim.close()


def test_a_conference_the_consulted_agent_leaves_first(conferenced):
    c, sim, agent, call_id, caller, parties = conferenced
    phone1, phone2 = parties["agent1"][0], parties["agent2"][0]
    phone2.on_hook()  # agent2 leaves: the caller and agent1 go on talking
    assert until(sim, lambda: [l.active for l in c.engine.calls[call_id].legs].count(True) == 2, 5)
    heard = listen(sim, parties)
    hears(heard, "caller", (AGENT_HZ,), (THIRD_HZ,))
    hears(heard, "agent1", (CALLER_HZ,), (THIRD_HZ,))
    assert c.acd.agents["agent1"].activity == "talking" and c.acd.agents["agent2"].call is None
    click(agent, "#hangup")
    agent.wait("document.querySelector('[data-k=state]').textContent === 'wrapup'", sim.tick)
    phone1.on_hook()
    row = ends_cleanly(c, sim, call_id, caller)
    assert row["agent"] == "agent1" and "transferred_to" not in row["vars"]


@pytest.mark.parametrize("conferenced", [False], indirect=True)
def test_conference_pressed_without_a_consultation_rings_the_target_and_joins_it(conferenced):
    c, sim, agent, call_id, caller, parties = conferenced
    parties["agent2"][0].on_hook()  # agent2 leaves, then agent1
    assert until(sim, lambda: not c.cti.hub.backend._conference, 5)
    parties["agent1"][0].on_hook()
    row = ends_cleanly(c, sim, call_id, caller)
    assert row["agent"] == "agent1"
