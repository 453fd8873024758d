"""The SIP centre end to end: the shipped sip-centre example (ports moved to free ones) built by the
composition root; a SIP caller reaches the main menu, keys 1, waits in the sales queue and is connected
to agent1 on a SIP phone registered to the centre; both hear each other; BYE leaves exactly one CDR and
nothing held."""
import os

from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once

from engine_sip_rig import Phone, free_rtp_range, hear_each_other, put_through, run
from pycallcenter import bundled
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.settings import load_text



def sip_centre(tmp_path, cache, extra="", tail=""):
    """Return the Centre of the shipped example on free ports, its prompts from the module's cache; extra
    lines go into its [sip] section, tail at the end of the file."""
    text = (bundled.examples_dir() / "sip-centre.toml").read_text().replace("[sip]\n", "[sip]\n" + extra, 1) + tail
    lo, hi = free_rtp_range()
    text = text.replace("port = 5060", "port = 0").replace("rtp_ports = [20000, 20999]", f"rtp_ports = [{lo}, {hi}]")
    (tmp_path / "data").mkdir()
    os.symlink(cache, tmp_path / "data" / "prompts")
    path = tmp_path / "sip-centre.toml"
    path.write_text(text)
    board_text, settings = load_text(text, file=str(path))
    centre = Centre(board_text, settings)
    centre.engine.log_lines = []
    return centre


def runner(centre):
    """Return go(seconds, *phones, until=None): the centre's ticks with the phones pumped (engine_sip_rig.run)."""
    return lambda seconds, *phones, until=None: run(centre.engine, seconds, *phones, until=until, tick=centre.tick)


def register(centre, go, *phones):
    """Register the phones to the centre's SIP address and wait until each is registered."""
    for p in phones:
        p.register(centre.sip.address, centre.engine.now / 8000)
    assert go(2.0, *phones, until=lambda: all("Registered" in p.kinds() for p in phones))


def key_1_in_the_menu(centre, go, caller, *others):
    """The caller dials the menu (sip:100), hears the welcome and the menu prompt and keys 1 (the sales
    queue, which rings agent1); others are pumped meanwhile."""
    caller.call("sip:100@127.0.0.1", centre.sip.address, centre.engine.now / 8000)
    assert go(2.0, caller, *others, until=lambda: "CallAnswered" in caller.kinds())
    assert go(20.0, caller, *others, until=lambda: kinds(centre).count("play") >= 2)
    caller.press("1")


def kinds(centre):
    return [line.split(" ", 2)[1] for line in centre.engine.log_lines]


def test_a_sip_caller_reaches_the_menu_the_queue_and_an_agent_on_a_registered_sip_phone(tmp_path, prompt_cache):
    centre = sip_centre(tmp_path, prompt_cache)
    eng, trunk = centre.engine, centre.sip
    agent = Phone("agent1", auth=("agent1", "agent1-secret"), answer_after=1.0)
    caller = Phone("2025550100")
    now = lambda: eng.now / 8000  # noqa: E731

    def go(seconds, *phones, until=None):
        return run(eng, seconds, *phones, until=until, tick=centre.tick)

    try:
        agent.register(trunk.address, now())
        assert go(2.0, agent, until=lambda: "Registered" in agent.kinds())
        assert centre.publish()["sip"]["registered"] == ["agent1"]  # the status file shows the phone
        caller.call("sip:100@127.0.0.1", trunk.address, now())
        assert go(2.0, caller, agent, until=lambda: "CallAnswered" in caller.kinds())
        # the welcome, then the menu prompt (key 1 is taken while it plays)
        assert go(20.0, caller, agent, until=lambda: kinds(centre).count("play") >= 2)
        assert caller.loud_ms(200) >= 500  # the welcome prompt was heard over RTP
        caller.press("1")
        assert go(10.0, caller, agent, until=lambda: "CallConfirmed" in agent.kinds())
        assert "menu" in kinds(centre)
        assert centre.publish()["sip"]["calls"] == {"guest": 1, "phone:agent1": 1}
        assert hear_each_other(caller, agent, go, 2.0)
        caller.hang_up(now())
        assert go(3.0, caller, agent, until=lambda: not eng.legs)
        assert "CallEnded" in agent.kinds()  # the agent's leg was cleared with the caller's
        assert centre.leaks() == []
    finally:
        centre.close()
        agent.close()
        caller.close()
    assert centre.writer.written == 1



def test_a_centre_with_tls_makes_its_certificate_and_a_phone_registers_over_tls(tmp_path, prompt_cache):
    import ssl

    from pycallcenter.cti.tls import server_context

    centre = sip_centre(tmp_path, prompt_cache, extra='transports = ["udp", "tls"]\ntls_port = 0\nsrtp = "offer"\n')
    eng, trunk = centre.engine, centre.sip
    cert = tmp_path / "data" / "cti-cert.pem"  # the self-signed certificate made at start
    tls = (server_context(cert, tmp_path / "data" / "cti-key.pem"), ssl.create_default_context(cafile=cert))
    agent = Phone("agent1", auth=("agent1", "agent1-secret"), transport="TLS", tls=tls)
    try:
        status = centre.publish()["sip"]
        assert set(status["transports"]) == {"udp", "tls"}
        agent.register(("127.0.0.1", status["transports"]["tls"]), eng.now / 8000)
        assert run(eng, 2.0, agent, until=lambda: "Registered" in agent.kinds(), tick=centre.tick)
        status = centre.publish()["sip"]
        assert status["registered"] == ["agent1"] and status["connections"] == {"tls": 1}
        assert trunk.srtp == "offer"
    finally:
        centre.close()
        agent.close()


def test_an_agent_refers_the_caller_back_to_the_menu_and_goes_to_wrap_up(tmp_path, prompt_cache):
    centre = sip_centre(tmp_path, prompt_cache)
    eng, trunk = centre.engine, centre.sip
    agent = Phone("agent1", auth=("agent1", "agent1-secret"), answer_after=1.0)
    caller = Phone("2025550100")
    now = lambda: eng.now / 8000  # noqa: E731
    acd = eng.acd_binding.acd
    go = runner(centre)

    try:
        register(centre, go, agent)
        key_1_in_the_menu(centre, go, caller, agent)
        assert go(10.0, caller, agent, until=lambda: "CallConfirmed" in agent.kinds())
        assert acd.agents["agent1"].state == "talking"
        plays = kinds(centre).count("play")
        agent._run(agent.ua.refer(agent.call_id, "sip:100@127.0.0.1", now()))
        assert go(3.0, caller, agent, until=lambda: "CallEnded" in agent.kinds())
        assert go(1.0, caller, agent, until=lambda: acd.agents["agent1"].state != "talking")
        assert acd.agents["agent1"].state in ("wrapup", "ready")  # the agent's leg ended like a hang-up
        assert go(10.0, caller, agent, until=lambda: kinds(centre).count("play") > plays)  # the menu again
        assert "sip_transfer" in kinds(centre)
        caller.hang_up(now())
        assert go(3.0, caller, agent, until=lambda: not eng.legs)
        assert centre.leaks() == []
    finally:
        centre.close()
        agent.close()
        caller.close()
    assert centre.writer.written == 1  # one call, one CDR


def test_an_agent_whose_sip_phone_is_not_registered_goes_not_ready_and_the_caller_is_not_kept_waiting(
        tmp_path, prompt_cache):
    """agent1 is ready but its SIP phone never registered: the offer fails at once (cause 20), so the ACD
    puts agent1 not ready with reason "unreachable" instead of offering the call to it again and again."""
    centre = sip_centre(tmp_path, prompt_cache)
    eng, trunk = centre.engine, centre.sip
    caller = Phone("2025550100")
    now = lambda: eng.now / 8000  # noqa: E731

    def go(seconds, *phones, until=None):
        return run(eng, seconds, *phones, until=until, tick=centre.tick)

    try:
        key_1_in_the_menu(centre, go, caller)
        acd = centre.acd
        assert go(10.0, caller, until=lambda: acd.agents["agent1"].paused), "\n".join(eng.log_lines[-20:])
        assert acd.agents["agent1"].reason == "unreachable"
        offers = sum(1 for e in acd.qlog if "RINGNOANSWER" in str(e) or "RINGCANCELED" in str(e))
        go(3.0, caller)
        assert sum(1 for e in acd.qlog if "RINGNOANSWER" in str(e) or "RINGCANCELED" in str(e)) == offers
        caller.hang_up(now())
        assert go(3.0, caller, until=lambda: not eng.legs)
        assert centre.leaks() == []
    finally:
        centre.close()
        caller.close()
    assert centre.writer.written == 1


def test_an_agent_consults_agent2_and_transfers_the_caller_attended_then_goes_to_wrap_up(tmp_path, prompt_cache):
    """agent1 talks to a queued caller, holds them, calls agent2 through the centre and REFERs the caller's call
    with Replaces naming that consultation: the caller talks to agent2, agent1's two calls are cleared, the
    ACD puts agent1 in wrap-up, and the two calls write one CDR each, the caller's noting the transfer."""
    from pycallcenter.storage import open_store

    centre = sip_centre(tmp_path, prompt_cache,
                        tail='\n[[sip.account]]\nuser = "agent2"\npassword = "agent2-secret"\n')
    eng, trunk = centre.engine, centre.sip
    agent = Phone("agent1", auth=("agent1", "agent1-secret"), answer_after=1.0)
    agent2 = Phone("agent2", auth=("agent2", "agent2-secret"))
    caller = Phone("2025550100")
    now = lambda: eng.now / 8000  # noqa: E731
    acd = eng.acd_binding.acd
    routed = eng.router

    consult = put_through("sip/agent2")  # what the centre's route table would do for an extension number
    eng.router = lambda leg: consult if leg.called == "agent2" else routed(leg)
    go = runner(centre)

    try:
        register(centre, go, agent, agent2)
        key_1_in_the_menu(centre, go, caller, agent)
        assert go(10.0, caller, agent, until=lambda: "CallConfirmed" in agent.kinds())
        assert acd.agents["agent1"].state == "talking"
        first = agent.call_id
        agent._run(agent.ua.hold(first, now()))
        second = agent.call("sip:agent2@127.0.0.1", trunk.address, now())
        assert go(3.0, caller, agent, agent2, until=lambda: agent.ua.dialogs[second].state == "confirmed")
        agent._run(agent.ua.refer(first, "sip:agent2@127.0.0.1", now(), replaces=second))
        assert go(3.0, caller, agent, agent2, until=lambda: agent.kinds().count("CallEnded") == 2), \
            "\n".join(eng.log_lines[-30:])
        assert go(1.0, caller, agent, agent2, until=lambda: acd.agents["agent1"].state != "talking")
        assert acd.agents["agent1"].state in ("wrapup", "ready")  # agent1's leg ended as after a hang-up
        assert hear_each_other(caller, agent2, go, 1.5)
        caller.hang_up(now())
        assert go(3.0, caller, agent2, until=lambda: not eng.legs)
        assert "CallEnded" in agent2.kinds()
        assert centre.leaks() == []
    finally:
        centre.close()
        for p in (agent, agent2, caller):
            p.close()
    assert centre.writer.written == 2  # the caller's call and the consultation, one CDR each
    store = open_store(str(tmp_path / "data"))
    try:
        rows = {row["vars"].get("transfer"): row for row in store.cdrs()}
    finally:
        store.close()
    assert set(rows) == {"attended", "consultation"}
    assert rows["attended"]["caller"] == "2025550100" and rows["attended"]["agent"] == "agent1"


def test_a_second_device_picks_up_the_call_the_acd_rings_on_agent1s_phone(tmp_path, prompt_cache):
    """The ACD rings agent1's SIP phone for a queued caller; agent1 answers on another device with an INVITE
    whose Replaces names the ringing call (a call pickup): the phone stops ringing (CANCEL), the ACD sees
    its agent answer and connects the caller, who talks to the device; one CDR, nothing left."""
    centre = sip_centre(tmp_path, prompt_cache)
    eng, trunk = centre.engine, centre.sip
    agent = Phone("agent1", auth=("agent1", "agent1-secret"), answer_after=30.0)
    desk = Phone("agent1-desk")
    caller = Phone("2025550100")
    now = lambda: eng.now / 8000  # noqa: E731
    acd = eng.acd_binding.acd
    go = runner(centre)

    try:
        register(centre, go, agent)
        key_1_in_the_menu(centre, go, caller, agent)
        assert go(10.0, caller, agent, until=lambda: "IncomingCall" in agent.kinds())
        go(0.3, caller, agent)
        d = agent.ua.dialogs[agent.call_id]
        desk.call("sip:agent1@127.0.0.1", trunk.address, now(),
                  replaces=f"{d.call_id};to-tag={d.remote_tag};from-tag={d.local_tag};early-only")
        assert go(3.0, caller, agent, desk, until=lambda: "CallAnswered" in desk.kinds() and
                  acd.agents["agent1"].state == "talking")
        assert "CallCancelled" in agent.kinds() and "sip_pickup" in kinds(centre)
        assert hear_each_other(caller, desk, go, 1.5)
        caller.hang_up(now())
        assert go(3.0, caller, desk, until=lambda: not eng.legs)
        assert "CallEnded" in desk.kinds() and centre.leaks() == []
    finally:
        centre.close()
        for p in (agent, desk, caller):
            p.close()
    assert centre.writer.written == 1
