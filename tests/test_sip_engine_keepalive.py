"""Session timers and OPTIONS keepalive from config: [sip] session_expires puts an RFC 4028 timer on every
SIP call (a far end that vanishes is cleared with cause 102); a [[sip.trunk]] keepalive pings the trunk
with OPTIONS (over its connection on TCP and TLS), logs it up and down, shows it in the status, and fails
calls at once while it is down. RFC 5626 CRLF pings on a connection get a pong."""
import asyncio
import socket
import time

import pytest

from engine_sip_rig import Phone, run, tls_contexts
from pycallcenter import ivr
from pycallcenter.engine import call as C
from pycallcenter.engine.sip import Peer
from pycallcenter.sip.transport import open_stream_endpoint
from test_sip_engine import rig  # noqa: F401 - the fixture is shared


def _cause_of_a_call_to_the_carrier(eng):
    """Dial the carrier trunk and return the cause the call ended with within 0.2 s (None if it did not)."""
    outcome = {}

    async def dialler():
        got = await ivr.dial(eng, "sip/carrier/2001", timeout=10)
        outcome["cause"] = got.cause

    eng.scheduler.spawn(dialler(), "dialler", eng.now)
    run(eng, 0.2, until=lambda: "cause" in outcome)
    return outcome.get("cause")


def test_a_trunk_with_keepalive_is_up_while_it_answers_and_down_when_it_stops(rig):
    build, keep = rig
    carrier = Phone("carrier")
    keep(carrier)
    eng, trunk = build(peers=[Peer("carrier", "127.0.0.1", carrier.addr[1], keepalive=5)])
    assert trunk.status()["trunks"] == {"carrier": "unknown"}
    assert run(eng, 1.0, carrier, until=lambda: trunk.status()["trunks"]["carrier"] == "up")
    assert any(" sip_trunk_up " in line and "trunk=carrier" in line for line in eng.log_lines)
    before = carrier.ua.stats["options"]
    run(eng, 11.0, carrier)
    assert carrier.ua.stats["options"] - before >= 2  # pinged every 5 s
    carrier.close()  # the carrier goes away: the next ping times out (timer F, 32 s)
    assert run(eng, 45.0, until=lambda: trunk.status()["trunks"]["carrier"] == "down")
    assert any(" sip_trunk_down " in line for line in eng.log_lines)
    assert _cause_of_a_call_to_the_carrier(eng) == C.NETWORK_OUT_OF_ORDER  # at once, not after timer B
    assert eng.leaks() == []


def test_session_expires_refreshes_a_live_call_and_clears_a_vanished_one_with_102(rig):
    build, keep = rig
    eng, trunk = build(session_expires=90)
    seen = {}

    async def script(call):
        await call.answer()
        await call.wait(600.0)

    eng.router = lambda leg: script
    phone = Phone("2025550100")
    keep(phone)
    phone.call("sip:100@127.0.0.1", trunk.address, eng.now / 8000)
    assert run(eng, 2.0, phone, until=lambda: "CallAnswered" in phone.kinds())
    timer, phone_refreshes = phone.ua.dialogs[phone.call_id].extra["session"]
    assert timer.interval == 90 and not phone_refreshes  # our 200 imposed the timer, we refresh
    leg = next(iter(eng.legs.values()))
    run(eng, 100.0, phone)  # past one interval: the phone's own timer would have ended an unrefreshed call
    assert leg.active and "CallEnded" not in phone.kinds()
    phone.close()  # the phone vanishes: no answer to the next refresh, and the session runs out
    seen["until"] = run(eng, 200.0, until=lambda: not eng.legs)
    assert seen["until"]
    assert leg.cause == C.RECOVERY_ON_TIMER_EXPIRY  # the unanswered refresh ended it (RFC 3398: 408 -> 102)
    assert eng.leaks() == []


@pytest.mark.parametrize("transport", ["TCP", "TLS"])
def test_a_trunk_on_a_stream_is_pinged_over_its_connection_and_down_at_once_when_it_goes(rig, tmp_path, transport):
    """keepalive on a trunk with transport "tcp" or "tls": OPTIONS go over the connection we open to it (the
    carrier hears nothing by datagram); when the carrier goes away the next ping cannot connect and the
    trunk is down at once (no wait for timer F), logged and in the status, and calls to it fail with 38."""
    build, keep = rig
    server, client = tls_contexts(tmp_path)
    carrier = Phone("carrier", transport=transport, tls=(server, client) if transport == "TLS" else None)
    keep(carrier)
    streams = {"transports": ("udp", transport.lower())}
    if transport == "TLS":
        streams.update(tls_port=0, server_ssl=server, client_ssl=client)
    eng, trunk = build(peers=[Peer("carrier", "127.0.0.1", carrier.addr[1], transport=transport.lower(),
                                   keepalive=5)], **streams)
    assert run(eng, 1.0, carrier, until=lambda: trunk.status()["trunks"]["carrier"] == "up")
    before = carrier.ua.stats["options"]
    run(eng, 11.0, carrier)
    assert carrier.ua.stats["options"] - before >= 2  # pinged every 5 s
    assert carrier.transports_heard == {transport} and trunk.stats["datagrams"] == 0
    assert trunk.status()["connections"] == {transport.lower(): 1}  # one connection carries every ping
    carrier.close()
    assert run(eng, 6.0, until=lambda: trunk.status()["trunks"]["carrier"] == "down")  # the next ping, not F
    assert any(" sip_trunk_down " in line for line in eng.log_lines)
    assert _cause_of_a_call_to_the_carrier(eng) == C.NETWORK_OUT_OF_ORDER
    assert eng.leaks() == []


def test_a_crlf_ping_on_a_connection_gets_a_pong_and_the_stream_still_frames(rig):
    """RFC 5626 3.5.1: a phone on TCP sends CRLF CRLF to keep its flow (and its NAT) alive; the engine answers
    each with one CRLF, and an OPTIONS on the same connection afterwards is still answered."""
    build, _ = rig
    eng, trunk = build(transports=("udp", "tcp"))
    sock = socket.create_connection(trunk.streams["TCP"].address, timeout=2)
    try:
        got = bytearray()
        for ping in (b"\r\n\r\n", b"\r\n", b"\r\n"):  # a ping, then one cut in two
            sock.sendall(ping)
            run(eng, 0.1)
            time.sleep(0.05)
            run(eng, 0.1)
        sock.settimeout(0.5)
        while len(got) < 4:  # a missing pong times out here
            got += sock.recv(100)
        assert got == b"\r\n\r\n"  # two pongs, one per ping
        local = sock.getsockname()
        options = (f"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP {local[0]}:{local[1]};branch=z9hG4bKping1\r\n"
                   f"From: <sip:p@{local[0]}>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ping1\r\nCSeq: 1 OPTIONS\r\n"
                   f"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
        sock.sendall(options)
        answer = bytearray()
        for _ in range(20):
            run(eng, 0.1)
            try:
                answer += sock.recv(4096)
            except socket.timeout:
                pass
            if b"\r\n\r\n" in answer:
                break
        assert answer.startswith(b"SIP/2.0 200 ")
    finally:
        sock.close()


def test_the_cores_stream_endpoint_answers_a_crlf_ping_too():
    """`pycallcenter sip serve --transport tcp` (the core's asyncio endpoint) pongs an RFC 5626 ping as the
    engine does."""
    async def main():
        endpoint = await open_stream_endpoint("127.0.0.1", 0, "TCP")
        try:
            reader, writer = await asyncio.open_connection(*endpoint.local_addr[:2])
            writer.write(b"\r\n\r\n")
            await writer.drain()
            pong = await asyncio.wait_for(reader.readexactly(2), 5)
            writer.close()
            return pong
        finally:
            endpoint.close()

    assert asyncio.run(main()) == b"\r\n"
