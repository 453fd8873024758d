"""SIPp 3.6 (Debian sip-tester) judges the engine's transfers on loopback, in real time: our own scenario
files under tests/sipp/, each with a digest challenge answered by SIPp's [authentication].

- invite_replaces.xml: SIPp sends an INVITE with Replaces naming the centre's call with agent1's phone; it
  takes agent1's place beside the caller (agent1 gets BYE), then hangs up, which clears the caller.
- refer_replaces.xml: SIPp calls the centre, is put through to agent1, then REFERs its call with Replaces
  naming a consultation another phone has with agent2 through the centre: SIPp gets 202, NOTIFY 100 and
  NOTIFY 200 (subscription terminated), then BYE; agent1 and agent2 talk; the consulting phone gets BYE.
SIPp's statistics decide its side; the engine's log and the phones decide ours."""
import subprocess
from urllib.parse import quote

import pytest

from engine_sip_rig import Phone, hear_each_other, put_through, run
from sip_sipp import MISSING, SCENARIOS, SIPP, free_udp_port, last_stats
from test_sip_engine import rig  # noqa: F401 - the fixture is shared

pytestmark = [pytest.mark.peer, pytest.mark.skipif(SIPP is None, reason=MISSING)]

ACCOUNTS = {"alice": "wonderland", "agent1": "s1", "agent2": "s2", "2025550100": "c", "p": "p"}


def start_sipp(tmp_path, trunk, scenario, service, replaces=None):
    """Start SIPp on one call of scenario to the trunk (with the Replaces value as its 'replaces' key)."""
    keys = ["-key", "replaces", replaces] if replaces is not None else []
    args = [SIPP, "-sf", str(SCENARIOS / scenario), f"127.0.0.1:{trunk.address[1]}", "-s", service,
            "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(free_udp_port()), "-m", "1", *keys, "-nostdin", "-trace_stat", "-stf", str(tmp_path / "stats.csv"),
            "-trace_err", "-error_file", str(tmp_path / "errors.log"), "-timeout", "20s", "-timeout_error"]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)


def finish_sipp(proc, tmp_path):
    """Wait for SIPp; assert it counted one successful call and no failure."""
    out, err = proc.communicate(timeout=30)
    errors = (tmp_path / "errors.log").read_text() if (tmp_path / "errors.log").exists() else ""
    assert proc.returncode == 0, (proc.returncode, err.decode(errors="replace")[-2000:], errors[-3000:])
    stats = last_stats(tmp_path)
    assert int(stats["SuccessfulCall(C)"]) == 1 and int(stats["FailedCall(C)"]) == 0, stats


def _centre(rig):
    build, keep = rig
    eng, trunk = build(accounts=ACCOUNTS, guests=False, digest=["MD5"])

    routes = {"100": put_through("sip/agent1"), "agent2": put_through("sip/agent2")}
    eng.router = lambda leg: routes.get(leg.called)
    phones = {u: Phone(u, auth=(u, ACCOUNTS[u])) for u in ("agent1", "agent2", "2025550100", "p")}
    for p in phones.values():
        keep(p)
    for u in ("agent1", "agent2"):
        phones[u].register(trunk.address, eng.now / 8000)
    assert run(eng, 2.0, *phones.values(), until=lambda: all(
        "Registered" in phones[u].kinds() for u in ("agent1", "agent2")))
    return eng, trunk, phones


def _replaces(phone):
    """Return the Replaces value naming the centre's side of phone's current call (to-tag: the centre's)."""
    d = phone.ua.dialogs[phone.call_id]
    return f"{d.call_id};to-tag={d.remote_tag};from-tag={d.local_tag}"


def test_sipp_invite_with_replaces_takes_the_agents_place(rig, tmp_path):
    eng, trunk, phones = _centre(rig)
    agent, caller = phones["agent1"], phones["2025550100"]
    caller.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 3.0, caller, agent, until=lambda: "CallConfirmed" in agent.kinds())
    proc = start_sipp(tmp_path, trunk, "invite_replaces.xml", "agent1", _replaces(agent))
    try:
        assert run(eng, 15.0, caller, agent, realtime=True, until=lambda: proc.poll() is not None)
    finally:
        finish_sipp(proc, tmp_path)
    assert [e.by for e in agent.events if type(e).__name__ == "CallEnded"] == ["remote"]  # replaced: BYE
    assert any(" sip_replaces " in line for line in eng.log_lines)
    assert run(eng, 2.0, caller, until=lambda: not eng.legs)
    assert "CallEnded" in caller.kinds()  # SIPp, in agent1's place, hung up: the caller is cleared
    assert eng.leaks() == [] and trunk.sessions == {}


def test_sipp_refers_its_call_with_replaces_and_gets_notify_200_then_bye(rig, tmp_path):
    eng, trunk, phones = _centre(rig)
    agent, agent2, consulting = phones["agent1"], phones["agent2"], phones["p"]
    consulting.call("sip:agent2@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 3.0, consulting, agent2, until=lambda: "CallConfirmed" in agent2.kinds() and
               "CallAnswered" in consulting.kinds())
    proc = start_sipp(tmp_path, trunk, "refer_replaces.xml", "100", quote(_replaces(consulting), safe=""))
    try:
        assert run(eng, 15.0, agent, agent2, consulting, realtime=True, until=lambda: proc.poll() is not None)
    finally:
        finish_sipp(proc, tmp_path)
    assert "CallEnded" in consulting.kinds()  # the consultation's leg was cleared
    assert any(" sip_transfer " in line and "replaces=" in line for line in eng.log_lines)
    assert hear_each_other(agent, agent2, lambda seconds, *p: run(eng, seconds, *p))  # agent1 now talks to agent2
    agent.hang_up(eng.now / 8000)
    assert run(eng, 2.0, agent, agent2, until=lambda: not eng.legs)
    assert "CallEnded" in agent2.kinds() and eng.leaks() == []
