"""Found by the chaos soak under tracemalloc (ticks about 5x slower): after the CTI flood process was killed,
its connections and their sessions stayed listed long past the recovery bound. The server was still reading
what the flood had left in the sockets, refusing each message as rate limited, and saw the end of a
connection only after the last one; the longer the flood, the longer that took. A client that sends more
than twice its rate is now cut off and its socket aborted, unread bytes and all, so a vanished flooder's
connection and session go after a bounded amount of work, however rarely the hub is polled."""
import json
import socket
import time

import pytest

from cti_rig import Centre
from pycallcenter.cti.client import TEXT
from pycallcenter.cti.server import CUT_OFF_BURSTS
from websockets.frames import Frame, Opcode

FLOOD = 20000  # messages written at once: far more than the rate limit lets through


def _refused(centre):
    return centre.server.status()["refused"].get("rate_limited", 0)


def _gone(centre, polls=200):
    """Poll the hub rarely (a slow tick) until the server lists no connection and the hub no session and no
    message; return how many polls that took (None if it never happened)."""
    for n in range(polls):
        centre.tick()
        srv, hub = centre.server, centre.hub
        if not srv.conns and not hub.sessions and hub.inbox.empty():
            return n
        time.sleep(0.05)
    return None


@pytest.fixture()
def centre():
    c = Centre(rate=20.0, burst=40)
    yield c
    c.close()


def _flood(sock, data):
    try:
        sock.sendall(data)
    except OSError:  # cut off while writing: what the fix does
        pass
    sock.close()


def test_a_websocket_flooder_that_vanishes_leaves_no_connection_or_session(centre):
    client = centre.client("tok-a1")
    assert centre.hub.sessions
    before = _refused(centre)
    frame = Frame(Opcode(TEXT), json.dumps({"cmd": "ping", "id": 1}).encode()).serialize(mask=True)
    sock = client.sock
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\0" * 8)  # no lingering close on our side
    _flood(sock, frame * FLOOD)
    assert _gone(centre) is not None, (len(centre.server.conns), dict(centre.hub.sessions))
    # the server stopped reading once the cut-off's bursts were spent instead of refusing every message
    assert _refused(centre) - before < (CUT_OFF_BURSTS + 5) * centre.server.limits.burst


def test_a_json_lines_flooder_that_vanishes_leaves_no_connection_or_session(centre):
    sock = socket.create_connection(("127.0.0.1", centre.server.tcp_port))
    sock.sendall(b'{"cmd": "auth", "token": "tok-a1", "id": 1}\n')
    for _ in range(200):
        centre.tick()
        if centre.hub.sessions:
            break
        time.sleep(0.01)
    assert centre.hub.sessions
    before = _refused(centre)
    _flood(sock, b'{"cmd": "ping", "id": 2}\n' * FLOOD)
    assert _gone(centre) is not None, (len(centre.server.conns), dict(centre.hub.sessions))
    assert _refused(centre) - before < (CUT_OFF_BURSTS + 5) * centre.server.limits.burst


def test_a_client_gone_during_the_websocket_handshake_logs_no_traceback(centre, monkeypatch, caplog):
    """A flooder cut off reconnects at once; killed mid-handshake, the 101 was written but its drain failed,
    and aiohttp's own close of the half-made WebSocket logged "Call .prepare() first" with a traceback."""
    from aiohttp import web

    real = web.WebSocketResponse.prepare

    def prepare(self, request):
        if getattr(self, "_handshaken", False):  # aiohttp's own call after the handler: as it is
            return real(self, request)
        self._handshaken = True

        async def gone():
            await web.StreamResponse.prepare(self, request)  # the 101 is written, then the peer is gone
            raise ConnectionResetError("the client left")
        return gone()

    monkeypatch.setattr(web.WebSocketResponse, "prepare", prepare)
    with pytest.raises(OSError):
        centre.client()
    for _ in range(20):
        centre.tick()
        time.sleep(0.02)
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert not centre.server.conns
