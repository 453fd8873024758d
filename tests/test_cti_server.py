"""The CTI server end to end over loopback: a real WebSocket client (and JSON lines over TCP) against
the emulated centre; events, commands, supervisor features and bad input."""
import json
import random
import socket

import pytest

from cti_rig import Centre
from pycallcenter.cti import client as ws


@pytest.fixture
def centre():
    c = Centre()
    yield c
    c.close()


def events(frames, name=None):
    return [f for f in frames if f["type"] == "event" and (name is None or f["event"] == name)]


def wait_event(centre, client, name, pred=lambda f: True, max_ticks=3000):
    """Tick until client gets event name (matching pred); return it, keeping the other frames pending."""
    box = []

    def done(got):
        box[:] = [f for f in got[id(client)] if f["type"] == "event" and f["event"] == name and pred(f)]
        return bool(box)

    got = centre.pump([client], done, max_ticks)
    client.pending = [f for f in got[id(client)] if f is not box[0]] + client.pending
    return box[0]


def offered_and_answered(centre, a1, number="2025550100"):
    centre.caller(number, arrival=centre.eng.now / 8000 + 0.5)
    pop = wait_event(centre, a1, "call_offered")
    assert centre.request(a1, {"cmd": "answer"})["type"] == "reply"
    wait_event(centre, a1, "call_answered")
    return pop


def test_agent_call_flow_with_screen_pop_hold_record_hangup_and_wrapup(centre, tmp_path):
    centre.eng.recordings_dir = str(tmp_path)
    a1, boss = centre.client("tok-a1"), centre.client("tok-boss")
    pop = offered_and_answered(centre, a1)
    assert pop["agent"] == "agent1" and pop["caller"] == "2025550100" and pop["queue"] == "sales"
    assert pop["data"]["account"] == "4711" and pop["data"]["menu"] == "2"
    call = pop["call"]
    assert centre.binding.acd.agents["agent1"].state == "talking"
    assert centre.request(a1, {"cmd": "hold"})["type"] == "reply"
    assert wait_event(centre, a1, "call_held")["call"] == call
    err = centre.request(a1, {"cmd": "hold"})
    assert (err["type"], err["code"]) == ("error", "bad_state") and "already_on_hold" in err["message"]
    centre.request(a1, {"cmd": "retrieve"})
    wait_event(centre, a1, "call_retrieved")
    rec = centre.request(a1, {"cmd": "record_start"})
    assert rec["type"] == "reply"
    centre.run(1.0)
    stop = centre.request(a1, {"cmd": "record_stop"})
    assert stop["seconds"] >= 0.9 and stop["path"].startswith(str(tmp_path))
    centre.request(a1, {"cmd": "hangup"})
    ended = wait_event(centre, a1, "call_ended")
    assert ended["cause"] == 16 and ended["call"] == call
    wait_event(centre, a1, "agent_state", lambda f: f["state"] == "wrapup")
    centre.request(a1, {"cmd": "end_wrapup"})
    wait_event(centre, a1, "agent_state", lambda f: f["state"] == "ready")
    centre.request(a1, {"cmd": "not_ready", "reason": "lunch"})
    st = wait_event(centre, a1, "agent_state", lambda f: f["state"] == "paused")
    assert st["reason"] == "lunch"
    # the supervisor saw it all, and queue statistics
    frames = boss.receive()
    names = [f["event"] for f in events(frames)]
    assert {"call_offered", "call_answered", "call_held", "call_ended", "agent_state", "queue_stats"} <= set(names)
    snap = centre.request(boss, {"cmd": "agent_snapshot"})
    assert {a["name"]: (a["state"], a["reason"]) for a in snap["agents"]}["agent1"] == ("paused", "lunch")
    qs = centre.request(boss, {"cmd": "queue_snapshot"})["queues"]
    assert [q["queue"] for q in qs] == ["sales", "support"] and qs[0]["answered"] == 1


def test_a_new_session_gets_the_current_picture(centre):
    a2, boss = centre.client("tok-a2"), centre.client("tok-boss")
    mine = events(centre.pump([a2], lambda g: len(g[id(a2)]) >= 2)[id(a2)])
    assert [(f["event"], f.get("agent"), f.get("state")) for f in mine] == [
        ("queue_stats", None, None), ("agent_state", "agent2", "paused")]
    theirs = events(centre.pump([boss], lambda g: len(g[id(boss)]) >= 3)[id(boss)])
    assert {f["agent"]: f["state"] for f in theirs if f["event"] == "agent_state"} == {
        "agent1": "ready", "agent2": "paused"}


def test_bad_input_gets_error_codes_and_the_connection_survives(centre):
    c = centre.client()
    assert centre.request(c, {"cmd": "ready"})["code"] == "not_authenticated"
    assert centre.request(c, {"cmd": "auth", "token": "wrong"})["code"] == "bad_token"
    assert centre.request(c, {"cmd": "auth", "token": 12})["code"] == "rate_limited"  # backoff per address
    centre.server.guard.unlock("127.0.0.1")
    assert centre.request(c, {"cmd": "auth", "token": 12})["code"] == "bad_token"
    centre.server.guard.unlock("127.0.0.1")
    centre.request(c, {"cmd": "auth", "token": "tok-a1"})
    c.send_raw(ws.TEXT, "{not json")
    c.send_raw(ws.TEXT, '"a string"')
    c.send_raw(ws.TEXT, '{"cmd":"teleport","id":9}')
    c.send_raw(ws.BINARY, b"\x00\x01")
    errors = lambda g: [f for f in g[id(c)] if f["type"] == "error"]  # noqa: E731
    got = errors(centre.pump([c], lambda g: len(errors(g)) >= 4))
    assert [f["code"] for f in got[:4]] == ["malformed_json", "bad_message", "unknown_command", "bad_message"]
    assert centre.request(c, {"cmd": "end_wrapup"})["code"] == "bad_state"
    assert centre.request(c, {"cmd": "answer"})["code"] == "bad_state"
    assert centre.request(c, {"cmd": "force_logout", "agent": "agent2"})["code"] == "forbidden"
    assert centre.request(c, {"cmd": "transfer"})["code"] == "bad_message"
    assert centre.request(c, {"cmd": "login"})["code"] == "bad_state"  # already logged in
    # fragmented text message with a ping between the fragments: the server reassembles and pongs
    pong = c.conn.ping(b"are you there")
    c.send_raw(ws.TEXT, '{"cmd":"pi', fin=False)
    c.send_raw(ws.PING, b"in between")
    c.send_raw(ws.CONT, 'ng","id":"frag"}', fin=True)
    got = centre.pump([c], lambda g: any(f.get("id") == "frag" for f in g[id(c)]))[id(c)]
    assert [f for f in got if f.get("id") == "frag"][0]["type"] == "reply"
    assert pong.wait(5)
    assert not c.closed and centre.eng.errors == [] and not centre.hub.internal


@pytest.mark.parametrize("frame, code", [
    (bytes([0xF1, 0x85]) + b"\0\0\0\0hello", 1002),  # reserved bits set
    (bytes([0x83, 0x85]) + b"\0\0\0\0hello", 1002),  # opcode 3 is reserved
    (bytes([0x81, 0x82]) + b"\0\0\0\0\xc3\x28", 1007),  # text that is not UTF-8
])
def test_broken_framing_closes_with_a_close_frame_but_the_server_goes_on(centre, frame, code):
    c = centre.client("tok-a1")
    c.sock.sendall(frame)
    centre.pump([c], lambda g: c.receive() == [] and c.closed)
    assert c.close_code == code
    other = centre.client("tok-a2")
    assert centre.request(other, {"cmd": "ping"})["type"] == "reply"


def test_rate_limit_refuses_a_flood_and_keeps_the_connection():
    centre = Centre(rate=1.0, burst=5)
    try:
        c = centre.client("tok-a1")
        for i in range(30):
            c.send({"cmd": "ping", "id": i})
        answers = lambda g: [f for f in g[id(c)] if f["type"] != "event"]  # noqa: E731
        got = answers(centre.pump([c], lambda g: len(answers(g)) >= 30))
        limited = [f for f in got if f.get("code") == "rate_limited"]
        assert 20 <= len(limited) <= 29 and len(got) == 30
        assert not c.closed
    finally:
        centre.close()


def test_json_lines_over_tcp(centre):
    s = socket.create_connection(("127.0.0.1", centre.hub and centre.server.tcp_port), timeout=5)
    s.sendall(b'{"cmd":"auth","token":"tok-boss","id":1}\nnot json\n{"cmd":"queue_snapshot","id":2}\n')
    f = s.makefile("rb")
    replies = {}
    s.setblocking(False)
    for _ in range(2000):
        centre.tick()
        try:
            line = f.readline()
        except (BlockingIOError, TypeError):
            line = None
        if line:
            msg = json.loads(line)
            if msg["type"] != "event":
                replies[msg.get("id")] = msg
        if 2 in replies:
            break
    assert replies[1]["role"] == "supervisor" and replies[None]["code"] == "malformed_json"
    assert [q["queue"] for q in replies[2]["queues"]] == ["sales", "support"]
    s.close()


def test_blind_transfer_carries_the_call_data_to_the_next_agent(centre):
    a1, a2 = centre.client("tok-a1"), centre.client("tok-a2")
    centre.request(a2, {"cmd": "ready"})
    pop = offered_and_answered(centre, a1)
    assert centre.request(a1, {"cmd": "transfer", "target": "agent2"})["type"] == "reply"
    t = wait_event(centre, a1, "call_transferred")
    assert t["target"] == "agent2" and t["data"]["account"] == "4711"
    pop2 = wait_event(centre, a2, "call_offered")
    assert pop2["call"] == pop["call"] and pop2["data"]["account"] == "4711" and pop2["caller"] == "2025550100"
    centre.request(a2, {"cmd": "answer"})
    wait_event(centre, a2, "call_answered")
    acd = centre.binding.acd
    assert acd.agents["agent2"].state == "talking" and acd.agents["agent1"].state != "talking"
    assert centre.eng.calls[pop["call"]].caller_leg.active and not centre.pstn.done


def test_attended_transfer_and_conference(centre):
    a1, a2 = centre.client("tok-a1"), centre.client("tok-a2")
    pop = offered_and_answered(centre, a1)
    # agent2 is not ready (paused) so the queue does not offer them calls, but can be consulted
    assert centre.request(a1, {"cmd": "transfer", "target": "agent2", "attended": True})["code"] == "bad_state"
    assert centre.request(a1, {"cmd": "consult", "target": "agent2"})["type"] == "reply"
    wait_event(centre, a1, "call_held")
    centre.pump([a1], lambda g: centre.phones["agent2"].ringing)
    centre.phones["agent2"].off_hook()
    centre.run(0.5)
    assert centre.request(a1, {"cmd": "conference", "target": "agent2"})["type"] == "reply"
    conf = wait_event(centre, a1, "call_conferenced")
    assert conf["parties"] == 3 and conf["call"] == pop["call"]
    # agent1 leaves: agent2 keeps the caller (the call is handed over, not cleared)
    assert centre.request(a1, {"cmd": "hangup"})["type"] == "reply"
    centre.run(2.0)
    acd = centre.binding.acd
    assert acd.agents["agent2"].state == "talking" and acd.agents["agent2"].call == pop["call"]
    assert centre.eng.calls[pop["call"]].caller_leg.active and not centre.pstn.done


def test_attended_transfer_hands_the_call_over(centre):
    a1, a2 = centre.client("tok-a1"), centre.client("tok-a2")
    centre.request(a2, {"cmd": "ready"})
    centre.request(a2, {"cmd": "dnd", "on": True})
    pop = offered_and_answered(centre, a1)
    centre.request(a1, {"cmd": "consult", "target": "agent2"})
    centre.pump([a1], lambda g: centre.phones["agent2"].ringing)
    centre.phones["agent2"].off_hook()
    centre.run(0.5)
    centre.request(a2, {"cmd": "dnd", "on": False})
    r = centre.request(a1, {"cmd": "transfer", "target": "agent2", "attended": True})
    assert r["type"] == "reply", r
    ans = wait_event(centre, a2, "call_answered")
    assert ans["call"] == pop["call"] and ans["data"]["account"] == "4711"
    acd = centre.binding.acd
    centre.run(0.5)
    assert acd.agents["agent2"].state == "talking" and acd.agents["agent2"].call == pop["call"]
    assert acd.agents["agent1"].state == "wrapup"
    call = centre.eng.calls[pop["call"]]  # the caller is still there, now talking to agent2
    assert call.caller_leg.active and not centre.pstn.done
    far = centre.binding.agent_leg["agent2"]
    assert any(line.endswith(f" bridged a={call.caller_leg.id} b={far.id}") for line in centre.eng.log_lines)


def test_supervisor_monitor_force_state_and_messages(centre):
    a1, a2, boss = centre.client("tok-a1"), centre.client("tok-a2"), centre.client("tok-boss")
    offered_and_answered(centre, a1)
    r = centre.request(boss, {"cmd": "monitor", "agent": "agent1", "mode": "whisper"})
    assert r["ringing"] == "channel/34"
    centre.pump([boss], lambda g: centre.phones["boss"].ringing)
    centre.phones["boss"].off_hook()
    mon = wait_event(centre, boss, "monitoring")
    assert (mon["agent"], mon["mode"]) == ("agent1", "whisper")
    assert centre.request(boss, {"cmd": "monitor", "agent": "agent1", "mode": "shout"})["code"] == "bad_message"
    assert centre.request(boss, {"cmd": "force_state", "agent": "agent2", "state": "ready"})["type"] == "reply"
    wait_event(centre, a2, "agent_state", lambda f: f["state"] == "ready")
    r = centre.request(a1, {"cmd": "message", "to": "agent2", "text": "can you take the next one?"})
    assert r["delivered"] == 1
    msg = wait_event(centre, a2, "message")
    assert msg["from"] == "agent1" and msg["text"].startswith("can you")
    assert centre.request(a1, {"cmd": "message", "to": "nobody", "text": "x"})["code"] == "bad_state"
    assert centre.request(boss, {"cmd": "force_logout", "agent": "agent1"})["type"] == "reply"
    wait_event(centre, a1, "agent_state", lambda f: f["state"] == "logged_out")
    assert not events(a1.receive(), "monitoring")  # the agent is never told about listening


def test_pickup_of_a_call_ringing_another_agent(centre):
    a1, a2 = centre.client("tok-a1"), centre.client("tok-a2")
    centre.caller("2025550177", arrival=0.5)
    pop = wait_event(centre, a1, "call_offered")
    centre.request(a2, {"cmd": "ready"})
    centre.request(a2, {"cmd": "dnd", "on": True})  # so the queue does not offer agent2 anything itself
    centre.request(a2, {"cmd": "dnd", "on": False})
    r = centre.request(a2, {"cmd": "pickup", "call": pop["call"]})
    assert r["type"] == "reply", r
    wait_event(centre, a1, "call_withdrawn")
    centre.pump([a2], lambda g: centre.phones["agent2"].ringing)
    centre.phones["agent2"].off_hook()
    centre.run(0.5)
    assert centre.binding.acd.agents["agent2"].state == "talking"


def test_independent_websockets_peer():
    websockets = pytest.importorskip("websockets.sync.client", reason="the websockets package is not installed")
    centre = Centre()
    try:
        with websockets.connect(f"ws://127.0.0.1:{centre.server.port}/cti") as conn:
            conn.send(json.dumps({"cmd": "auth", "token": "tok-a1", "id": 1}))
            conn.send(json.dumps({"cmd": "ping", "id": 2}))
            replies = []
            for _ in range(2000):
                centre.tick()
                try:
                    replies.append(json.loads(conn.recv(timeout=0.002)))
                except TimeoutError:
                    pass
                if any(r.get("id") == 2 for r in replies):
                    break
            assert [r["type"] for r in replies if r.get("id") in (1, 2)] == ["reply", "reply"]
    finally:
        centre.close()


def test_click_to_dial_rings_the_agent_then_the_target_and_bridges(centre):
    a1 = centre.client("tok-a1")
    centre.request(a1, {"cmd": "not_ready", "reason": "outbound"})
    r = centre.request(a1, {"cmd": "dial", "number": "agent2"})
    assert r["type"] == "reply", r
    assert centre.request(a1, {"cmd": "dial", "number": "agent2"})["code"] == "bad_state"  # one at a time
    centre.pump([a1], lambda g: centre.phones["agent1"].ringing)
    centre.phones["agent1"].off_hook()
    centre.pump([a1], lambda g: centre.phones["agent2"].ringing)
    centre.phones["agent2"].off_hook()
    centre.run(0.5)
    call = centre.eng.calls[r["call"]]
    assert [leg.state for leg in call.legs] == ["answered", "answered"]
    a, b = (leg.id for leg in call.legs)
    assert any(line.endswith(f" bridged a={a} b={b}") for line in centre.eng.log_lines)
    centre.request(a1, {"cmd": "hangup"})
    ended = wait_event(centre, a1, "call_ended")
    assert ended["call"] == r["call"] and ended["cause"] == 16
    assert centre.request(a1, {"cmd": "dial", "number": "5551234"})["code"] == "not_supported"  # no trunk set


def test_garbage_on_the_wire_never_stops_the_server_or_the_engine(centre):
    rng = random.Random(7)
    for round_ in range(6):
        c = centre.client("tok-a1")
        for _ in range(20):
            kind = rng.randrange(3)
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            try:
                if kind == 0:
                    c.send_raw(ws.TEXT, junk.decode("latin-1"))  # valid frame, random text
                elif kind == 1:
                    c.send_raw(rng.choice([ws.TEXT, ws.BINARY, ws.PING]), junk[:100])
                else:
                    c.sock.sendall(junk)  # raw bytes: usually breaks the framing
            except OSError:  # the server closed on broken framing (1002) and reset
                break
            centre.tick(2)
            try:
                c.receive()
            except OSError:
                break
            if c.closed:
                break
        centre.tick(10)
        line = socket.create_connection(("127.0.0.1", centre.server.tcp_port), timeout=5)
        line.sendall(bytes(rng.randrange(256) for _ in range(500)) + b"\n")
        line.close()
    fresh = centre.client("tok-a2")
    assert centre.request(fresh, {"cmd": "ping"})["type"] == "reply"
    # the agent's phone is bound by configuration: no login on another phone (nor on a trunk)
    assert centre.request(fresh, {"cmd": "login", "contact": "pri1/0900123"})["code"] == "forbidden"
    assert centre.eng.errors == [] and not centre.hub.internal and centre.hub.engine is centre.eng
