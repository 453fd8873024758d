"""The supervisor console's listen, whisper and barge in headless Chromium, with the audio checked on the
emulated lines: a PRI caller talks to agent1; the supervisor presses each button in agent1's row of the
console, their phone (channel 34) rings and is lifted, and each party sends its own tone (the caller 600 Hz,
agent1 1 kHz, the supervisor 1.8 kHz). Listen: the supervisor hears both, nobody hears the supervisor.
Whisper: agent1 hears the supervisor, the caller does not. Barge: everyone hears everyone. The supervisor
hangs up after each, the agent keeps the caller; at the end the call has one CDR and nothing is left
behind. Screenshots go to the test's tmp dir."""
from test_desk_conference import AGENT_HZ, CALLER_HZ, THIRD_HZ, hears, listen
from test_desk_transfer_outside import browser, channel_of, desk_centre, ends_cleanly, until
from test_desktop import CALLER, click, login
from pycallcenter.sim.pstn import Caller

SUP_HZ = THIRD_HZ
# mode -> who hears what: (present, absent) for the caller, agent1 and the supervisor
EXPECTED = {
    "listen": {"caller": ((AGENT_HZ,), (SUP_HZ,)), "agent1": ((CALLER_HZ,), (SUP_HZ,)),
               "boss": ((CALLER_HZ, AGENT_HZ), ())},
    "whisper": {"caller": ((AGENT_HZ,), (SUP_HZ,)), "agent1": ((CALLER_HZ, SUP_HZ), ()),
                "boss": ((CALLER_HZ, AGENT_HZ), ())},
    "barge": {"caller": ((AGENT_HZ, SUP_HZ), ()), "agent1": ((CALLER_HZ, SUP_HZ), ()),
              "boss": ((CALLER_HZ, AGENT_HZ), ())},
}


def test_listen_whisper_and_barge_from_the_console_are_heard_by_the_right_parties(tmp_path):
    c, sim = desk_centre(tmp_path)
    base = f"http://127.0.0.1:{c.cti.port}"
    emu = c.board.emulator
    phone1, sup = emu.far_ends["agent1"], emu.far_ends["agent3"]  # agent1's phone; the supervisor's, channel 34
    boss = None
    try:
        boss = browser(tmp_path, "boss")
        c.cti.hub.backend.ready("agent1")
        sim.pstn.add(Caller(CALLER, "5000", arrival=c.engine.now / 8000 + 0.5, digits="1", digit_delay=3.0,
                            talk=600.0, patience=600.0))
        assert until(sim, lambda: phone1.ringing, 60)
        phone1.off_hook()
        assert until(sim, lambda: c.acd.agents["agent1"].activity == "talking", 10)
        call_id, caller = c.acd.agents["agent1"].call, sim.pstn.by_number[CALLER]
        assert login(boss, base, "boss", sim.tick) == "/console"
        boss.wait("document.querySelector('[data-k=\"a.agent1.state\"]') && "
                  "document.querySelector('[data-k=\"a.agent1.state\"]').textContent === 'talking'", sim.tick)
        parties = {"caller": (channel_of(sim, caller), CALLER_HZ), "agent1": (phone1, AGENT_HZ), "boss": (sup, SUP_HZ)}
        for mode, expected in EXPECTED.items():
            click(boss, f"tr[data-agent=agent1] button[data-act={mode}]")
            boss.wait(f"document.getElementById('log').textContent.indexOf('{mode} agent1: your phone channel/34 "
                      "rings') >= 0", sim.tick)
            assert until(sim, lambda: sup.ringing, 10)
            sup.off_hook()
            boss.wait(f"document.getElementById('log').textContent.split('{mode} on agent1').length === 2", sim.tick)
            heard = listen(sim, parties)
            for who, (present, absent) in expected.items():
                hears(heard, who, present, absent)
            boss.screenshot(str(tmp_path / f"console-{mode}.png"))
            sup.on_hook()  # the supervisor leaves; the agent and the caller go on
            assert until(sim, lambda: list(c.engine.calls) == [call_id], 5), (mode, c.engine.calls)  # its call ended
            assert c.acd.agents["agent1"].activity == "talking" and c.acd.agents["agent1"].call == call_id
        heard = listen(sim, parties)  # after the last: the supervisor is out of the call
        hears(heard, "caller", (AGENT_HZ,), (SUP_HZ,))
        hears(heard, "boss", (), (CALLER_HZ, AGENT_HZ))
        phone1.on_hook()
        row = ends_cleanly(c, sim, call_id, caller)
        assert row["agent"] == "agent1" and row["caller"] == CALLER
        assert boss.evaluate("document.body.getAttribute('data-error')") is None
    finally:
        if boss is not None:
            boss.close()
        sim.close()
