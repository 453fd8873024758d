"""Transfer to an outside number from the agent desktop, in headless Chromium, on a centre built by the
composition root on the emulator: a PRI caller reaches agent1, whose allow-list (`[[agent]] dial`) lets them
reach 020 numbers only. A premium-rate number and one outside the allow-list are refused with a message on
the page and nothing dialled; a blind transfer to a number typed on the dial pad, and a consultation that is
cancelled, then made again and completed, join the caller and the outside party (tones cross both ways on
the emulated PSTN), the agent goes to wrap-up, the note typed on the screen lands in the call's CDR, and when
the outside party hangs up the call leaves exactly one CDR and nothing behind. Screenshots go to the
test's tmp dir."""
import numpy as np
import pytest

from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.demo import board_config
from pycallcenter.apps.settings import load_text
from pycallcenter.apps.simulation import Simulation
from pycallcenter.dsp import g711
from pycallcenter.engine.media import Player
from pycallcenter.sim.pstn import Callee, Caller
from test_desktop import CALLER, CONFIG, click, login, text, users_file
from test_webrtc_browser import peak_hz
from web_browser import Browser, chromium

OUTSIDE = "0201234567"  # the outside party (an emulated PSTN subscriber who answers)


def desk_centre(tmp_path, *edits):
    """Return (Centre, Simulation) of the desktop test's configuration with edits ((old, new) text
    replacements, each checked to apply) and a 120 s wrap-up."""
    (tmp_path / "users.toml").write_text(users_file())
    config = CONFIG
    for old, new in (("ring_timeout = 60\n", "ring_timeout = 60\nwrapup = 120\n"), *edits):
        assert old in config, old
        config = config.replace(old, new)
    path = tmp_path / "centre.toml"
    path.write_text(board_config(3, 1) + config.format(data=tmp_path / "data"))
    board_text, settings = load_text(path.read_text(), file=str(path))
    c = Centre(board_text, settings)
    return c, Simulation(c, hours=0)


def browser(tmp_path, name):
    """Return a headless Chromium with its own profile (the test is skipped without Chromium)."""
    if chromium() is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); the browser check did not run")
    return Browser(str(tmp_path / f"{name}-profile"))


@pytest.fixture
def centre(tmp_path):
    """The desktop test's centre, agent1 allowed to dial 020 numbers only; the outside party answers in 2 s
    and hangs up 30 s after answering."""
    c, sim = desk_centre(tmp_path, ('name = "agent1"\ncontact = "channel/32"\n',
                                    'name = "agent1"\ncontact = "channel/32"\ndial = ["_020X."]\n'))
    sim.pstn.add_callee(Callee(OUTSIDE, answer_after=2.0, patience=30.0, talk=600.0))
    yield c, sim
    sim.close()


def tone(freq, seconds=20):
    t = np.arange(8000 * seconds)
    return Player([(6000 * np.sin(2 * np.pi * freq * t / 8000)).astype(np.int16)])


def channel_of(sim, who):
    """Return the PRI channel of a simulated caller or callee in a call."""
    calls = list(sim.pstn.active.items()) + list(sim.pstn.answering.items())
    return next(call.channel for call, w in calls if w is who)


def heard(sim, channel, ticks=60, keep=40):
    """Tick; return what the PSTN side heard on channel over the last `keep` ticks (linear samples)."""
    decode = g711.alaw_decode if sim.pstn.law.value == "alaw" else g711.ulaw_decode
    out = []
    for _ in range(ticks):
        sim.tick()
        out.append(decode(sim.pstn.far.last_rx[channel - 1]))
    return np.concatenate(out[-keep:])


def joined(sim, caller, callee):
    """Check the caller and the outside party hear each other: 600 Hz one way, 1 kHz the other."""
    a, b = channel_of(sim, caller), channel_of(sim, callee)
    sim.pstn.audio[a], sim.pstn.audio[b] = tone(600), tone(1000)
    at_callee, at_caller = heard(sim, b), heard(sim, a)
    for got, freq in ((at_callee, 600), (at_caller, 1000)):
        assert abs(peak_hz(got) - freq) < 20 and np.sqrt(np.mean(got.astype(np.float64) ** 2)) > 300, freq
    sim.pstn.audio.pop(a, None)
    sim.pstn.audio.pop(b, None)


def until(sim, check, seconds):
    for _ in range(int(seconds * 50)):
        if check():
            return True
        sim.tick()
    return check()


def talking_to_caller(agent, c, sim, base):
    """agent1 logs in, gets ready and answers a PRI caller who pressed 1; return (ACD call id, the Caller)."""
    login(agent, base, "agent1", sim.tick)
    click(agent, "#ready")
    agent.wait("document.querySelector('[data-k=state]').textContent === 'ready'", sim.tick)
    sim.pstn.add(Caller(CALLER, "5000", arrival=c.engine.now / 8000 + 0.5, digits="1", digit_delay=3.0,
                        talk=600.0, patience=600.0))
    agent.wait(f"document.querySelector('[data-k=\"pop.caller\"]').textContent === '{CALLER}'", sim.tick, 90)
    click(agent, "#answer")
    agent.wait("document.querySelector('[data-k=state]').textContent === 'talking'", sim.tick)
    return c.acd.agents["agent1"].call, sim.pstn.by_number[CALLER]


def ends_cleanly(c, sim, call_id, caller):
    """When the outside party hangs up, everything ends: one CDR for the call, nothing left behind; return it."""
    assert until(sim, lambda: caller.ended is not None and not c.engine.calls and not c.engine.leaks(), 60)
    assert c.binding.leaks() == [] and c.engine.leaks() == []
    c.writer.flush()
    rows = [r for r in c.store.cdrs() if r["call_id"] == call_id]
    assert len(rows) == 1
    return rows[0]


def refused(agent, sim, button, why):
    """Press a transfer button whose number the dial policy refuses: the page says why."""
    click(agent, button)
    agent.wait(f"document.getElementById('xferstatus').textContent.indexOf({why!r}) >= 0", sim.tick)


def test_blind_transfer_to_a_number_from_the_dial_pad(centre, tmp_path):
    c, sim = centre
    base = f"http://127.0.0.1:{c.cti.port}"
    agent = browser(tmp_path, "agent")
    try:
        call_id, caller = talking_to_caller(agent, c, sim, base)
        call = c.engine.calls[call_id]
        legs = len(call.legs)
        # refused numbers: a clear line on the page, nothing dialled, the agent still talking
        agent.evaluate("document.getElementById('xfer').value='0900123456';true")
        refused(agent, sim, "#transfer", "premium-rate numbers are blocked")
        agent.evaluate("document.getElementById('xfer').value='0301234567';true")
        refused(agent, sim, "#transfer", "not in agent1's dial allow-list")
        agent.screenshot(str(tmp_path / "desktop-transfer-refused.png"))
        for _ in range(20):
            sim.tick()
        assert len(call.legs) == legs and not sim.pstn.callees[OUTSIDE].attempts and not sim.pstn.answering
        assert c.acd.agents["agent1"].activity == "talking"
        # a note for the record, then the number typed on the pad and a blind transfer
        agent.evaluate("document.getElementById('xnote').value='Wants the warehouse about order 88';"
                       "document.getElementById('padtype').click();true")
        for d in OUTSIDE:
            click(agent, f"#pad button[data-digit='{d}']")
        assert agent.evaluate("document.getElementById('padnum').value") == OUTSIDE
        click(agent, "#padxfer")
        agent.wait(f"document.getElementById('callstate').textContent === 'transferred to {OUTSIDE}'", sim.tick)
        agent.wait("document.querySelector('[data-k=state]').textContent === 'wrapup'", sim.tick)
        callee = sim.pstn.callees[OUTSIDE]
        assert until(sim, lambda: callee.answered is not None, 10)
        until(sim, lambda: False, 0.5)
        assert call.caller_leg.row not in c.engine.media.tone_rows  # ringback stops on the answer
        joined(sim, caller, callee)
        agent.screenshot(str(tmp_path / "desktop-transferred-out.png"))
        assert c.acd.agents["agent1"].activity == "wrapup" and call_id not in c.acd.calls
        # the wrap-up of a call that goes on outside: saved into its CDR once the call ends
        agent.evaluate("document.getElementById('code').value='sale';"
                       "document.getElementById('notes').value='Passed to the warehouse';true")
        click(agent, "#save")
        agent.wait("document.querySelector('[data-k=\"wrap.status\"]').getAttribute('data-saved') === 'pending'",
                   sim.tick)
        row = ends_cleanly(c, sim, call_id, caller)
        agent.wait("document.querySelector('[data-k=\"wrap.status\"]').getAttribute('data-saved') === 'yes'",
                   sim.tick)
        c.writer.flush()
        (row,) = [r for r in c.store.cdrs() if r["call_id"] == call_id]
        assert (row["wrapup_code"], row["wrapup_notes"], row["wrapup_agent"]) == (
            "sale", "Passed to the warehouse", "agent1")
        assert row["vars"]["note"] == "Wants the warehouse about order 88" and row["agent"] == "agent1"
        assert row["vars"]["transferred_to"] == OUTSIDE
        assert agent.evaluate("document.body.getAttribute('data-error')") is None
    finally:
        agent.close()


def test_consult_a_number_cancel_then_consult_again_and_complete(centre, tmp_path):
    c, sim = centre
    base = f"http://127.0.0.1:{c.cti.port}"
    agent = browser(tmp_path, "agent")
    try:
        call_id, caller = talking_to_caller(agent, c, sim, base)
        callee = sim.pstn.callees[OUTSIDE]
        agent.evaluate(f"document.getElementById('xfer').value='{OUTSIDE}';true")
        click(agent, "#consult")  # the caller waits on hold while the number rings
        agent.wait("document.getElementById('status').textContent === 'consult: ok'", sim.tick)
        assert until(sim, lambda: callee.answered is not None, 10)
        assert c.acd.calls[call_id].hold_since is not None
        click(agent, "#cancelconsult")  # the outside party is hung up, the caller is back with the agent
        agent.wait("document.getElementById('status').textContent === 'consult_cancel: ok'", sim.tick)
        assert until(sim, lambda: len(callee.attempts) == 1 and not callee.kind, 10)
        assert c.acd.calls[call_id].hold_since is None and c.acd.agents["agent1"].activity == "talking"
        click(agent, "#consult")
        assert until(sim, lambda: callee.kind and callee.answered is not None and len(callee.attempts) == 1, 10)
        click(agent, "#complete")
        agent.wait(f"document.getElementById('callstate').textContent === 'transferred to {OUTSIDE}'", sim.tick)
        agent.wait("document.querySelector('[data-k=state]').textContent === 'wrapup'", sim.tick)
        joined(sim, caller, callee)  # the caller is off hold and with the outside party
        agent.screenshot(str(tmp_path / "desktop-consult-completed.png"))
        assert text(agent, "wrap.call") == call_id
        row = ends_cleanly(c, sim, call_id, caller)
        assert row["caller"] == CALLER and len(callee.attempts) == 2 and row["vars"]["transferred_to"] == OUTSIDE
        assert agent.evaluate("document.body.getAttribute('data-error')") is None
    finally:
        agent.close()


def test_a_blind_transfer_nobody_answers_rings_for_a_bounded_time_then_ends_cleanly(centre):
    c, sim = centre
    nobody = Callee("0207654321", kinds=("no_answer",))
    sim.pstn.add_callee(nobody)
    backend = c.cti.hub.backend  # the CTI's own operations (the same the page's transfer command runs)
    backend.ready("agent1")
    sim.pstn.add(Caller(CALLER, "5000", arrival=c.engine.now / 8000 + 0.5, digits="1", digit_delay=3.0,
                        talk=600.0, patience=600.0))
    phone = c.board.emulator.far_ends["agent1"]
    assert until(sim, lambda: phone.ringing, 60)
    phone.off_hook()
    assert until(sim, lambda: c.acd.agents["agent1"].activity == "talking", 10)
    call_id, caller = c.acd.agents["agent1"].call, sim.pstn.by_number[CALLER]
    assert backend.transfer("agent1", "0207654321") == {"call": call_id, "target": "0207654321"}
    assert until(sim, lambda: nobody.kind == "no_answer", 5)
    t0 = c.engine.now / 8000
    # the caller hears ringback while the number rings (the plan's 425 Hz, 1 s on in 5)
    ring = heard(sim, channel_of(sim, caller), 250, keep=250)
    assert abs(peak_hz(ring) - 425) < 15 and np.sqrt(np.mean(ring.astype(np.float64) ** 2)) > 100
    assert until(sim, lambda: caller.ended is not None, 60)
    assert 44.0 <= c.engine.now / 8000 - t0 <= 47.0  # OUTSIDE_RING_SECONDS, then the caller's call ends
    assert nobody.attempts[-1][-1] == 19  # the centre gave up: no answer
    row = ends_cleanly(c, sim, call_id, caller)
    assert row["agent"] == "agent1" and c.acd.agents["agent1"].activity == "wrapup"
