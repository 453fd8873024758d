"""The control plane under abuse, one test per reproducer of the "unauthenticated control-port abuse"
report: bad tokens, deep nesting, idle and piled-up sockets, token guessing over many connections,
refusals logged with the peer, another agent's phone, toll fraud; plus message sizes, Origin checks and
bounded error bookkeeping."""
import json
import logging
import socket
import time

import pytest

from cti_rig import Centre
from pycallcenter.cti import client as ws
from pycallcenter.cti.client import CtiClient
from pycallcenter.cti.config import DialPolicy, Limits


def make(**limits):
    return Centre(limits=Limits(**limits))


@pytest.fixture
def centre():
    c = make()
    yield c
    c.close()


def line_client(centre):
    s = socket.create_connection(("127.0.0.1", centre.server.tcp_port), timeout=5)
    return s, s.makefile("rb")


def line_request(centre, s, f, msg):
    """Send one JSON line; tick until the answer with its id comes; return it."""
    s.sendall(json.dumps(msg).encode() + b"\n")
    s.setblocking(False)
    try:
        for _ in range(3000):
            centre.tick()
            try:
                line = f.readline()
            except (BlockingIOError, TypeError):
                line = None
            if line:
                frame = json.loads(line)
                if frame.get("id") == msg.get("id") and frame["type"] != "event":
                    return frame
        raise AssertionError("no answer")
    finally:
        s.setblocking(True)


def closed_by_server(sock, seconds=5.0):
    """Return True when the server closes the socket within seconds (reading and discarding what comes)."""
    sock.settimeout(seconds)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def test_a_lone_surrogate_token_is_a_bad_token_not_an_internal_error(centre):
    c = centre.client()
    r = centre.request(c, {"cmd": "auth", "token": "\ud800"})
    assert r["code"] == "bad_token"
    for i in range(300):  # the flood of the report: nothing grows, nothing is a bug
        c.send({"cmd": "auth", "token": "\ud800", "id": i})
    centre.pump([c], lambda g: sum(1 for f in g[id(c)] if f.get("id") == 299))
    s, f = line_client(centre)
    assert line_request(centre, s, f, {"cmd": "auth", "user": "\ud800", "password": "\udfff", "id": 1})["code"] in (
        "bad_token", "rate_limited")
    s.close()
    assert centre.eng.errors == [] and not centre.hub.internal and not centre.hub.tracebacks


@pytest.mark.parametrize("depth, code", [(17, "bad_message"), (1000, "bad_message"), (100000, "too_large")])
def test_deep_nesting_is_refused_before_the_parser_recurses(centre, depth, code):
    c = centre.client("tok-a1")
    c.send_raw(ws.TEXT, "[" * depth)
    err = centre.pump([c], lambda g: any(f["type"] == "error" for f in g[id(c)]))[id(c)]
    assert [f["code"] for f in err if f["type"] == "error"] == [code]
    assert centre.request(c, {"cmd": "ping"})["type"] == "reply" and not c.closed  # the connection stays
    s, f = line_client(centre)
    s.sendall(b'{"cmd":"ping","id":' + b"[" * min(depth, 1000) + b"\n")  # a longer line is cut off
    assert line_request(centre, s, f, {"cmd": "auth", "token": "tok-a1", "id": "after"})["type"] == "reply"
    s.close()
    nested = json.loads("[" * 15 + "]" * 15)  # in the message object: sixteen deep is still a message
    assert centre.request(c, {"cmd": "ping", "extra": nested})["type"] == "reply"
    assert not centre.hub.internal


def test_idle_unauthenticated_sockets_are_closed_and_capped():
    centre = make(unauth_timeout=0.5, max_per_source=4, max_conns=6)
    try:
        raw = socket.create_connection(("127.0.0.1", centre.server.port))  # says nothing at all
        line, _ = line_client(centre)
        wsc = CtiClient("127.0.0.1", centre.server.port)  # upgrades, never authenticates
        assert closed_by_server(raw) and closed_by_server(line)  # (before: never)
        wsc.receive(2.0)
        assert wsc.closed
        # an authenticated connection stays past the timeout
        good = centre.client("tok-a1")
        time.sleep(1.0)
        assert centre.request(good, {"cmd": "ping"})["type"] == "reply"
        # four from one address at most: the fifth is cut at once
        held = [socket.create_connection(("127.0.0.1", centre.server.port)) for _ in range(3)]
        extra = socket.create_connection(("127.0.0.1", centre.server.port))
        assert closed_by_server(extra, 1.0)
        assert centre.server.guard.refused["connection"] >= 1
        for s in held + [raw, line]:
            s.close()
    finally:
        centre.close()


def test_token_guessing_over_many_connections_is_limited_per_address_and_locks_out():
    centre = make(lockout_after=3, auth_backoff=0.05, lockout=60.0)
    try:
        guessers = [centre.client() for _ in range(10)]
        codes = []
        for i, c in enumerate(guessers * 4):
            c.send({"cmd": "auth", "token": f"guess-{i}", "id": i})
            codes += [f["code"] for f in c.receive(0.5) if f["type"] == "error"]
            time.sleep(0.06)  # past each backoff: the failures mount to the lockout
        assert codes.count("bad_token") == 3 and "locked_out" in codes
        assert codes.count("bad_token") + codes.count("rate_limited") + codes.count("locked_out") == 40
        # the right token too is refused from a locked-out address
        c = centre.client()
        assert centre.request(c, {"cmd": "auth", "token": "tok-boss"})["code"] == "locked_out"
        # a supervisor sees the lockout and may lift it
        lock = centre.server.guard.lockouts()
        assert [x["source"] for x in lock] == ["127.0.0.1"] and lock[0]["failures"] >= 3
        centre.server.guard.unlock("127.0.0.1")
        boss = centre.client("tok-boss")
        centre.server.guard.failed("192.0.2.7")  # another address fails three times, as seen from elsewhere
        centre.server.guard.failed("192.0.2.7")
        centre.server.guard.failed("192.0.2.7")
        seen = centre.request(boss, {"cmd": "lockouts"})["lockouts"]
        assert [x["source"] for x in seen] == ["192.0.2.7"]
        assert centre.request(boss, {"cmd": "unlock", "source": "192.0.2.7"})["unlocked"] is True
        assert centre.request(boss, {"cmd": "lockouts"})["lockouts"] == []
        agent = centre.client("tok-a1")
        assert centre.request(agent, {"cmd": "lockouts"})["code"] == "forbidden"
    finally:
        centre.close()


def test_refusals_are_logged_once_with_the_peer_address(centre, caplog):
    caplog.set_level(logging.WARNING, logger="pycallcenter.cti")
    c = centre.client()
    for i in range(50):
        c.send({"cmd": "ready", "id": i})
    centre.pump([c], lambda g: sum(1 for f in g[id(c)] if f.get("code") == "not_authenticated") >= 50)
    lines = [r.getMessage() for r in caplog.records if "not_authenticated" in r.getMessage()]
    assert len(lines) == 1 and "from 127.0.0.1" in lines[0]
    assert centre.server.guard.refused["not_authenticated"] == 50
    assert centre.server.status()["refused"]["not_authenticated"] == 50
    a1 = centre.client("tok-a1")
    centre.request(a1, {"cmd": "force_logout", "agent": "agent2"})
    forbidden = [r.getMessage() for r in caplog.records if "forbidden" in r.getMessage()]
    assert len(forbidden) == 1 and "127.0.0.1" in forbidden[0] and "agent1" in forbidden[0]


def test_an_agents_phone_is_bound_by_configuration():
    centre = make()
    try:
        a1 = centre.client("tok-a1")
        centre.request(a1, {"cmd": "logout"})
        r = centre.request(a1, {"cmd": "login", "contact": "channel/33"})  # agent2's phone
        assert r["code"] == "forbidden" and "hot_desking" in r["message"]
        assert centre.binding.acd.agents["agent1"].contact == "channel/32"
        assert centre.request(a1, {"cmd": "login"})["type"] == "reply"
    finally:
        centre.close()
    centre = Centre(hot_desking=True)
    try:
        a1 = centre.client("tok-a1")
        centre.request(a1, {"cmd": "logout"})
        assert centre.request(a1, {"cmd": "login", "contact": "pri1/0900123"})["code"] == "bad_message"
        assert centre.request(a1, {"cmd": "login", "contact": "channel/34"})["type"] == "reply"
        assert centre.binding.acd.agents["agent1"].contact == "channel/34"
    finally:
        centre.close()


def test_dial_permissions_stop_toll_fraud():
    policy = DialPolicy(allow=["_0[1-8]X.", "_5XXXXXX"], per_agent={"agent2": ["_0X."]})
    assert policy.check("agent1", "0044123456").startswith("international")
    assert policy.check("agent1", "+44123456").startswith("international")
    assert policy.check("agent1", "09001234").startswith("premium")
    assert policy.check("agent1", "0201234567") is None and policy.check("agent1", "5551234") is None
    assert "allow-list" in policy.check("agent1", "999")
    assert policy.check("agent2", "5551234") is not None and policy.check("agent2", "0701234") is None
    assert DialPolicy(international=True).check("x", "0044123") is None
    centre = Centre(outbound_trunk="pri1", dial=policy)
    try:
        a1 = centre.client("tok-a1")
        centre.request(a1, {"cmd": "not_ready", "reason": "outbound"})
        for number in ("00881234567", "+881234567", "19001234", "pri1/0044123456", "12345"):
            r = centre.request(a1, {"cmd": "dial", "number": number})
            assert (r["type"], r["code"]) == ("error", "forbidden") and "dial_refused" in r["message"], number
        assert not centre.eng.legs  # nothing was rung
        r = centre.request(a1, {"cmd": "dial", "number": "5551234"})
        assert r["type"] == "reply", r  # allowed: agent1's phone rings first
        assert centre.request(a1, {"cmd": "hangup"})["type"] == "reply"
        centre.run(1)
    finally:
        centre.close()


def test_dial_strings_cannot_smuggle_a_blocked_number_past_the_policy():
    # a board's dial string reads a leading T or P and 'w' pauses (DAHDI_DIAL): 'w0900...' dialled 0900...
    policy = DialPolicy()
    for number in ("w09001234", "P0044123456", "T19001234", " 09001234", "0,0441234", "sip:evil@192.0.2.1",
                   "5551234w", "*670900123", "", "5" * 33):
        assert "not a telephone number" in policy.check("agent1", number), number
    assert policy.check("agent1", "5551234") is None and policy.check("agent1", "09001234").startswith("premium")


def test_channel_targets_and_hot_desking_reach_extension_ports_only():
    centre = Centre(hot_desking=True, outbound_trunk="pri1")
    try:
        a1 = centre.client("tok-a1")
        centre.request(a1, {"cmd": "not_ready", "reason": "outbound"})
        # channel 1 is a PRI bearer: dialling it placed a call with no number on the trunk, past the policy
        r = centre.request(a1, {"cmd": "dial", "number": "channel/1"})
        assert (r["code"], "not an extension port" in r["message"]) == ("forbidden", True), r
        assert not centre.eng.legs
        centre.request(a1, {"cmd": "logout"})
        for contact, why in (("channel/1", "not an extension port"), ("channel/999", "not an extension port")):
            r = centre.request(a1, {"cmd": "login", "contact": contact})
            assert (r["code"], why in r["message"]) == ("forbidden", True), (contact, r)
        a2 = centre.client("tok-a2")
        assert centre.binding.acd.agents["agent2"].logged_in  # agent2 is at channel/33, paused
        r = centre.request(a1, {"cmd": "login", "contact": "channel/33"})
        assert r["code"] == "forbidden" and "agent2" in r["message"], r
        assert centre.request(a1, {"cmd": "login", "contact": "channel/34"})["type"] == "reply"
        centre.request(a2, {"cmd": "logout"})
        r = centre.request(a2, {"cmd": "login", "contact": "channel/34"})  # agent1 sits there now
        assert r["code"] == "forbidden" and "agent1" in r["message"], r
        assert not centre.binding.acd.agents["agent2"].logged_in
    finally:
        centre.close()


def test_oversized_messages_close_with_a_close_frame_and_long_lines_are_refused():
    centre = make(max_message=1000)
    try:
        c = centre.client("tok-a1")
        c.send_raw(ws.TEXT, json.dumps({"cmd": "ping", "pad": "x" * 5000}))
        deadline = time.monotonic() + 10.0  # pushed events may come first; read on until the close arrives
        while not c.closed and time.monotonic() < deadline:
            c.receive(0.5)
        assert c.closed and c.close_code == 1009  # message too big, with a close frame
        c = centre.client("tok-a1")
        c.send_raw(ws.TEXT, json.dumps({"cmd": "ping", "pad": "x" * 990}))  # under the socket limit, over ours
        err = centre.pump([c], lambda g: any(f.get("code") == "too_large" for f in g[id(c)]))
        assert err and not c.closed
        s, f = line_client(centre)
        s.sendall(b"x" * 5000 + b"\n")
        got = f.readline()
        assert json.loads(got)["code"] == "too_large" and closed_by_server(s)
    finally:
        centre.close()


def test_websocket_upgrades_only_by_get_from_this_origin(centre):
    with pytest.raises(ConnectionError):
        CtiClient("127.0.0.1", centre.server.port, origin="http://evil.example")
    ok = CtiClient("127.0.0.1", centre.server.port, origin=f"http://127.0.0.1:{centre.server.port}")
    ok.close()
    s = socket.create_connection(("127.0.0.1", centre.server.port), timeout=5)
    s.sendall(b"POST /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n")
    assert s.recv(100).split(b"\r\n")[0] == b"HTTP/1.1 405 Method Not Allowed"
    s.close()


def test_bugs_are_counted_in_bounded_bookkeeping_not_the_engines_error_list(centre):
    boss = centre.client("tok-boss")

    def broken():
        raise RuntimeError("secret internals")

    centre.hub.backend.snapshot = broken
    for i in range(60):
        boss.send({"cmd": "queue_snapshot", "id": i})
    got = centre.pump([boss], lambda g: sum(1 for f in g[id(boss)] if f.get("code") == "internal") >= 60)
    assert centre.hub.internal["queue_snapshot"] == 60 and len(centre.hub.tracebacks) == 20
    assert centre.eng.errors == [] and centre.server.status()["internal_errors"]["queue_snapshot"] == 60
    assert all("secret internals" not in f.get("message", "") for f in got[id(boss)])  # no internals to the client


def test_nan_and_infinity_are_not_json_and_never_come_back(centre):
    from pycallcenter.cti import protocol as P

    # Python's json reads NaN, Infinity and 1e999 (as inf) and writes them back bare, which is not JSON:
    # an id of NaN was echoed as NaN and a browser's JSON.parse refused the frame
    for text in ('{"cmd":"ping","id":NaN}', '{"cmd":"ping","id":-Infinity}', '{"cmd":"ping","id":1e999}',
                 '{"cmd":"set_member","queue":"q","agent":"a","penalty":Infinity}'):
        with pytest.raises(P.CtiError) as err:
            P.parse(text)
        assert err.value.code == P.MALFORMED_JSON, text
    assert P.parse('{"cmd":"ping","id":1.5e3}')["id"] == 1500.0
    s, f = line_client(centre)
    try:
        s.sendall(b'{"cmd":"ping","id":NaN}\n')
        line = f.readline()
        assert json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} sent"))["code"] == "malformed_json"
    finally:
        s.close()


def test_roles_on_every_command_and_an_agent_reaches_only_its_own_queues(centre):
    from pycallcenter.cti import protocol as P

    a2, boss = centre.client("tok-a2"), centre.client("tok-boss")
    fields = {"agent": "agent1", "mode": "listen", "state": "ready", "queue": "sales", "skills": {},
              "strategy": "linear", "source": "192.0.2.1"}
    for cmd, (roles, need) in P.COMMANDS.items():
        if cmd == "auth":
            continue
        msg = {"cmd": cmd, **{k: fields.get(k, "x") for k in need}}
        if P.AGENT not in roles:
            assert centre.request(a2, msg)["code"] == "forbidden", cmd
        if P.SUPERVISOR not in roles:
            assert centre.request(boss, msg)["code"] == "forbidden", cmd
    # pickup: only a call of one of the agent's own queues
    centre.request(a2, {"cmd": "ready"})
    centre.request(a2, {"cmd": "dnd", "on": True})
    assert centre.request(boss, {"cmd": "remove_member", "queue": "sales", "agent": "agent2"})["type"] == "reply"
    centre.caller("2025550123", arrival=centre.eng.now / 8000 + 0.3)
    a1 = centre.client("tok-a1")
    offer = None
    for _ in range(3000):
        centre.tick()
        offer = next((f for f in a1.receive() if f.get("event") == "call_offered"), None)
        if offer:
            break
    r = centre.request(a2, {"cmd": "pickup", "call": offer["call"]})
    assert r["code"] == "forbidden" and "not_member" in r["message"]
    centre.phones["agent1"].off_hook()  # agent1 takes it, so the rig's close ends the call as people do
    centre.run(0.5)


def test_password_guesses_in_parallel_from_one_address_are_checked_one_at_a_time(centre):
    guessers = [centre.client() for _ in range(10)]
    for i, c in enumerate(guessers):  # all at once, before any answer
        c.send({"cmd": "auth", "user": "boss", "password": f"guess-{i}", "id": i})
    codes = []
    for c in guessers:
        for _ in range(300):
            got = [f["code"] for f in c.receive(0.01) if f["type"] == "error"]
            if got:
                codes += got
                break
    assert len(codes) == 10 and codes.count("bad_token") == 1 and codes.count("rate_limited") == 9
    assert centre.server.guard.refused["bad_token"] == 1
